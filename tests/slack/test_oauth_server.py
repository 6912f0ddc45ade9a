"""OAuth mode in the real server: runner.run → gunicorn → one worker, the fake Slack. The
install pages are served, an install answers, and without a key it does not start."""

from __future__ import annotations

import subprocess

from cryptography.fernet import Fernet

from tests.slack.oauth_world import CLIENT_ID, CLIENT_SECRET, WORKSPACES, install, teach
from tests.slack.oauth_world import command as command_from
from tests.slack.serving import start_server

OAUTH = {"slack_bot_token": None, "slack_client_id": CLIENT_ID,
         "slack_client_secret": CLIENT_SECRET}


def test_the_server_serves_the_install_and_then_the_workspace(tmp_path, fake):
    teach(fake)
    server = start_server(tmp_path, fake, token_key=Fernet.generate_key().decode(),
                          state_dir=str(tmp_path / "state"), **OAUTH)
    try:
        server.wait_ready()
        done, _state = install(f"http://127.0.0.1:{server.port}", "code-B")
        assert done.status == 200, done
        b = WORKSPACES["B"]
        assert command_from(server.sender, b, "opt-out").status == 200
        (reply,) = fake.wait_response("B", timeout=20)
        assert b.url in reply.text
        assert server.stop() == 0
    finally:
        server.kill_group()
    logs = server.logs()
    assert "OAuth install on: /slack/install and /slack/oauth_redirect" in logs
    assert "code-B" not in logs and "xoxb-200" not in logs


def test_the_server_refuses_oauth_mode_without_a_key(tmp_path, fake):
    server = start_server(tmp_path, fake, **OAUTH)
    try:
        assert server.proc.wait(60) == 1
    except subprocess.TimeoutExpired:
        server.kill_group()
        raise AssertionError(f"it started anyway:\n{server.logs()}") from None
    lines = [line for line in server.logs().splitlines() if line.startswith("faqbot: error:")]
    assert len(lines) == 1 and "FAQBOT_TOKEN_KEY" in lines[0] and "faqbot token-key" in lines[0]
    assert not fake.api_calls("oauth.v2.access")
