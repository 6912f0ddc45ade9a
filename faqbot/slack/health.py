"""Health for load balancers and orchestrators: ``/healthz`` (alive) and ``/readyz`` (ready).

Alive: the process serves requests. Ready: it can answer a question now, that is an index
version is loaded, the answer worker runs and has a version to answer from, Redis answers a
PING when ``FAQBOT_REDIS_URL`` is set, and in Socket Mode the WebSocket to Slack is connected.
``/readyz`` names the checks that fail (their names only). HTTP mode serves both on the Slack
port (``faqbot.slack.runner.SlackWSGI``); Socket Mode has no HTTP server of its own, so
:class:`HealthServer` serves them on ``FAQBOT_HEALTH_PORT`` (default: ``PORT``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faqbot.slack.services import SlackServices

log = logging.getLogger("faqbot.slack")

ALIVE_PATH = "/healthz"
READY_PATH = "/readyz"

Check = Callable[[], bool]


@dataclass(frozen=True)
class Readiness:
    """The checks' results by name; ready when every one passed."""

    checks: Mapping[str, bool]

    @property
    def ready(self) -> bool:
        return all(self.checks.values())

    def body(self) -> bytes:
        failing = [name for name, ok in self.checks.items() if not ok]
        return b"ready\n" if not failing else f"not ready: {', '.join(failing)}\n".encode()


def service_checks(services: SlackServices) -> dict[str, Check]:
    """What readiness means for a running app: index, answer worker, Redis when configured."""
    checks: dict[str, Check] = {
        "index": lambda: _index_loaded(services),
        "worker": lambda: _worker_up(services),
    }
    if services.redis is not None:
        checks["redis"] = lambda: _redis_answers(services.redis)
    return checks


def readiness(checks: Mapping[str, Check]) -> Readiness:
    """Run each check (an exception counts as a failure; it is not logged: probes are often)."""
    results = {}
    for name, check in checks.items():
        try:
            results[name] = bool(check())
        except Exception:
            results[name] = False
    return Readiness(results)


def _index_loaded(services: SlackServices) -> bool:
    return bool(services.catalog.view().version)


def _worker_up(services: SlackServices) -> bool:
    answerer = services.asker.answerer
    alive = getattr(answerer, "alive", None)  # a worker process; in process: always up
    return (alive is None or bool(alive())) and bool(getattr(answerer, "healthy", True))


def _redis_answers(client: Any) -> bool:
    return bool(client.ping())  # the client's short socket timeouts bound the wait


class HealthServer:
    """``/healthz`` and ``/readyz`` over plain HTTP on ``host:port`` (Socket Mode)."""

    def __init__(self, port: int, checks: Mapping[str, Check], host: str = "0.0.0.0") -> None:
        self.checks = checks
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == ALIVE_PATH:
                    self._send(200, b"ok\n")
                elif self.path == READY_PATH:
                    state = readiness(outer.checks)
                    self._send(200 if state.ready else 503, state.body())
                else:
                    self._send(404, b"not found\n")

            def do_HEAD(self) -> None:
                self.do_GET()

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # no access log (probes arrive every few seconds)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="faqbot-health", daemon=True)

    def start(self) -> HealthServer:
        self._thread.start()
        log.info("health endpoints on port %d (%s, %s)", self.port, ALIVE_PATH, READY_PATH)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
