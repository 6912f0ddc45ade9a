"""runner.run end to end: gunicorn (1 gthread worker) in a subprocess, against the fake Slack.

The subprocess swaps in the fake embedding model; everything else is the real start-up path:
logging, knowledge check, gunicorn, worker loading the engine, Bolt, the WSGI routes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from faqbot.slack.runner import run
from tests.slack.slack_fakes import BOT_TOKEN, KNOWLEDGE, SECRET, SlackSender

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
CANARY = "zx-canary-gunicorn-91827"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SCRIPT = """
import sys

from tests.fakes import FakeEmbedder
import faqbot.embedding as embedding
from faqbot.settings import load_settings
from faqbot.slack.runner import run

# the fake model where the real one would load: the answer worker (it imports this script)
embedding.load_embedder = lambda spec: FakeEmbedder()
if __name__ == "__main__":  # the answer worker is spawned: it imports this script again
    sys.exit(run(load_settings(knowledge_dir={knowledge!r}, index_dir={index!r}, port={port},
                               slack_api_url={api!r}, slack_bot_token={token!r},
                               slack_signing_secret={secret!r}, log_level="DEBUG")))
"""


def test_http_mode_under_gunicorn(tmp_path, fake):
    port = free_port()
    script = tmp_path / "serve.py"
    script.write_text(textwrap.dedent(SCRIPT).format(
        knowledge=str(KNOWLEDGE), index=str(tmp_path / "index"), port=port,
        api=fake.api_url, token=BOT_TOKEN, secret=SECRET))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FAQBOT_"))}
    env["PYTHONPATH"] = str(ROOT)  # the repository, for tests.fakes
    proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        sender = SlackSender(f"http://127.0.0.1:{port}", fake)
        deadline = time.monotonic() + 30
        while True:
            try:
                if sender.get("/readyz").status == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "gunicorn did not become ready"
            time.sleep(0.1)
        assert fake.api_calls("auth.test")  # the token is checked when the app is built
        response = sender.command(f"are language models trained on my messages? {CANARY}")
        assert response.status == 200
        assert "not trained" in fake.wait_response()[0].data["text"]
        assert sender.command("x", secret="wrong").status == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    logs = (out + err).decode("utf-8", "replace")
    assert "Booting worker" in logs and "ready: HTTP mode" in logs
    assert "watching " in logs and "stopped watching the knowledge folder" in logs  # hot reload
    assert CANARY not in logs
    assert BOT_TOKEN not in logs and SECRET not in logs


def test_http_mode_with_broken_knowledge_fails_fast(tmp_path, capsys, restore_logging):
    (tmp_path / "faq.yml").write_text("faq: [ {id: Bad Id} ]\n", "utf-8")
    from tests.slack.slack_fakes import make_settings

    settings = make_settings(tmp_path / "index", "http://127.0.0.1:9/api/",
                             knowledge_dir=tmp_path)
    assert run(settings) == 1
    err = capsys.readouterr().err
    assert err.startswith("faqbot: error: ") and "Traceback" not in err


@pytest.mark.parametrize("overrides", [{"slack_signing_secret": ""},
                                       {"slack_bot_token": "xoxp-1"}])
def test_run_without_usable_tokens_returns_1(tmp_path, capsys, overrides, restore_logging):
    from tests.slack.slack_fakes import make_settings

    assert run(make_settings(tmp_path, "http://127.0.0.1:9/api/", **overrides)) == 1
    assert "faqbot: error:" in capsys.readouterr().err
