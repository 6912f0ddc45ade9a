"""Fakes and fixtures for the Slack layer: a fake Slack (Web API, response_url and Socket
Mode), the real Bolt app served over real HTTP on 127.0.0.1, requests signed as Slack signs them.

``tests/slack/conftest.py`` exposes the fixtures to tests/slack; ``tests/test_privacy.py``
imports them from here.

Nothing here reaches the internet; nothing prints (the fakes' request logs are silenced, so
capsys/capfd-based privacy tests see only what faqbot itself writes).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_sdk.signature import SignatureVerifier

from faqbot.search import Engine
from faqbot.service import open_engine
from faqbot.settings import Settings, load_settings
from tests.fakes import FakeEmbedder

KNOWLEDGE = Path(__file__).resolve().parents[1] / "data" / "knowledge"
SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-1111-2222-testtoken"
APP_TOKEN = "xapp-1-A111-222-testtoken"
OWNER, MEMBER, ORG_OWNER = "UOWNER1", "UMEMBER1", "UORGOWN1"
BOT_USER = "UBOTUSER"
WORKSPACE = {"url": "https://acme-co.slack.com/", "team": "Acme & Co"}


# --- the fake Slack -------------------------------------------------------------------------


@dataclass
class Call:
    """One request the app made to the fake: a Web API method or a response_url post."""

    kind: str  # "api", "response", or "refused" (a response_url post made to fail)
    name: str  # Web API method ("chat.postMessage") or the response_url key
    data: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    token: str | None = None  # the bearer token a Web API call was made with

    @property
    def text(self) -> str:
        """Everything the user would see: fallback text and all block text, as one string."""
        return json.dumps(self.data, ensure_ascii=False)


class FakeSlack:
    """A threaded HTTP server on 127.0.0.1 playing Slack's Web API and response_url sink."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._cond = threading.Condition()
        self._failures: dict[str, list[tuple[int, dict[str, str], Any]]] = {}
        self._delays: dict[str, list[float]] = {}
        self.shared: set[str] = set()  # channel ids shared with another organisation
        self.users: dict[str, dict[str, Any]] = {
            OWNER: {"id": OWNER, "is_owner": True, "is_admin": True},
            MEMBER: {"id": MEMBER, "is_owner": False, "is_admin": False},
            ORG_OWNER: {"id": ORG_OWNER, "is_owner": False, "is_org_owner": True},
        }
        self.ws_url = "ws://127.0.0.1:9/"
        # OAuth: code → oauth.v2.access answer; refresh token → its answer (spent once);
        # token → auth.test answer; team id → team.info's team
        self.codes: dict[str, dict[str, Any]] = {}
        self.refreshes: dict[str, dict[str, Any]] = {}
        self.spent: set[str] = set()
        self.tokens: dict[str, dict[str, Any]] = {}
        self.teams: dict[str, dict[str, Any]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # silence: tests watch stderr
                pass

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                data: dict[str, Any] = dict(urllib.parse.parse_qsl(parsed.query))
                if raw:
                    if "json" in (self.headers.get("Content-Type") or ""):
                        data.update(json.loads(raw))
                    else:
                        data.update(urllib.parse.parse_qsl(raw))
                bearer = self.headers.get("Authorization") or ""
                token = bearer[7:] if bearer.startswith("Bearer ") else data.get("token")
                if parsed.path.startswith("/api/"):
                    status, headers, body = fake._api(parsed.path[5:], data, token)
                elif parsed.path.startswith("/response/"):
                    status, headers, body = fake._response(parsed.path[10:], data)
                else:
                    status, headers, body = 404, {}, {"ok": False}
                as_json = isinstance(body, dict | list | str)  # str: a JSON string body
                payload = json.dumps(body).encode() if as_json else bytes(body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json" if as_json
                                 else "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.api_url = f"http://127.0.0.1:{self.port}/api/"
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def response_url(self, key: str = "cmd") -> str:
        return f"http://127.0.0.1:{self.port}/response/{key}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._cond:
            self.calls.clear()
            self._failures.clear()
            self._delays.clear()
            self.shared.clear()
            for table in (self.codes, self.refreshes, self.tokens, self.teams):
                table.clear()
            self.spent.clear()

    def fail_next(self, method: str, status: int = 200, headers: dict[str, str] | None = None,
                  body: dict[str, Any] | None = None, times: int = 1) -> None:
        """Make the next ``times`` calls of a Web API method fail as given."""
        body = body if body is not None else {"ok": False, "error": "internal_error"}
        with self._cond:
            self._failures.setdefault(method, []).extend([(status, headers or {}, body)] * times)

    def fail_response(self, key: str = "cmd", status: int = 500,
                      headers: dict[str, str] | None = None, body: Any = b"error",
                      times: int = 1) -> None:
        """Make the next ``times`` posts to the response_url ``key`` fail as given (they are
        recorded, but not as delivered: see ``delivered``)."""
        with self._cond:
            self._failures.setdefault(f"response:{key}", []).extend(
                [(status, headers or {}, body)] * times)

    def delay_next(self, name: str, seconds: float, times: int = 1) -> None:
        """Accept the next ``times`` calls of ``name`` (a Web API method, or ``response:KEY``)
        but answer only after ``seconds``: a reply whose HTTP call times out yet arrived."""
        with self._cond:
            self._delays.setdefault(name, []).extend([seconds] * times)

    def _delay(self, name: str) -> None:
        with self._cond:
            queue = self._delays.get(name)
            seconds = queue.pop(0) if queue else 0.0
        if seconds:
            time.sleep(seconds)

    def _record(self, kind: str, name: str, data: dict[str, Any],
                token: str | None = None) -> None:
        with self._cond:
            self.calls.append(Call(kind, name, data, token=token))
            self._cond.notify_all()

    def _oauth(self, data: dict[str, Any]) -> dict[str, Any]:
        """oauth.v2.access: a code for an install, or a refresh token (each spent once)."""
        with self._cond:
            if data.get("grant_type") == "refresh_token":
                refresh = data.get("refresh_token", "")
                if refresh in self.spent or refresh not in self.refreshes:
                    return {"ok": False, "error": "invalid_refresh_token"}
                self.spent.add(refresh)
                return {"ok": True, **self.refreshes[refresh]}
            answer = self.codes.get(data.get("code", ""))
        return {"ok": True, **answer} if answer else {"ok": False, "error": "invalid_code"}

    def _api(self, method: str, data: dict[str, Any],
             token: str | None = None) -> tuple[int, dict[str, str], Any]:
        self._record("api", method, data, token)
        with self._cond:
            queue = self._failures.get(method)
            if queue:
                return queue.pop(0)
        self._delay(method)
        if method == "oauth.v2.access":
            return 200, {}, self._oauth(data)
        if method == "auth.test" and self.tokens:  # OAuth tests: each token its own install
            known = self.tokens.get(token or "")
            return 200, {}, ({"ok": True, **known} if known
                             else {"ok": False, "error": "invalid_auth"})
        if method == "team.info":
            team = self.teams.get(data.get("team", ""))
            return 200, {}, ({"ok": True, "team": team} if team
                             else {"ok": False, "error": "team_not_found"})
        if method == "auth.test":
            return 200, {}, {"ok": True, "user_id": BOT_USER, "bot_id": "BBOT", "team_id": "T1",
                             "user": "faqbot", **WORKSPACE}
        if method == "users.info":
            user = self.users.get(data.get("user", ""))
            if user is None:
                return 200, {}, {"ok": False, "error": "user_not_found"}
            return 200, {}, {"ok": True, "user": user}
        if method == "conversations.info":
            channel = data.get("channel", "")
            return 200, {}, {"ok": True, "channel": {"id": channel,
                                                     "is_ext_shared": channel in self.shared}}
        if method == "apps.connections.open":
            return 200, {}, {"ok": True, "url": self.ws_url}
        if method == "chat.postMessage":
            return 200, {}, {"ok": True, "channel": data.get("channel"), "ts": "1700000000.0001"}
        return 200, {}, {"ok": True}

    def _response(self, key: str, data: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        with self._cond:
            queue = self._failures.get(f"response:{key}")
            failure = queue.pop(0) if queue else None
        if failure is not None:
            self._record("refused", key, data)
            return failure
        self._record("response", key, data)
        self._delay(f"response:{key}")
        return 200, {}, b"ok"

    # -- reading what the app sent -------------------------------------------------------------

    def wait_for(self, predicate: Callable[[Call], bool], count: int = 1,
                 timeout: float = 5.0) -> list[Call]:
        """Block until ``count`` recorded calls match; fail the test after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self.calls if predicate(c)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    names = [(c.kind, c.name) for c in self.calls]
                    raise AssertionError(f"expected {count} matching call(s), saw {names}")
                self._cond.wait(left)

    def wait_api(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        return self.wait_for(lambda c: c.kind == "api" and c.name == method, count, timeout)

    def wait_response(self, key: str = "cmd", count: int = 1, timeout: float = 5.0) -> list[Call]:
        return self.wait_for(lambda c: c.kind == "response" and c.name == key, count, timeout)

    def api_calls(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.kind == "api" and c.name == method]

    def replies(self) -> list[Call]:
        """Everything that reached a user: posts, ephemerals, views and response_url posts."""
        visible = {"chat.postMessage", "chat.postEphemeral", "views.publish", "chat.update"}
        with self._cond:
            return [c for c in self.calls if c.kind == "response" or c.name in visible]


# --- the app over real HTTP -------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@dataclass
class Response:
    status: int
    body: bytes
    seconds: float


class SlackSender:
    """Sends requests to the app as Slack does: signed, form-encoded or JSON."""

    def __init__(self, base_url: str, fake: FakeSlack, secret: str = SECRET) -> None:
        self.base_url = base_url
        self.fake = fake
        self.secret = secret
        self._n = 0

    def post(self, body: str, content_type: str, *, secret: str | None = None,
             timestamp: int | None = None, headers: dict[str, str] | None = None,
             path: str = "/slack/events") -> Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(secret or self.secret).generate_signature(
            timestamp=ts, body=body)
        return self.raw(body.encode("utf-8"), {
            "Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature, **(headers or {})}, path=path)

    def raw(self, data: bytes, headers: dict[str, str],
            path: str = "/slack/events") -> Response:
        """POST ``data`` with exactly ``headers`` (no signature added): for malformed input."""
        request = urllib.request.Request(self.base_url + path, data=data, method="POST",
                                         headers=headers)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return Response(resp.status, resp.read(), time.perf_counter() - started)
        except urllib.error.HTTPError as err:
            return Response(err.code, err.read(), time.perf_counter() - started)

    def command(self, text: str, *, user_id: str = MEMBER, key: str = "cmd",
                **kwargs: Any) -> Response:
        form = {"token": "legacy", "team_id": "T1", "team_domain": "acme-co",
                "channel_id": "C1", "channel_name": "general", "user_id": user_id,
                "user_name": "someone", "command": "/privacy", "text": text,
                "api_app_id": "A1", "response_url": self.fake.response_url(key),
                "trigger_id": "1.2.3"}
        return self.post(urllib.parse.urlencode(form), "application/x-www-form-urlencoded",
                         **kwargs)

    def event(self, event: dict[str, Any], *, event_id: str | None = None,
              retry_num: int | None = None, **kwargs: Any) -> Response:
        self._n += 1
        body = {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                "event_id": event_id or f"Ev{time.monotonic_ns()}{self._n}",
                "event_time": int(time.time()), "event": event,
                "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}]}
        headers = kwargs.pop("headers", {}) or {}
        if retry_num is not None:
            headers = {**headers, "X-Slack-Retry-Num": str(retry_num),
                       "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(json.dumps(body), "application/json", headers=headers, **kwargs)

    def action(self, action_id: str, value: str = "", *, user_id: str = MEMBER,
               key: str | None = "action", container: dict[str, Any] | None = None,
               extra: dict[str, Any] | None = None, **kwargs: Any) -> Response:
        """A button click; ``extra`` adds payload fields (``message``, ``view``, ``state``)."""
        payload: dict[str, Any] = {
            "type": "block_actions", "team": {"id": "T1"}, "user": {"id": user_id},
            "api_app_id": "A1", "trigger_id": "1.2.3",
            "container": container or {"type": "message", "is_ephemeral": True},
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b1",
                         "value": value, "action_ts": "1700000000.1"}],
            **(extra or {}),
        }
        if key is not None:
            payload["response_url"] = self.fake.response_url(key)
            payload["channel"] = {"id": "C1"}
        form = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.post(form, "application/x-www-form-urlencoded", **kwargs)

    def message_shortcut(self, callback_id: str, text: str, *, user_id: str = MEMBER,
                         key: str = "shortcut", ts: str = "1700000000.000900",
                         **kwargs: Any) -> Response:
        """A message shortcut used on a message with ``text`` (Slack's message_action)."""
        payload = {
            "type": "message_action", "callback_id": callback_id, "team": {"id": "T1"},
            "user": {"id": user_id}, "channel": {"id": "C1", "name": "general"},
            "api_app_id": "A1", "trigger_id": "1.2.3", "message_ts": ts,
            "message": {"type": "message", "user": OWNER, "text": text, "ts": ts},
            "response_url": self.fake.response_url(key),
        }
        form = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.post(form, "application/x-www-form-urlencoded", **kwargs)

    def get(self, path: str) -> Response:
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=5) as resp:
                return Response(resp.status, resp.read(), time.perf_counter() - started)
        except urllib.error.HTTPError as err:
            return Response(err.code, err.read(), time.perf_counter() - started)


def dm(text: str, user: str = MEMBER, **extra: Any) -> dict[str, Any]:
    """A direct-message event as Slack sends it."""
    return {"type": "message", "channel": "D1", "channel_type": "im", "user": user,
            "text": text, "ts": "1700000000.000100", **extra}


def mention_event(text: str, user: str = MEMBER, **extra: Any) -> dict[str, Any]:
    """An app_mention event in a channel."""
    return {"type": "app_mention", "channel": "C1", "user": user,
            "text": f"<@{BOT_USER}> {text}", "ts": "1700000000.000200", **extra}


def serve_wsgi(wsgi_app: Any) -> tuple[Any, str]:
    server = make_server("127.0.0.1", 0, wsgi_app, server_class=_ThreadingWSGIServer,
                         handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                     daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo ``configure_logging`` after a test: handlers, levels, filters, record factory."""
    import logging

    from faqbot.privacy import QUIET_LOGGERS

    root = logging.getLogger()
    factory = logging.getLogRecordFactory()
    hook = threading.excepthook  # configure_logging routes thread exceptions through logging
    saved_root = (root.level, list(root.handlers), {h: list(h.filters) for h in root.handlers})
    names = [*QUIET_LOGGERS, *logging.root.manager.loggerDict]
    saved = {n: (logging.getLogger(n).level, list(logging.getLogger(n).filters)) for n in names}
    yield
    threading.excepthook = hook
    logging.setLogRecordFactory(factory)
    root.setLevel(saved_root[0])
    root.handlers[:] = saved_root[1]
    for handler, filters in saved_root[2].items():
        handler.filters[:] = filters
    for name, (level, filters) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.filters[:] = filters


@pytest.fixture(scope="session")
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    yield fake
    fake.close()


@pytest.fixture
def fake(fake_slack: FakeSlack) -> FakeSlack:
    """The session's fake Slack, emptied for this test."""
    fake_slack.reset()
    return fake_slack


def make_settings(index_dir: Path, api_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"knowledge_dir": KNOWLEDGE, "index_dir": index_dir,
                              "slack_api_url": api_url, "slack_bot_token": BOT_TOKEN,
                              "slack_signing_secret": SECRET}
    return load_settings(**{**values, **overrides})


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def engine(index_dir: Path, fake_slack: FakeSlack) -> Engine:
    """One engine for the session (the fake model; the index is built once)."""
    return open_engine(make_settings(index_dir, fake_slack.api_url), FakeEmbedder())


@pytest.fixture
def slack_settings(index_dir: Path, fake: FakeSlack) -> Settings:
    """Settings for an app talking to the fake Slack (tests/conftest.py's ``settings`` is for
    the core: a copy of the sample knowledge)."""
    return make_settings(index_dir, fake.api_url)


@pytest.fixture
def services(slack_settings: Settings, engine: Engine) -> Iterator[Any]:
    """Fresh Slack services (counters, event ids, answer threads) for one app."""
    from faqbot.slack.services import build_services

    services = build_services(slack_settings, engine)
    yield services
    services.close()


@pytest.fixture
def app(slack_settings: Settings, engine: Engine, services: Any) -> Any:
    """A fresh Bolt app talking to the fake Slack, with this test's ``services``."""
    from faqbot.slack.app import build_client, create_app

    return create_app(slack_settings, engine, client=build_client(slack_settings), services=services)


@pytest.fixture
def served(app: Any) -> Iterator[str]:
    """The app behind the same WSGI app gunicorn serves, on a real 127.0.0.1 port."""
    from faqbot.slack.runner import SlackWSGI

    server, url = serve_wsgi(SlackWSGI(app))
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture
def slack(served: str, fake: FakeSlack) -> SlackSender:
    """Send signed requests to the served app."""
    return SlackSender(served, fake)


# --- Block Kit limits, checked on everything the app sends ----------------------------------------


def assert_slack_limits(data: dict[str, Any], max_blocks: int = 50) -> None:
    """Fail unless a message or view respects Slack's limits and has a fallback text."""
    blocks = data.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if blocks is None:
        return
    if "type" not in data:  # a message, not a view: screen readers and notifications read text
        assert str(data.get("text") or "").strip(), "a message without a text fallback"
    assert len(blocks) <= max_blocks, f"{len(blocks)} blocks"
    for block in blocks:
        kind = block["type"]
        if kind == "section":
            assert len(block["text"]["text"]) <= 3000
        elif kind == "header":
            assert len(block["text"]["text"]) <= 150
            assert block["text"]["type"] == "plain_text"
        elif kind == "context":
            assert 1 <= len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 2000 for e in block["elements"])
        elif kind == "actions":
            assert 1 <= len(block["elements"]) <= 25
            for element in block["elements"]:
                if element["type"] != "button":  # a date picker or a menu
                    assert element["type"] in ("datepicker", "static_select"), element
                    assert all(len(o["text"]["text"]) <= 75 for o in element.get("options", []))
                    continue
                assert len(element["text"]["text"]) <= 75
                assert len(element.get("value", "")) <= 2000
                label = element.get("accessibility_label", "")
                assert 1 <= len(label) <= 75, f"button without an accessibility label: {element}"
        else:
            assert kind == "divider", kind


@pytest.fixture(autouse=True)
def _every_reply_within_limits(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test, every message and view the app sent must respect Slack's limits."""
    yield
    if "fake_slack" not in request.fixturenames:
        return
    fake = request.getfixturevalue("fake_slack")
    for call in fake.replies():
        if call.name == "views.publish":
            view = call.data["view"]
            view = json.loads(view) if isinstance(view, str) else view
            assert_slack_limits(view, max_blocks=100)
        else:
            assert call.data.get("text"), f"{call.name} without a fallback text"
            assert_slack_limits(call.data)


# --- Socket Mode -----------------------------------------------------------------------------------


class FakeSocketMode:
    """A local WebSocket server playing Slack's Socket Mode: hello, envelopes, acks."""

    def __init__(self) -> None:
        from websockets.sync.server import serve

        self.acks: dict[str, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._conn: Any = None
        self.connected = threading.Event()
        self.server = serve(self._handle, "127.0.0.1", 0, compression=None, ping_interval=None)
        self.port = self.server.socket.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/link/?ticket=fake"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handle(self, conn: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        self._conn = conn
        conn.send(json.dumps({"type": "hello", "num_connections": 1,
                              "connection_info": {"app_id": "A1"},
                              "debug_info": {"host": "fake", "approximate_connection_time": 60}}))
        self.connected.set()
        try:
            for raw in conn:
                message = json.loads(raw)
                with self._cond:
                    self.acks[message.get("envelope_id", "")] = message
                    self._cond.notify_all()
        except ConnectionClosed:
            pass

    def push(self, envelope: dict[str, Any]) -> None:
        assert self.connected.wait(5), "the app never connected"
        self._conn.send(json.dumps(envelope))

    def push_raw(self, frame: str | bytes) -> None:
        """A frame as is: text (str) or binary (bytes), e.g. something that is not JSON."""
        assert self.connected.wait(5), "the app never connected"
        self._conn.send(frame)

    def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        with self._cond:
            if not self._cond.wait_for(lambda: envelope_id in self.acks, timeout):
                raise AssertionError(f"no ack for {envelope_id}")
            return self.acks[envelope_id]

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="session")
def socket_mode(fake_slack: FakeSlack, index_dir: Path,
                engine: Engine) -> Iterator[FakeSocketMode]:
    """One Socket Mode connection for the session (closing a handler takes about 3 s)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from faqbot.slack.app import build_client, create_app

    server = FakeSocketMode()
    fake_slack.ws_url = server.url
    settings = make_settings(index_dir, fake_slack.api_url, slack_app_token=APP_TOKEN)
    app = create_app(settings, engine, client=build_client(settings))
    handler = SocketModeHandler(app, APP_TOKEN)
    handler.connect()
    assert server.connected.wait(5)
    yield server
    handler.close()
    server.close()


# --- catching every log line -------------------------------------------------------------------


class CaptureAll:
    """A plain handler on the root logger (no filter) keeping every rendering of every record."""

    def __init__(self) -> None:
        import logging

        class _Handler(logging.Handler):
            def emit(inner, record: logging.LogRecord) -> None:
                parts = [logging.Formatter("%(name)s %(message)s").format(record),
                         str(record.msg), repr(record.args), str(record.exc_text),
                         repr(record.exc_info)]
                self.lines.append("\n".join(parts))

        self.lines: list[str] = []
        self.handler = _Handler(logging.DEBUG)

    def text(self) -> str:
        return "\n".join(self.lines)


def everything_at_debug() -> CaptureAll:
    """The operator's worst case: faqbot at DEBUG, then every library logger forced to DEBUG.

    Returns a capture handler added to the root logger (the restore_logging fixture undoes it).
    """
    import logging

    from faqbot.privacy import QUIET_LOGGERS, configure_logging

    configure_logging("DEBUG")
    extra = ("slack_bolt.App", "slack_bolt.RequestVerification", "slack_bolt.faqbot",
             "slack_sdk.web.base_client", "slack_sdk.webhook.client",
             "slack_sdk.socket_mode.builtin.client", "slack_sdk.web.faqbot")
    for name in {*QUIET_LOGGERS, *extra, *logging.root.manager.loggerDict}:
        logging.getLogger(name).setLevel(logging.DEBUG)
    capture = CaptureAll()
    logging.getLogger().addHandler(capture.handler)
    return capture
