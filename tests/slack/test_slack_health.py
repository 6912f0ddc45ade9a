"""/healthz and /readyz against the real app (``runner.build``: answer worker, engine, Bolt) over
real HTTP, and in Socket Mode against the local WebSocket fake; Redis is a real redis-server.

Ready goes away when what it stands for does: the answer worker killed, Redis stopped, the
WebSocket dropped, and comes back when they do.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from faqbot.slack import runner
from faqbot.slack.runner import SlackWSGI
from tests.fakes import FakeEmbedder
from tests.redis_server import RedisServer
from tests.slack.serving import free_port
from tests.slack.slack_fakes import (
    APP_TOKEN,
    MEMBER,
    FakeSlack,
    FakeSocketMode,
    SlackSender,
    make_settings,
    serve_wsgi,
)


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(step)


def status(sender: SlackSender, path: str) -> tuple[int, bytes]:
    try:
        response = sender.get(path)
    except OSError:
        return 0, b""
    return response.status, response.body


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own (it is stopped and started again)."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def http_replica(tmp_path: Path, fake: FakeSlack, redis: RedisServer
                 ) -> Iterator[tuple[runner.Running, SlackSender]]:
    settings = make_settings(tmp_path / "index", fake.api_url, redis_url=redis.url)
    running = runner.build(settings, embedder_factory=FakeEmbedder)
    wsgi = SlackWSGI()
    wsgi.attach(running.app, running.close, running.checks())
    server, url = serve_wsgi(wsgi)
    try:
        yield running, SlackSender(url, fake)
    finally:
        server.shutdown()
        server.server_close()
        runner.shutdown(running)


def test_http_ready_follows_redis(http_replica, redis: RedisServer) -> None:
    _running, sender = http_replica
    assert status(sender, "/healthz") == (200, b"ok\n")
    assert status(sender, "/readyz") == (200, b"ready\n")
    redis.stop()
    assert status(sender, "/readyz") == (503, b"not ready: redis\n")
    assert status(sender, "/healthz") == (200, b"ok\n")  # alive: it still answers
    redis.start()
    wait_for(lambda: status(sender, "/readyz") == (200, b"ready\n"), timeout=10)


def test_http_ready_follows_the_answer_worker(http_replica, fake: FakeSlack) -> None:
    running, sender = http_replica
    answerer = running.services.asker.answerer
    os.kill(answerer.worker_pid(), signal.SIGKILL)
    wait_for(lambda: status(sender, "/readyz") == (503, b"not ready: worker\n"), timeout=10)
    assert status(sender, "/healthz")[0] == 200
    # the next question starts a new worker (and is answered); ready again
    assert sender.command("are language models trained on my messages?").status == 200
    assert "not trained" in fake.wait_response(timeout=20)[0].text
    assert status(sender, "/readyz") == (200, b"ready\n")


class DroppingSocketMode(FakeSocketMode):
    """The fake Socket Mode server, able to drop the connection and refuse new ones."""

    def __init__(self) -> None:
        self.refusing = threading.Event()
        super().__init__()

    def _handle(self, conn: Any) -> None:
        if self.refusing.is_set():
            conn.close()
            return
        super()._handle(conn)

    def drop(self) -> None:
        self.refusing.set()
        self.connected.clear()
        self._conn.close()

    def accept(self) -> None:
        self.refusing.clear()


def test_socket_mode_ready_means_connected(tmp_path: Path, fake: FakeSlack,
                                           monkeypatch: pytest.MonkeyPatch,
                                           restore_logging: None) -> None:
    server = DroppingSocketMode()
    monkeypatch.setattr(fake, "ws_url", server.url)
    port = free_port()
    settings = make_settings(tmp_path / "index", fake.api_url, slack_app_token=APP_TOKEN,
                             health_port=port)
    sender = SlackSender(f"http://127.0.0.1:{port}", fake)
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(
        runner.run_socket_mode(settings, stop, embedder_factory=FakeEmbedder)))
    thread.start()
    try:
        wait_for(lambda: status(sender, "/healthz")[0] == 200, timeout=10)
        wait_for(lambda: status(sender, "/readyz") == (200, b"ready\n"), timeout=60)
        assert server.connected.is_set()
        server.push({"envelope_id": "h1", "type": "slash_commands",
                     "accepts_response_payload": True,
                     "payload": {"team_id": "T1", "channel_id": "C1", "user_id": MEMBER,
                                 "command": "/privacy", "api_app_id": "A1",
                                 "text": "are language models trained on my messages?",
                                 "response_url": fake.response_url("h1"), "trigger_id": "1"}})
        assert "not trained" in fake.wait_response("h1", timeout=20)[0].data["text"]
        server.drop()
        wait_for(lambda: status(sender, "/readyz") == (503, b"not ready: socket\n"),
                 timeout=20)
        assert status(sender, "/healthz") == (200, b"ok\n")
        server.accept()  # the client reconnects by itself
        wait_for(lambda: status(sender, "/readyz") == (200, b"ready\n"), timeout=40)
    finally:
        stop.set()
        thread.join(30)
        server.close()
    assert result == [0]
    assert status(sender, "/healthz")[0] == 0  # the health server stopped with the app


def test_socket_mode_health_port_zero_serves_nothing(tmp_path: Path, fake: FakeSlack,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     restore_logging: None) -> None:
    server = FakeSocketMode()
    monkeypatch.setattr(fake, "ws_url", server.url)
    port = free_port()
    settings = make_settings(tmp_path / "index", fake.api_url, slack_app_token=APP_TOKEN,
                             health_port=0, port=port)
    stop = threading.Event()
    thread = threading.Thread(target=lambda: runner.run_socket_mode(
        settings, stop, embedder_factory=FakeEmbedder))
    thread.start()
    try:
        assert server.connected.wait(60)
        assert status(SlackSender(f"http://127.0.0.1:{port}", fake), "/healthz")[0] == 0
    finally:
        stop.set()
        thread.join(30)
        server.close()
