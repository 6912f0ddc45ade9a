"""Load over HTTP: signed ``/privacy`` commands against the real app, answers caught by a fake
Slack on 127.0.0.1.

The app is ``faqbot serve`` in HTTP mode (gunicorn, one gthread worker) started as a child
process, or, for tests, the same ``SlackWSGI`` app served in this process. A fake Slack here
plays the Web API (``FAQBOT_SLACK_API_URL``) and every command's ``response_url``; each command
gets its own response_url, so lost and duplicated answers can be counted. Only 127.0.0.1 is
ever a target, and every loop is bounded in count and time.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bench.common import CpuMeter, process_tree_cpu_seconds, subprocess_env, summary_ms

HOST = "127.0.0.1"
SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-0000-0000-benchtoken"
ACK_LIMIT_S = 3.0  # Slack shows an error when the ack takes longer


class FakeSlack:
    """Slack's Web API and response_url sink on 127.0.0.1, recording when answers arrive."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[tuple[float, str]]] = {}
        self.api_calls: dict[str, int] = {}
        self._cond = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self._handle()

            def do_GET(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                path = urllib.parse.urlsplit(self.path).path
                if path.startswith("/response/"):
                    fake._arrived(path[len("/response/"):], raw)
                    body = b"ok"
                else:
                    body = json.dumps(fake._api(path.removeprefix("/api/"))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.api_url = f"http://{HOST}:{self.port}/api/"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def response_url(self, key: str) -> str:
        return f"http://{HOST}:{self.port}/response/{key}"

    def _arrived(self, key: str, raw: str) -> None:
        with self._cond:
            self.arrivals.setdefault(key, []).append((time.monotonic(), raw))
            self._cond.notify_all()

    def _api(self, method: str) -> dict[str, Any]:
        with self._cond:
            self.api_calls[method] = self.api_calls.get(method, 0) + 1
        if method == "auth.test":
            return {"ok": True, "user_id": "UBENCHBOT", "bot_id": "BBENCH", "team_id": "T1",
                    "user": "faqbot", "url": "https://bench.slack.com/", "team": "Bench"}
        if method == "users.info":
            return {"ok": True, "user": {"id": "UBENCH", "is_owner": False, "is_admin": False}}
        return {"ok": True, "channel": "C1", "ts": "1700000000.0001"}

    def wait_answers(self, keys: Sequence[str], timeout: float) -> None:
        """Until every key has an answer, or ``timeout`` seconds without a new arrival."""
        with self._cond:
            while not all(k in self.arrivals for k in keys):
                before = sum(len(v) for v in self.arrivals.values())
                self._cond.wait(timeout)
                if sum(len(v) for v in self.arrivals.values()) == before:
                    return

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sign(body: str, timestamp: str, secret: str = SECRET) -> str:
    from slack_sdk.signature import SignatureVerifier

    return SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)


@dataclass
class Sent:
    key: str
    started: float  # time.monotonic(), the clock the fake stamps answers with
    ack_s: float | None = None
    status: int | None = None
    error: str | None = None


def send_command(base_url: str, fake: FakeSlack, key: str, text: str,
                 timeout: float = 10.0) -> Sent:
    """One signed /privacy command, form-encoded as Slack sends it."""
    form = urllib.parse.urlencode({
        "token": "legacy", "team_id": "T1", "team_domain": "bench", "channel_id": "C1",
        "channel_name": "general", "user_id": "UBENCH", "user_name": "bench",
        "command": "/privacy", "text": text, "api_app_id": "A1",
        "response_url": fake.response_url(key), "trigger_id": "1.2.3"})
    ts = str(int(time.time()))
    request = urllib.request.Request(
        base_url + "/slack/events", data=form.encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign(form, ts)})
    sent = Sent(key=key, started=time.monotonic())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            sent.status = response.status
    except urllib.error.HTTPError as err:
        sent.status, sent.error = err.code, f"http {err.code}"
    except OSError as err:
        sent.error = type(err).__name__
    sent.ack_s = time.monotonic() - sent.started
    return sent


@dataclass
class Server:
    """The app under test: where to send, and which process's CPU to count."""

    base_url: str
    pid: int | None
    stop: Callable[[], None]
    info: dict[str, Any] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_healthy(base_url: str, timeout: float, alive: Callable[[], bool]) -> float:
    """Seconds until GET /readyz answers 200; RuntimeError on timeout or early exit."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if not alive():
            raise RuntimeError("the server exited during start-up")
        try:
            with urllib.request.urlopen(base_url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server was not healthy within {timeout:.0f} s")


def start_gunicorn(fake: FakeSlack, knowledge: Path, index: Path, log_path: Path,
                   timeout: float = 600, **settings: str) -> Server:
    """``faqbot serve`` in HTTP mode (gunicorn), pointed at the fake Slack; waits for ready.

    ``settings``: extra environment, e.g. ``FAQBOT_ANSWER_PROCESS="false"``.
    """
    port = _free_port()
    env = subprocess_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SECRET,
                         FAQBOT_SLACK_API_URL=fake.api_url, PORT=str(port),
                         FAQBOT_KNOWLEDGE_DIR=str(knowledge), FAQBOT_INDEX_DIR=str(index),
                         **settings)
    log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 (closed by stop())
    proc = subprocess.Popen([sys.executable, "-m", "faqbot", "serve"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://{HOST}:{port}"

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()

    try:
        ready = wait_healthy(base_url, timeout, lambda: proc.poll() is None)
    except RuntimeError:
        stop()
        raise
    return Server(base_url, proc.pid, stop, {"mode": "gunicorn (faqbot serve, HTTP mode)",
                                             "ready_s": ready, "settings": settings})


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def serve_in_process(app: Any) -> Server:
    """The Bolt app behind faqbot's SlackWSGI on a wsgiref server in this process (tests)."""
    from faqbot.slack.runner import SlackWSGI

    server = make_server(HOST, 0, SlackWSGI(app), server_class=_ThreadingWSGIServer,
                         handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return Server(f"http://{HOST}:{server.server_address[1]}", None, stop,
                  {"mode": "in process (wsgiref + SlackWSGI)"})


def run_level(server: Server, fake: FakeSlack, questions: Sequence[str], count: int,
              concurrency: int, tag: str, drain_s: float = 60.0) -> dict[str, Any]:
    """``count`` commands at ``concurrency``; acks, answer times, losses, duplicates, CPU."""
    from faqbot.slack.blocks import FRIENDLY_ERROR

    keys = [f"{tag}-{i}" for i in range(count)]
    meter = CpuMeter()
    cpu0 = process_tree_cpu_seconds(server.pid) if server.pid else 0.0
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        sent = list(pool.map(lambda i: send_command(server.base_url, fake, keys[i],
                                                    questions[i % len(questions)]),
                             range(count)))
    acked = [s for s in sent if s.status == 200]
    fake.wait_answers([s.key for s in acked], timeout=drain_s)
    server_cpu = (process_tree_cpu_seconds(server.pid) - cpu0) if server.pid else 0.0
    cpu = meter.read(extra_cpu=server_cpu)
    arrivals = {k: list(fake.arrivals.get(k, [])) for k in keys}
    answer_s = [arrivals[s.key][0][0] - s.started for s in acked if arrivals[s.key]]
    last = max((a[0][0] for a in arrivals.values() if a), default=time.monotonic())
    span = last - min(s.started for s in sent) if sent else 0.0
    errors: dict[str, int] = {}
    for s in sent:
        if s.status != 200:
            errors[s.error or f"http {s.status}"] = errors.get(s.error or f"http {s.status}",
                                                               0) + 1
    friendly = sum(1 for a in arrivals.values() for _, raw in a if FRIENDLY_ERROR[:40] in raw)
    acks = [s.ack_s for s in acked if s.ack_s is not None]
    return {
        "commands": count, "concurrency": concurrency, "acked": len(acked),
        "ack": summary_ms(acks), "ack_over_3s": sum(1 for a in acks if a > ACK_LIMIT_S),
        "answer": summary_ms(answer_s),
        "lost": sum(1 for s in acked if not arrivals[s.key]),
        "duplicated": sum(1 for s in acked if len(arrivals[s.key]) > 1),
        "errors": errors, "error_answers": friendly,
        "answers_per_s": len(answer_s) / span if span > 0 else None,
        "server_cpu_s": server_cpu, "server_cpu_pct_of_one_core":
            100 * server_cpu / cpu["wall_s"] if server.pid and cpu["wall_s"] else None,
        "bench_cpu_s": cpu["own_cpu_s"] - server_cpu, "other_share": cpu["other_share"],
        "wall_s": cpu["wall_s"],
    }


def run(server: Server, fake: FakeSlack, questions: Sequence[str], count: int,
        levels: Sequence[int], max_concurrency: int = 200, warmup: int = 10,
        log: Callable[[str], None] = print) -> dict[str, Any]:
    """Each level in turn, then doubling while ack p99 stays under 3 s (bounded)."""
    run_level(server, fake, questions, warmup, min(warmup, 4), "warmup")
    results = []
    todo = list(levels)
    while todo:
        concurrency = todo.pop(0)
        log(f"load: {count} commands at concurrency {concurrency}")
        result = run_level(server, fake, questions, count, concurrency, f"c{concurrency}")
        results.append(result)
        p99 = result["ack"].get("p99", float("inf"))
        if not todo and p99 < ACK_LIMIT_S * 1000 and concurrency * 2 <= max_concurrency:
            todo.append(concurrency * 2)
    near = [r["concurrency"] for r in results
            if r["ack"].get("p99", float("inf")) >= 0.8 * ACK_LIMIT_S * 1000]
    return {"server": server.info, "levels": results,
            "ack_p99_near_3s_at": min(near) if near else None,
            "ack_p99_by_concurrency": {r["concurrency"]: r["ack"].get("p99") for r in results},
            "api_calls": dict(fake.api_calls),
            "max_ack_p99_ms": max((r["ack"].get("p99", 0.0) for r in results), default=None)}
