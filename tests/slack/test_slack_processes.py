"""One model per replica, with the real model: only the answer worker imports torch.

The server runs as production does (``runner.run`` in a subprocess: gunicorn master, its
worker, the answer worker; or Socket Mode: one process and the answer worker) with the
bundled all-MiniLM-L6-v2. Two independent proofs that the server holds no model:
- the server process itself writes which of torch / sentence_transformers / transformers are
  in its ``sys.modules`` as it shuts down (after answering and after a hot reload, whose build
  embeds in the worker);
- no torch library is mapped in the server's memory (``/proc/<pid>/maps``), while it is in
  the answer worker's (the same check finds it there: it can fail).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.slack.serving import Server, children, free_port, start_server
from tests.slack.slack_fakes import (
    APP_TOKEN,
    KNOWLEDGE,
    MEMBER,
    FakeSlack,
    FakeSocketMode,
    SlackSender,
)

SCRIPT = """
import json
import os
import sys
from pathlib import Path

import faqbot.slack.runner as runner
from faqbot.settings import load_settings

HEAVY = ("torch", "sentence_transformers", "transformers")
real_shutdown = runner.shutdown


def shutdown(running):
    # written by the process that served (the gunicorn worker, or the Socket Mode process)
    found = sorted({{m.split(".")[0] for m in sys.modules}} & set(HEAVY))
    Path({out!r}, f"modules-{{os.getpid()}}.json").write_text(json.dumps(found))
    real_shutdown(running)


runner.shutdown = shutdown
if __name__ == "__main__":  # the answer worker is spawned: it imports this script again
    sys.exit(runner.run(load_settings(**{settings!r})))
"""

PARKING = """# Parking

The bicycle garage opens at {when} in the morning for everyone with a badge.
"""
ZEBRA = "When does the bicycle garage open?"


def start_real(tmp_path: Path, fake: FakeSlack, **overrides: Any) -> tuple[Server, Path]:
    """``runner.run`` with the bundled model in its own process group; the knowledge folder."""
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    server = start_server(tmp_path, fake, script=SCRIPT, knowledge_dir=str(knowledge),
                          **overrides)
    return server, knowledge


def maps_torch(pid: int) -> bool:
    """Whether a torch shared library is mapped into the process (torch was imported); a
    short-lived child that exited between listing and reading maps nothing."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "libtorch" in maps or "/torch/_C" in maps


def modules_written(folder: Path) -> dict[int, list[str]]:
    return {int(p.stem.split("-")[1]): json.loads(p.read_text())
            for p in folder.glob("modules-*.json")}


def answer_worker(pid: int) -> int:
    """The one descendant of ``pid`` that maps torch (the answer worker)."""
    found = [c for c in children(pid) if maps_torch(c)]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.model
def test_http_replica_loads_the_model_only_in_the_answer_worker(tmp_path, fake):
    server, knowledge = start_real(tmp_path, fake)
    try:
        server.wait_ready(timeout=180)
        master = server.proc.pid
        [worker] = children(master, deep=False)  # gunicorn's worker
        model = answer_worker(master)
        assert model != worker and model in children(worker)
        assert server.sender.command("are language models trained on my messages?").status == 200
        assert "not trained" in fake.wait_response(timeout=60)[0].text
        # a hot reload builds the index; its embedding runs in the answer worker
        (knowledge / "parking.md").write_text(PARKING.format(when="seven"), "utf-8")
        server.wait_log("reloaded index version", timeout=120)
        fake.reset()
        assert server.sender.command(ZEBRA).status == 200
        assert "seven" in fake.wait_response(timeout=60)[0].text
        assert not maps_torch(master) and not maps_torch(worker)
        assert maps_torch(model)
    finally:
        assert server.stop() == 0
        server.kill_group()
    assert modules_written(tmp_path) == {worker: []}, server.logs()


@pytest.mark.model
def test_socket_mode_replica_loads_the_model_only_in_the_answer_worker(tmp_path, fake):
    socket_mode = FakeSocketMode()
    fake.ws_url = socket_mode.url
    health = free_port()
    server, _ = start_real(tmp_path, fake, slack_app_token=APP_TOKEN, health_port=health)
    server.sender = SlackSender(f"http://127.0.0.1:{health}", fake)
    try:
        server.wait_ready(timeout=180)  # /readyz: connected, index loaded, worker up
        model = answer_worker(server.proc.pid)
        socket_mode.push({"envelope_id": "e1", "type": "slash_commands",
                          "accepts_response_payload": True,
                          "payload": {"team_id": "T1", "channel_id": "C1", "user_id": MEMBER,
                                      "command": "/privacy", "api_app_id": "A1",
                                      "text": "are language models trained on my messages?",
                                      "response_url": fake.response_url("sm1"),
                                      "trigger_id": "1"}})
        assert "not trained" in fake.wait_response("sm1", timeout=60)[0].data["text"]
        assert not maps_torch(server.proc.pid) and maps_torch(model)
    finally:
        assert server.stop() == 0
        server.kill_group()
        socket_mode.close()
    assert modules_written(tmp_path) == {server.proc.pid: []}, server.logs()
