"""/healthz and /readyz against the real app (``runner.build``: answer worker, engine, Bolt) over
real HTTP, and in Socket Mode against the local WebSocket fake; Redis is a real redis-server.

Ready goes away when what it stands for does: the answer worker killed, Redis stopped, the
WebSocket dropped, and comes back when they do.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
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


@contextlib.contextmanager
def socket_replica(tmp_path: Path, fake: FakeSlack, server: FakeSocketMode,
                   monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> Iterator[list[int]]:
    """``runner.run_socket_mode`` in a thread against ``server``; its exit code, once stopped."""
    monkeypatch.setattr(fake, "ws_url", server.url)  # the session's handler keeps its own
    settings = make_settings(tmp_path / "index", fake.api_url, slack_app_token=APP_TOKEN,
                             **overrides)
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(
        runner.run_socket_mode(settings, stop, embedder_factory=FakeEmbedder)))
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join(30)
        server.close()


def ask_over_socket(server: FakeSocketMode, fake: FakeSlack, key: str) -> str:
    server.push({"envelope_id": key, "type": "slash_commands", "accepts_response_payload": True,
                 "payload": {"team_id": "T1", "channel_id": "C1", "user_id": MEMBER,
                             "command": "/privacy", "api_app_id": "A1",
                             "text": "are language models trained on my messages?",
                             "response_url": fake.response_url(key), "trigger_id": "1"}})
    return str(fake.wait_response(key, timeout=20)[0].data["text"])


def test_socket_mode_ready_means_connected(tmp_path: Path, fake: FakeSlack,
                                           monkeypatch: pytest.MonkeyPatch,
                                           restore_logging: None) -> None:
    server = DroppingSocketMode()
    port = free_port()
    sender = SlackSender(f"http://127.0.0.1:{port}", fake)
    with socket_replica(tmp_path, fake, server, monkeypatch, health_port=port) as result:
        wait_for(lambda: status(sender, "/healthz")[0] == 200, timeout=10)
        wait_for(lambda: status(sender, "/readyz") == (200, b"ready\n"), timeout=60)
        assert server.connected.is_set()
        assert "not trained" in ask_over_socket(server, fake, "h1")
        server.drop()
        wait_for(lambda: status(sender, "/readyz") == (503, b"not ready: socket\n"),
                 timeout=20)
        assert status(sender, "/healthz") == (200, b"ok\n")
        server.accept()  # the client reconnects by itself
        wait_for(lambda: status(sender, "/readyz") == (200, b"ready\n"), timeout=40)
    assert result == [0]
    assert status(sender, "/healthz")[0] == 0  # the health server stopped with the app


def test_socket_mode_health_port_zero_serves_nothing(tmp_path: Path, fake: FakeSlack,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     restore_logging: None) -> None:
    server = FakeSocketMode()
    port = free_port()
    with socket_replica(tmp_path, fake, server, monkeypatch, health_port=0, port=port):
        assert server.connected.wait(60)
        assert status(SlackSender(f"http://127.0.0.1:{port}", fake), "/healthz")[0] == 0


def test_socket_mode_answers_when_the_health_port_is_taken(tmp_path: Path, fake: FakeSlack,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture,
                                                           restore_logging: None) -> None:
    server = FakeSocketMode()
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with socket_replica(tmp_path, fake, server, monkeypatch, health_port=port) as result:
            assert server.connected.wait(60)
            assert "not trained" in ask_over_socket(server, fake, "t1")
    assert result == [0]
    assert f"health endpoints not served: port {port}" in caplog.text
