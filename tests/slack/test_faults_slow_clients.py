"""Slow unauthenticated connections against the real server (gunicorn in a subprocess):
forty of them, sending partial headers or less body than they announce, no longer stop
signed requests or /healthz; they are closed at their deadline (issue 16, item 3)."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

from faqbot.slack import http_worker
from tests.slack.serving import start_server

SLOW = 40


def _slow_connections(port: int) -> list[socket.socket]:
    """Half send a partial request line and headers, half a Content-Length they never meet."""
    opened = []
    for i in range(SLOW):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2:
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slack-Sig")
        else:
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"a")
        opened.append(sock)
    return opened


def test_signed_requests_ack_within_3_s_while_40_slow_connections_are_open(tmp_path, fake):
    server = start_server(tmp_path, fake)
    opened: list[socket.socket] = []
    try:
        server.wait_ready()
        opened = _slow_connections(server.port)
        time.sleep(0.5)  # they hold whatever they can hold by now
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            acks = list(pool.map(lambda i: server.sender.command(f"are models trained? zqslowcanary{i}",
                                                                 key=f"s{i}"), range(8)))
        health = server.sender.get("/healthz")
        assert all(a.status == 200 and a.seconds < 3 for a in acks), acks  # before: timeouts
        assert health.status == 200 and health.seconds < 3
        assert time.monotonic() - started < 5
        fake.wait_for(lambda c: c.kind == "response", count=8, timeout=20)
        # the slow ones are closed at their deadline, not held for ever
        limit = max(http_worker.HEADER_TIMEOUT_S, http_worker.BODY_TIMEOUT_S) + 3
        for sock in opened:
            sock.settimeout(limit)
            assert sock.recv(100) == b""  # closed by the server (EOF)
    finally:
        for sock in opened:
            sock.close()
        assert server.stop() == 0
        server.kill_group()
    assert "zqslowcanary" not in server.logs()
