"""The container files stay consistent with the code and with the scripts CI runs.

This machine cannot pull base images, so the image is never built here. What is checked
instead: the Dockerfile and compose.yaml, parsed, name only settings that exist, paths the
app serves, and the same install / start / health scripts `make setup`, `make run` and CI use;
and those scripts are run here for real (install through `make test` itself; start and the
health check against a real server in the last test).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices

from faqbot.settings import Settings
from faqbot.slack.health import ALIVE_PATH, READY_PATH
from faqbot.slack.runner import EVENTS_PATH
from tests.slack.serving import free_port
from tests.slack.slack_fakes import (  # noqa: F401  (fixtures, used by name)
    BOT_TOKEN,
    KNOWLEDGE,
    SECRET,
    FakeSlack,
    fake,
    fake_slack,
)

REPO = Path(__file__).resolve().parent.parent
INSTALL, START, HEALTH = "scripts/install.sh", "scripts/start.sh", "scripts/healthcheck.py"
#: Variables the image sets that are not faqbot settings, and who reads them.
OTHER_ENV = {
    "VENV": START,  # which virtual environment start.sh runs
    "PATH": None, "PYTHONUNBUFFERED": None,  # the interpreter's own
    "HF_HUB_OFFLINE": "faqbot/embedding.py", "TRANSFORMERS_OFFLINE": "faqbot/embedding.py",
}


def settings_env_names() -> set[str]:
    """Every environment name Settings reads (FAQBOT_<field>, or the field's aliases)."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice) for choice in alias.choices)
        else:
            names.add(f"FAQBOT_{name.upper()}")
    return names


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order; comments dropped, continuation lines joined."""
    lines, current = [], ""
    for raw in (REPO / "Dockerfile").read_text("utf-8").splitlines():
        if raw.lstrip().startswith("#") and not current:
            continue
        current += raw.rstrip().removesuffix("\\") + " "
        if not raw.rstrip().endswith("\\"):
            if current.strip():
                word, _, rest = current.strip().partition(" ")
                lines.append((word.upper(), rest.strip()))
            current = ""
    return lines


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction in dockerfile():
        if instruction[0] == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in stage:
        if word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def exec_form(text: str) -> list[str]:
    value = json.loads(text)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), text
    return value


def compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "compose.yaml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def faqbot_services(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in data["services"].items() if s.get("image") == "faqbot:local"}


# --- the Dockerfile ------------------------------------------------------------------------


def test_the_image_is_built_and_started_by_the_scripts_make_and_ci_use() -> None:
    build, runtime = stages()[0], stages()[-1]
    assert len(stages()) >= 2  # multi-stage
    runs = [rest for word, rest in build if word == "RUN"]
    assert any(f"{INSTALL} /opt/venv image" in run for run in runs), runs
    makefile = (REPO / "Makefile").read_text("utf-8")
    assert re.search(rf"^\t.*{re.escape(INSTALL)} \$\(VENV\) dev$", makefile, re.M)
    assert re.search(rf"^run: .*\n(\t.*\n)*\t.*{re.escape(START)}", makefile, re.M)
    assert "make test" in (REPO / ".ci" / "run").read_text("utf-8")  # and so the install
    [cmd] = [exec_form(rest) for word, rest in runtime if word == "CMD"]
    workdir = [rest for word, rest in runtime if word == "WORKDIR"][-1]
    assert cmd == [f"{workdir}/{START}"]
    copies = [rest for word, rest in runtime if word == "COPY"]
    assert f"{START} {HEALTH} ./scripts/" in copies and "app.py ./" in copies
    for script in (INSTALL, START, HEALTH):
        assert os.access(REPO / script, os.X_OK), script
    copied = [shlex.split(rest) for word, rest in dockerfile() if word == "COPY"]
    for parts in copied:
        if not any(p.startswith("--from") for p in parts):
            for source in parts[:-1]:
                assert (REPO / source).exists(), source


def test_the_image_runs_offline_as_a_non_root_user_with_cpu_torch() -> None:
    runtime = stages()[-1]
    env = env_of(runtime)
    assert env["HF_HUB_OFFLINE"] == "1"
    users = [rest for word, rest in runtime if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    words = [word for word, _ in runtime]
    assert words.index("USER") < words.index("CMD")
    args = " ".join(rest for word, rest in stages()[0] if word == "ARG")
    assert "TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in args
    install = (REPO / INSTALL).read_text("utf-8")
    assert 'torch==$TORCH_VERSION' in install and "TORCH_INDEX_URL" in install
    assert env["VENV"] == "/opt/venv" and env["PATH"].startswith("/opt/venv/bin:")


def test_the_healthcheck_probes_the_alive_path_the_app_serves() -> None:
    runtime = stages()[-1]
    [check] = [rest for word, rest in runtime if word == "HEALTHCHECK"]
    command = exec_form(check.split(" CMD ", 1)[1])
    workdir = [rest for word, rest in runtime if word == "WORKDIR"][-1]
    assert command[1:] == [f"{workdir}/{HEALTH}", ALIVE_PATH]
    assert "--start-period" in check  # loading the model takes a while


def test_the_image_names_only_real_settings_and_a_volume_for_the_index() -> None:
    env = env_of(stages()[-1])
    known = settings_env_names()
    for name in env:
        if name in OTHER_ENV:
            reader = OTHER_ENV[name]
            assert reader is None or name in (REPO / reader).read_text("utf-8"), name
        else:
            assert name in known, f"{name} is not a faqbot setting"
    volumes = [v for word, rest in stages()[-1] if word == "VOLUME" for v in exec_form(rest)]
    assert env["FAQBOT_INDEX_DIR"] in volumes
    assert env["PORT"] == str(Settings.model_fields["port"].default)


# --- compose.yaml and the proxy ------------------------------------------------------------


def test_compose_runs_two_replicas_on_one_index_volume_and_read_only_knowledge() -> None:
    data = compose()
    replicas = faqbot_services(data)
    assert len(replicas) >= 2
    image_env = env_of(stages()[-1])
    for name, service in replicas.items():
        assert service["build"] == ".", name
        env = service["environment"]
        volumes = service["volumes"]
        assert f"./knowledge:{env['FAQBOT_KNOWLEDGE_DIR']}:ro" in volumes, name
        assert f"index:{env['FAQBOT_INDEX_DIR']}" in volumes, name
        assert env["FAQBOT_INDEX_DIR"] == image_env["FAQBOT_INDEX_DIR"]
        assert "index" in data["volumes"]
        for key in env:
            assert key in settings_env_names(), f"{name}: {key} is not a faqbot setting"


def test_compose_points_the_replicas_at_its_redis_and_postgres() -> None:
    data = compose()
    services = data["services"]
    for name, service in faqbot_services(data).items():
        env = service["environment"]
        redis = urlsplit(env["FAQBOT_REDIS_URL"])
        assert redis.scheme == "redis" and services[redis.hostname]["image"].startswith("redis")
        assert env["FAQBOT_DATABASE_URL"].startswith("postgresql+psycopg://")
        host = env["FAQBOT_DATABASE_URL"].rsplit("@", 1)[1].split(":")[0]  # user:${…}@host
        assert services[host]["image"].startswith("postgres"), name
        assert {"redis", host} <= set(service["depends_on"]), name


def test_the_proxy_sends_slack_to_every_replica_on_its_port() -> None:
    data = compose()
    replicas = faqbot_services(data)
    proxy = data["services"]["proxy"]
    conf_path = next(v.split(":")[0] for v in proxy["volumes"] if "nginx" in v)
    conf = (REPO / conf_path).read_text("utf-8")
    upstream = re.search(r"upstream faqbot \{(.*?)\}", conf, re.S)
    assert upstream
    servers = dict(re.findall(r"server ([\w-]+):(\d+)", upstream.group(1)))
    assert set(servers) == set(replicas)
    for name, service in replicas.items():
        assert servers[name] == service["environment"]["PORT"]
        assert proxy["depends_on"][name]["condition"] == "service_healthy"
    for path in (EVENTS_PATH, ALIVE_PATH, READY_PATH):
        assert f"location = {path} " in conf, path


# --- the start and health scripts, run for real --------------------------------------------


def health(port: int, path: str = ALIVE_PATH) -> int:
    env = {**os.environ, "PORT": str(port)}
    return subprocess.run([sys.executable, str(REPO / HEALTH), path], env=env,
                          timeout=20).returncode


@pytest.mark.model
def test_start_script_serves_and_the_healthcheck_sees_it(tmp_path: Path,
                                                         fake: FakeSlack) -> None:  # noqa: F811
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FAQBOT_"))}
    env.update({"VENV": sys.prefix, "PORT": str(port), "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SECRET, "FAQBOT_SLACK_API_URL": fake.api_url,
                "FAQBOT_KNOWLEDGE_DIR": str(KNOWLEDGE),
                "FAQBOT_INDEX_DIR": str(tmp_path / "index")})
    env.pop("HF_HUB_OFFLINE", None)  # start.sh sets it
    assert health(port) == 1  # nothing there yet: the check can fail
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(REPO / START)], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while health(port, READY_PATH) != 0:
            assert proc.poll() is None, log.read_text("utf-8", "replace")
            assert time.monotonic() < deadline, log.read_text("utf-8", "replace")
            time.sleep(0.5)
        assert health(port) == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    assert health(port) == 1
    assert "HTTP mode" in log.read_text("utf-8", "replace")
