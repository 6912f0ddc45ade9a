"""Privacy proofs: a question reaches the answer's author and nothing else, on every surface.

Each test sends fresh canary strings (random, so they are in no file before the test) as
questions through one or more surfaces, with logging at its worst (root and every library
logger at DEBUG), then looks for them everywhere a copy could land:

* every log record: as created (a spy outside faqbot's record factory), as handed to any
  handler of any logger (a spy on ``Logger.callHandlers``, so non-propagating loggers count),
  and as a plain root handler renders it;
* the process's stdout and stderr (``capfd``, file-descriptor level);
* every file, bytes-level (UTF-8 and UTF-16), under the working directory (``tmp_path``),
  ``HOME``, ``XDG_CACHE_HOME``, ``HF_HOME`` and ``TMPDIR``/``tempfile.tempdir`` (all pointed
  into ``tmp_path``), the index and knowledge folders, and any file in the repository
  written during the test;
* every request the app made to the fake Slack (Web API and response_url) and every Socket
  Mode ack: the asker's answer included, which must not echo the question;
* the HTTP responses the app gave, and the state the bot keeps in memory.

The mutation tests at the end plant a leak and check that this suite notices it.
"""

# The Slack fakes' fixtures are imported by name below and then used as test arguments.
# ruff: noqa: F811

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import secrets
import socket
import tempfile
import time
import traceback
import types
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from faqbot import cli, embedding, service
from faqbot.personal_data import PERSONAL_DATA_KINDS
from faqbot.privacy import QUIET_LOGGERS
from faqbot.slack.blocks import EXPIRED, FRIENDLY_ERROR, NOT_ALLOWED
from tests.fakes import FakeEmbedder
from tests.redis_server import redis_server  # noqa: F401  (the session fixture)
from tests.slack.slack_fakes import (  # noqa: F401  (fixtures used by name)
    BOT_USER,
    KNOWLEDGE,
    MEMBER,
    OWNER,
    SECRET,
    FakeSlack,
    SlackSender,
    _every_reply_within_limits,
    dm,
    engine,
    everything_at_debug,
    fake,
    fake_slack,
    index_dir,
    mention_event,
    restore_logging,
    serve_wsgi,
    slack_settings,
    socket_mode,
)

REPO = Path(__file__).resolve().parents[1]
ADMIN = "UADMIN01"
TRAINED = "are language models trained on my messages?"
#: declined by the fake model whatever canary is added (checked over 3,000 random canaries)
OFF_TOPIC = "zebra quantum lasagne recipe with extra cheese and basil for dinner tonight"


# --- canaries ------------------------------------------------------------------------------------


class Canaries:
    """One fresh canary per surface: a single lowercase token, so that lower-casing,
    tokenising, JSON, form or URL encoding leave it intact and a leak names its surface."""

    def __init__(self) -> None:
        self.by_surface: dict[str, str] = {}

    def __call__(self, surface: str) -> str:
        assert surface.isalnum(), surface
        token = f"zq{surface.lower()}{secrets.token_hex(6)}"
        self.by_surface[token] = surface
        return token

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.by_surface.items())


# --- where text could land -------------------------------------------------------------------------


def _render(record: logging.LogRecord) -> str:
    """Every part of a record a handler or formatter could print."""
    try:
        message = record.getMessage()
    except Exception:
        message = str(record.msg)
    parts = [record.name, message, str(record.msg), repr(record.args),
             str(record.exc_text), str(record.stack_info)]
    if record.exc_info and record.exc_info[0] is not None:
        parts.append("".join(traceback.format_exception(*record.exc_info)))
    return "\n".join(parts)


class LogSpy:
    """Logging at its worst, and three views of every record."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.created: list[str] = []
        self.handled: list[str] = []
        self.root = everything_at_debug()  # faqbot's configuration, then every logger at DEBUG
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            self.created.append(_render(record))
            return record

        logging.setLogRecordFactory(factory)  # restore_logging puts the old one back
        call_handlers = logging.Logger.callHandlers

        def spy(logger: logging.Logger, record: logging.LogRecord) -> None:
            self.handled.append(_render(record))
            call_handlers(logger, record)

        monkeypatch.setattr(logging.Logger, "callHandlers", spy)

    @staticmethod
    def force_debug() -> None:
        """Every logger known now at DEBUG again (an App() quietens its own logger)."""
        logging.getLogger().setLevel(logging.DEBUG)
        for name in {*QUIET_LOGGERS, *logging.root.manager.loggerDict}:
            logging.getLogger(name).setLevel(logging.DEBUG)

    def places(self) -> Iterator[tuple[str, str]]:
        yield "a log record as created", "\n".join(self.created)
        yield "a log record as handled", "\n".join(self.handled)
        yield "the root log handler", self.root.text()


@dataclass
class Sealed:
    """The folders a leak could write to, all inside tmp_path, and the time the test began."""

    cwd: Path
    home: Path
    xdg_cache: Path
    hf_home: Path
    tmp: Path
    started: float = field(default_factory=time.time)
    extra_roots: list[Path] = field(default_factory=list)

    def roots(self) -> list[Path]:
        return [self.cwd, self.home, self.xdg_cache, self.hf_home, self.tmp, *self.extra_roots]


@pytest.fixture
def sealed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_dir: Path) -> Sealed:
    """HOME, caches and the temp dir pointed into tmp_path (the working directory)."""
    box = Sealed(cwd=tmp_path, home=tmp_path / "home", xdg_cache=tmp_path / "xdg-cache",
                 hf_home=tmp_path / "hf-home", tmp=tmp_path / "tmpdir",
                 extra_roots=[index_dir, KNOWLEDGE])
    for folder in (box.home, box.xdg_cache, box.hf_home, box.tmp):
        folder.mkdir()
    monkeypatch.setenv("HOME", str(box.home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(box.xdg_cache))
    monkeypatch.setenv("HF_HOME", str(box.hf_home))
    for name in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.setenv(name, str(box.tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(box.tmp))
    assert Path.cwd() == tmp_path
    return box


def _repo_files_written_since(started: float) -> Iterator[Path]:
    for folder, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in (".venv", ".git", "node_modules")]
        for name in files:
            path = Path(folder) / name
            with contextlib.suppress(OSError):
                if path.stat().st_mtime >= started - 1:
                    yield path


def _files(box: Sealed) -> Iterator[Path]:
    seen: set[Path] = set()
    for root in box.roots():
        for path in [root] if root.is_file() else root.rglob("*"):
            if path.is_file() and path not in seen:
                seen.add(path)
                yield path
    for path in _repo_files_written_since(box.started):
        if path not in seen:
            yield path


def _excerpt(text: str, needle: str) -> str:
    at = text.find(needle)
    return text[max(0, at - 60): at + len(needle) + 20].replace("\n", "⏎")


@dataclass
class Witness:
    """Everything gathered in one test; ``check`` fails naming the surface and the place.

    ``start()`` turns logging to its worst; call it in the test body (a stream handler made
    during fixture set-up would hold a capture stream that the call phase does not use).
    """

    monkeypatch: pytest.MonkeyPatch
    capfd: pytest.CaptureFixture[str]
    box: Sealed
    logs: LogSpy | None = None
    fake: FakeSlack | None = None
    acks: dict[str, Any] | None = None
    responses: list[bytes] = field(default_factory=list)
    memory: list[Any] = field(default_factory=list)
    network: list[bytes] = field(default_factory=list)
    redis_url: str | None = None  # the shared state's Redis, when the test uses one
    files_checked: int = 0

    def start(self) -> Witness:
        self.logs = LogSpy(self.monkeypatch)
        return self

    def places(self) -> Iterator[tuple[str, str]]:
        assert self.logs is not None, "call witness.start() first"
        yield from self.logs.places()
        out, err = self.capfd.readouterr()
        # keep them for a second check (the mutation tests call check twice)
        self._out = getattr(self, "_out", "") + out
        self._err = getattr(self, "_err", "") + err
        yield "stdout", self._out
        yield "stderr", self._err
        if self.fake is not None:
            for call in list(self.fake.calls):
                yield f"a request to the fake Slack ({call.kind} {call.name})", json.dumps(
                    call.data, ensure_ascii=False)
        if self.acks is not None:
            yield "a Socket Mode ack", json.dumps(self.acks, ensure_ascii=False)
        yield "an HTTP response of the app", b"\n".join(self.responses).decode("utf-8", "replace")
        yield "the bot's memory", "\n".join(_strings_in(self.memory))
        yield "bytes sent over an outgoing socket", b"\n".join(self.network).decode(
            "latin-1")
        if self.redis_url is not None:
            yield "the shared state in Redis", _redis_dump(self.redis_url)

    def check(self, canaries: Canaries) -> None:
        pairs = list(canaries)
        assert pairs, "no canary was sent"
        for where, text in self.places():
            for token, surface in pairs:
                assert token not in text, (f"canary of surface {surface!r} found in {where}: "
                                           f"…{_excerpt(text, token)}…")
        self.files_checked = 0
        for path in _files(self.box):
            self.files_checked += 1
            with contextlib.suppress(OSError):
                data = path.read_bytes()
                for token, surface in pairs:
                    for encoded in (token.encode(), token.encode("utf-16-le")):
                        assert encoded not in data, (
                            f"canary of surface {surface!r} found in the file {path}")


def _redis_dump(url: str) -> str:
    """Every key in Redis and its value, whatever its type."""
    from faqbot.state.shared import connect

    client = connect(url)
    readers = {b"hash": client.hgetall, b"string": client.get, b"set": client.smembers,
               b"list": lambda k: client.lrange(k, 0, -1),
               b"zset": lambda k: client.zrange(k, 0, -1, withscores=True)}
    lines = [repr(key) + " " + repr(readers.get(client.type(key), client.type)(key))
             for key in client.keys("*")]
    assert lines, "nothing in Redis: the test did not use it"
    return "\n".join(lines)


def _strings_in(roots: list[Any], limit: int = 200_000) -> Iterator[str]:
    """Every str reachable from ``roots`` through containers, dataclasses and ``__dict__``."""
    seen: set[int] = set()
    stack = list(roots)
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, type | types.ModuleType | types.FunctionType | types.MethodType):
            continue
        if isinstance(obj, str):
            yield obj
        elif isinstance(obj, bytes):
            yield obj.decode("utf-8", "replace")
        elif isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif dataclasses.is_dataclass(obj) or hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values() if hasattr(obj, "__dict__") else [])
            for slot in getattr(type(obj), "__slots__", ()):
                stack.append(getattr(obj, slot, None))


def bot_state(services: Any) -> list[Any]:
    """What the Slack layer keeps between requests (the engine aside)."""
    asker = services.asker
    answerer = [value for name, value in vars(asker.answerer).items() if name != "engine"]
    return (answerer + [value for name, value in vars(asker).items()
                        if name not in ("answerer", "catalog")]
            + [value for name, value in vars(services).items()
               if name not in ("catalog", "asker")])


# --- the app under test ------------------------------------------------------------------------


class _BrokenEngine:
    """An engine whose failure message carries the question (the worst kind of exception)."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def answer(self, question: str, top_k: int = 3) -> Any:
        raise RuntimeError(f"could not answer {question!r}")


@dataclass
class Served:
    app: Any
    services: Any
    slack: SlackSender
    port: int
    close: Callable[[], None]


@contextlib.contextmanager
def served_app(settings: Any, engine: Any, fake: FakeSlack,
               mutate: Callable[[Any], None] | None = None,
               debug: bool = True) -> Iterator[Served]:
    """create_app behind the WSGI app, on 127.0.0.1; ``mutate`` may plant a leak first.

    ``debug`` puts every logger back to DEBUG after the app is built (use it with a started
    witness only: its fixtures put the levels back afterwards).
    """
    from faqbot.slack.app import build_client, create_app
    from faqbot.slack.runner import SlackWSGI
    from faqbot.slack.services import build_services

    services = build_services(settings, engine)
    app = create_app(settings, engine, build_client(settings), services=services)
    if mutate is not None:
        mutate(app)
    if debug:
        LogSpy.force_debug()
    server, url = serve_wsgi(SlackWSGI(app))

    def close() -> None:
        server.shutdown()
        server.server_close()

    try:
        yield Served(app, services, SlackSender(url, fake), server.server_address[1], close)
    finally:
        close()
        services.close()


def _message_payload(text: str) -> dict[str, Any]:
    """What Slack adds to a click in a message: the message (here, with the canary)."""
    return {"message": {"type": "message", "ts": "1700000000.1", "text": text,
                        "blocks": [{"type": "section", "block_id": "q",
                                    "text": {"type": "mrkdwn", "text": text}}]},
            "state": {"values": {"b": {"a": {"type": "plain_text_input", "value": text}}}}}


def _view_payload(text: str) -> dict[str, Any]:
    """What Slack adds to a click in the App Home: the view (here, with the canary)."""
    return {"view": {"id": "V1", "type": "home", "private_metadata": text,
                     "state": {"values": {"b": {"a": {"type": "plain_text_input",
                                                      "value": text}}}}}}


def drive_http(slack: SlackSender, broken: SlackSender, fake: FakeSlack,
               c: Canaries) -> list[bytes]:
    """Every HTTP surface, each with its own canary; returns the app's HTTP response bodies."""
    responses = []

    def send(response: Any, status: int = 200) -> None:
        assert response.status == status, (response.status, response.body)
        responses.append(response.body)

    # the slash command: answered, declined, opt-out flow, personal data, admin, huge input
    send(slack.command(f"{TRAINED} {c('command')}", key="command"))
    send(slack.command(f"{OFF_TOPIC} {c('declined')}", key="declined"))
    send(slack.command(f"how do I opt out {c('optout')}", key="optout"))
    mail = c("personal")
    send(slack.command(f"I am {mail}@example.org, {TRAINED} {mail}", key="personal"))
    send(slack.command(f"admin {c('adminmember')}", key="adminmember"))
    send(slack.command(f"admin {c('adminadmin')}", user_id=ADMIN, key="adminadmin"))
    send(slack.command(f"{TRAINED} {'blah ' * 3000}{c('huge')}", key="huge"))
    # direct messages, mentions (with personal data: the private ephemeral note)
    send(slack.event(dm(f"{TRAINED} {c('dm')}", channel="Ddm")))
    send(slack.event(dm(f"{TRAINED} {c('dmthread')}", channel="Dthread",
                        thread_ts="1700000000.000050")))
    send(slack.event(mention_event(f"{TRAINED} {c('mention')}", channel="Cmention")))
    send(slack.event(mention_event(f"my card 4111 1111 1111 1111 {c('mentionpd')}",
                                   channel="Cmentionpd")))
    # events that must be ignored or are not ours: an edit, a retry, a bot, an unknown type
    send(slack.event(dm(f"{TRAINED} {c('edit')}", channel="Dedit", subtype="message_changed")))
    retry = c("retry")
    send(slack.event(dm(f"{TRAINED} {retry}", channel="Dretry"), event_id="EvRetry1"))
    send(slack.event(dm(f"{TRAINED} {retry}", channel="Dretry"), event_id="EvRetry1",
                     retry_num=1))
    send(slack.event(dm(f"{TRAINED} {c('otherbot')}", channel="Dbot", bot_id="B2")))
    send(slack.event({"type": "reaction_added", "user": MEMBER, "text": c("unhandled")}), 404)
    # App Home: the tab, then its buttons (no response_url: the answer comes by DM)
    send(slack.event({"type": "app_home_opened", "user": "UHOME1", "tab": "home",
                      "channel": "Dhome", "view": {"private_metadata": c("homeopen")}}))
    home = {"type": "view", "view_id": "V1"}
    send(slack.action("ask_faq", "llm-training", user_id="UHOME2", key=None, container=home,
                      extra=_view_payload(c("homefaq"))))
    send(slack.action("opt_out_guide", "opt-out", user_id="UHOME3", key=None, container=home,
                      extra=_view_payload(c("homeoptout"))))
    send(slack.action("ask_faq", c("homebadvalue"), user_id="UHOME4", key=None,
                      container=home))
    # buttons on an answer: share, helpful, not helpful, with the message and bad values
    value = '{"f":"llm-training","p":[]}'
    send(slack.action("share_answer", value, key="share", extra=_message_payload(c("share"))))
    send(slack.action("share_answer", c("sharebad"), key="sharebad"))
    send(slack.action("feedback_helpful", value, key="helpful",
                      extra=_message_payload(c("helpful"))))
    send(slack.action("feedback_not_helpful", c("nothelpful"), key="nothelpful",
                      extra=_message_payload(c("nothelpfulmsg"))))
    send(slack.action("ask_faq", "llm-training", key="faqbutton",
                      extra=_message_payload(c("faqbutton"))))
    # the message shortcut on a colleague's message, and the coverage gaps the declines made
    send(slack.message_shortcut("ask_faqbot_about_message", f"{TRAINED} {c('shortcut')}",
                                key="shortcut"))
    fake.wait_response("declined")
    send(slack.command(f"admin gaps {c('gaps')}", user_id=ADMIN, key="gaps"))
    # requests that fail Slack's checks: the body of the first is what Bolt logs at INFO
    send(slack.command(f"{TRAINED} {c('badsignature')}", secret="wrong-secret"), 401)
    send(slack.command(f"{TRAINED} {c('stale')}", timestamp=int(time.time()) - 900), 401)
    send(slack.post(json.dumps({"type": "event_callback", "event": dm(c("unsigned"))}),
                    "application/json", headers={"X-Slack-Signature": "v0=00"}), 401)
    send(slack.post('{"type": "event_callback", "event": {"text": "' + c("badjson"),
                    "application/json"), 400)
    # malformed at the edge (faqbot.slack.edge): one log line each, without the body
    send(slack.post(json.dumps({"text": c("badtimestamp")}), "application/json",
                    headers={"X-Slack-Request-Timestamp": "soon"}), 401)
    send(slack.post(json.dumps([c("jsonlist")]), "application/json"), 400)
    send(slack.post("[" * 5000 + json.dumps(c("deepjson")) + "]" * 5000, "application/json"),
         400)
    send(slack.post("payload=" + json.dumps([c("payloadlist")]),
                    "application/x-www-form-urlencoded"), 400)
    # the word "payload" in a command (Bolt's parser misread it); a refused response_url post
    send(slack.command(f"is the message payload trained on {c('payloadword')}",
                       key="payloadword"))
    fake.fail_response("retried", status=503)
    send(slack.command(f"{TRAINED} {c('retried')}", key="retried"))
    # a bot failing inside: the exception message carries the question
    send(broken.command(f"{TRAINED} {c('broken')}", key="broken"))
    send(broken.event(dm(f"{TRAINED} {c('brokendm')}", channel="Dbroken")))
    send(broken.event(mention_event(f"{TRAINED} {c('brokenmention')}", channel="Cbroken")))
    # Slack refusing a post and echoing the question back in its error (once the posts above
    # are out, so the refusal hits this one)
    posted = {"Ddm", "Dthread", "Cmention", "Cmentionpd", "Dretry", "UHOME2", "UHOME3",
              "UHOME4", "Dbroken", "Cbroken"}
    fake.wait_for(lambda call: call.name == "chat.postMessage"
                  and call.data.get("channel") in posted, count=len(posted))
    echo = c("slackerror")
    fake.fail_next("chat.postMessage", body={"ok": False, "error": "invalid_blocks",
                                             "echo": echo})
    send(slack.event(dm(f"{TRAINED} {echo}", channel="Dslackerror")))

    # wait for every answer, so the logs of the work after each ack are in
    for key in ("command", "declined", "optout", "personal", "adminmember", "adminadmin", "huge",
                "share", "sharebad", "helpful", "nothelpful", "faqbutton", "broken", "shortcut",
                "gaps", "payloadword", "retried"):
        fake.wait_response(key)
    fake.wait_for(lambda call: call.name == "chat.postMessage"
                  and call.data.get("channel") == "Dslackerror", count=2)  # refused, then notice
    fake.wait_api("chat.postEphemeral")
    fake.wait_api("views.publish")
    time.sleep(0.3)
    return responses


def check_answers(fake: FakeSlack) -> None:
    """The asker got real answers (so the canary check looked at real answer blocks)."""
    def response(key: str) -> str:
        return json.dumps(fake.wait_response(key)[0].data, ensure_ascii=False)

    assert "Large language models are not trained" in response("command")
    assert "couldn't find this" in response("declined")
    assert "forward to an owner" in response("optout")
    assert "an email address" in response("personal")
    assert NOT_ALLOWED in response("adminmember") and "/privacy admin" in response("adminadmin")
    assert FRIENDLY_ERROR in response("broken") and EXPIRED in response("sharebad")
    dms = {c.data["channel"]: c.data for c in fake.api_calls("chat.postMessage")}
    assert "not trained" in dms["Ddm"]["text"] and "not trained" in dms["Cmention"]["text"]
    assert "Dedit" not in dms and "Dbot" not in dms
    assert len([c for c in fake.api_calls("chat.postMessage")
                if c.data["channel"] == "Dretry"]) == 1


# --- the proofs ------------------------------------------------------------------------------------


@pytest.fixture
def witness(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], sealed: Sealed,
            restore_logging: None) -> Iterator[Witness]:
    known = set(logging.root.manager.loggerDict)
    yield Witness(monkeypatch=monkeypatch, capfd=capfd, box=sealed)
    # restore_logging resets the loggers it knew; those created during the test go back too
    for name in set(logging.root.manager.loggerDict) - known:
        logger = logging.getLogger(name)
        logger.setLevel(logging.NOTSET)


def http_settings(settings: Any) -> Any:
    return settings.model_copy(update={"admin_user_ids": [ADMIN]})


def test_no_canary_leaves_the_answer_on_any_http_surface(slack_settings, engine, fake,
                                                         witness: Witness) -> None:
    witness.start()
    c = Canaries()
    settings = http_settings(slack_settings)
    with served_app(settings, engine, fake) as ok, \
            served_app(settings, _BrokenEngine(engine), fake) as broken:
        witness.responses = drive_http(ok.slack, broken.slack, fake, c)
        witness.memory = bot_state(ok.services) + bot_state(broken.services)
    witness.fake = fake
    check_answers(fake)
    logs = "\n".join(witness.logs.handled)
    assert "question via=command" in logs and "RuntimeError" in logs  # faqbot did log, by id
    assert len(c.by_surface) >= 30
    witness.check(c)
    assert witness.files_checked > 5  # the index, the knowledge folder, ...


def test_no_canary_reaches_redis_from_any_http_surface(slack_settings, engine, fake,
                                                       witness: Witness,
                                                       redis_server: Any) -> None:
    from pydantic import SecretStr

    from faqbot.state.shared import connect

    connect(redis_server.url).flushdb()
    witness.start()
    c = Canaries()
    settings = http_settings(slack_settings).model_copy(
        update={"redis_url": SecretStr(redis_server.url)})
    with served_app(settings, engine, fake) as ok, \
            served_app(settings, _BrokenEngine(engine), fake) as broken:
        witness.responses = drive_http(ok.slack, broken.slack, fake, c)
    witness.fake, witness.redis_url = fake, redis_server.url
    check_answers(fake)
    witness.check(c)  # the counters, event ids and gaps in Redis hold no question text
    connect(redis_server.url).flushdb()


def test_no_oauth_code_or_state_reaches_a_log_line(index_dir, engine, fake, tmp_path,
                                                   witness: Witness) -> None:
    """The install and redirect endpoints (OAuth mode): a good install, a code Slack refuses
    (Bolt's warning names it), a forged state, a cancelled install, then a question from
    the installed workspace. Codes, states and the question reach no log line, stream, file
    or memory; the code goes to Slack (oauth.v2.access) by design, so the fake's record of
    requests is not searched for it, and the states only in logs and streams (a used state
    is deleted from the database, but its bytes may stay in SQLite's free pages)."""
    from tests.slack.oauth_world import WORKSPACES, get, install, oauth_settings, teach
    from tests.slack.oauth_world import command as command_from

    witness.start()
    c = Canaries()
    teach(fake)
    good, refused, forged = c("oauthcode"), c("oauthrefusedcode"), c("oauthforgedstate")
    fake.codes[good] = fake.codes.pop("code-A")
    settings = oauth_settings(index_dir, fake, state_dir=tmp_path / "state")
    with served_app(settings, engine, fake) as served:
        base = f"http://127.0.0.1:{served.port}"
        done, first = install(base, good)
        assert done.status == 200, done
        done, second = install(base, refused)
        assert done.status == 401
        done, third = install(base, good, state=forged)
        assert done.status in (400, 401)
        cancelled, _ = get(f"{base}/slack/oauth_redirect?error=access_denied&state={third}")
        assert cancelled.status == 200
        command_from(served.slack, WORKSPACES["A"], f"{TRAINED} {c('oauthquestion')}")
        assert "not trained" in fake.wait_response("A")[0].data["text"]
        witness.memory = bot_state(served.services)
    assert [call.data["code"] for call in fake.api_calls("oauth.v2.access")] == [good, refused]
    witness.check(c)
    logs = "\n".join(witness.logs.handled)
    assert "oauth.v2.access result with code: [withheld]" in logs  # Bolt's warning, scrubbed
    for where, text in witness.places():
        if where.startswith(("a log record", "the root log", "stdout", "stderr")):
            for state in (first, second, third):
                assert state not in text, f"an OAuth state in {where}"


def _socket_envelopes(fake: FakeSlack, c: Canaries) -> list[dict[str, Any]]:
    auth = [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}]
    slash = {"team_id": "T1", "channel_id": "C1", "user_id": MEMBER, "command": "/privacy",
             "text": f"{TRAINED} {c('socketcommand')}", "api_app_id": "A1",
             "response_url": fake.response_url("socketcommand"), "trigger_id": "1.2.3"}
    def event(name: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"envelope_id": f"env-{name}", "type": "events_api", "retry_attempt": 0,
                "retry_reason": "", "accepts_response_payload": False,
                "payload": {"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                            "event_id": f"Ev{name}{secrets.token_hex(4)}", "event_time": 1,
                            "event": body, "authorizations": auth}}
    click = {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": MEMBER},
             "api_app_id": "A1", "trigger_id": "1.2.3",
             "container": {"type": "message", "is_ephemeral": True},
             "response_url": fake.response_url("socketclick"), "channel": {"id": "C1"},
             "actions": [{"type": "button", "action_id": "feedback_helpful", "block_id": "b",
                          "value": '{"f":"llm-training","p":[]}', "action_ts": "1"}],
             **_message_payload(c("socketclick"))}
    return [
        {"envelope_id": "env-cmd", "type": "slash_commands", "accepts_response_payload": True,
         "payload": slash},
        event("dm", dm(f"{TRAINED} {c('socketdm')}", channel="Dsocket")),
        event("mention", mention_event(f"{TRAINED} {c('socketmention')}", channel="Csocket")),
        event("unhandled", {"type": "reaction_added", "user": MEMBER,
                            "text": c("socketunhandled")}),
        {"envelope_id": "env-click", "type": "interactive", "accepts_response_payload": False,
         "payload": click},
    ]


def drive_socket_mode(socket_mode: Any, fake: FakeSlack, c: Canaries) -> None:
    """Slash command, DM, mention, button and an unhandled event through the WebSocket."""
    envelopes = _socket_envelopes(fake, c)
    for envelope in envelopes:
        socket_mode.push(envelope)
    # frames Slack would never send: not JSON, and binary
    socket_mode.push_raw('{"envelope_id": "env-bad", "payload": {"text": "' + c("socketbadjson"))
    socket_mode.push_raw(f"binary frame {c('socketbinary')}".encode())
    for envelope in envelopes:
        if envelope["envelope_id"] != "env-unhandled":  # Bolt does not ack what it ignores
            socket_mode.wait_ack(envelope["envelope_id"])
    assert "not trained" in fake.wait_response("socketcommand")[0].data["text"]
    fake.wait_response("socketclick")
    fake.wait_for(lambda call: call.name == "chat.postMessage"
                  and call.data.get("channel") in ("Dsocket", "Csocket"), count=2)
    time.sleep(0.3)


def test_no_canary_leaves_the_answer_in_socket_mode(socket_mode, fake, witness: Witness) -> None:
    witness.start()
    c = Canaries()
    LogSpy.force_debug()
    drive_socket_mode(socket_mode, fake, c)
    witness.fake, witness.acks = fake, socket_mode.acks
    witness.check(c)


def test_no_canary_leaves_the_cli(knowledge: Path, monkeypatch: pytest.MonkeyPatch,
                                  witness: Witness) -> None:
    witness.start()
    fake_model = FakeEmbedder()
    monkeypatch.setattr(embedding, "load_embedder", lambda spec: fake_model)
    monkeypatch.setattr(service, "load_embedder", lambda spec: fake_model)
    witness.box.extra_roots.append(knowledge)
    c = Canaries()
    k = ["--knowledge", str(knowledge)]  # the index goes to ./.faqbot/index, in cwd
    assert cli.main(["ask", f"How do I opt out? {c('cli')}", *k]) == 0
    assert cli.main(["ask", f"{OFF_TOPIC} {c('clideclined')}", *k]) == 0
    assert cli.main(["ask", f"{TRAINED} {c('clijson')}", "--json", *k]) == 0
    stdin = f"{TRAINED} {c('clistdin')}\n{OFF_TOPIC} {c('clistdindeclined')}\n"
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(stdin))
    assert cli.main(["ask", "-", "--json", *k]) == 0
    assert (Path.cwd() / ".faqbot" / "index" / "CURRENT").is_file()
    witness.check(c)
    assert any(fake_model.embedded)  # the questions were really asked


# --- personal data in a question -----------------------------------------------------------------

PERSONAL = [("email", "jane.doe@example.org"), ("phone", "+44 20 7946 0958"),
            ("card", "4111 1111 1111 1111"), ("token", "xoxb-123456789012-abcdefghijkl")]


@pytest.mark.parametrize("surface", ["command", "dm", "mention"])
@pytest.mark.parametrize("kind, data", PERSONAL, ids=[k for k, _ in PERSONAL])
def test_personal_data_gets_a_private_note_without_the_data(slack_settings, engine, fake, surface,
                                                            kind, data) -> None:
    question = f"{TRAINED} my details: {data}"
    with served_app(slack_settings, engine, fake, debug=False) as s:
        if surface == "command":
            s.slack.command(question)
            note = fake.wait_response()[0].data
            public: list[dict[str, Any]] = []
        elif surface == "dm":
            s.slack.event(dm(question))
            note = fake.wait_api("chat.postMessage")[0].data
            public = []
        else:
            s.slack.event(mention_event(question))
            note = fake.wait_api("chat.postEphemeral")[0].data
            public = [fake.wait_api("chat.postMessage")[0].data]
            assert note["user"] == MEMBER  # only the asker sees the note
        time.sleep(0.05)
    assert PERSONAL_DATA_KINDS[kind] in json.dumps(note, ensure_ascii=False)
    assert "no need to share personal data" in json.dumps(note)
    if kind == "token":
        assert "consider revoking it" in json.dumps(note)
    for thread_reply in public:  # the answer in the public thread says nothing about it
        assert "personal data" not in json.dumps(thread_reply)
        assert "language models" in thread_reply["text"]
    digits = "".join(ch for ch in data if ch.isdigit())
    for call in fake.calls:
        sent = json.dumps(call.data, ensure_ascii=False)
        assert data not in sent and (len(digits) < 8 or digits not in sent)


# --- the network -----------------------------------------------------------------------------------


class NetworkSpy:
    """Records every address the process connects to or resolves, and what it sends on
    sockets it opened (minus the test's own requests to the app)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.connects: list[Any] = []
        self.lookups: list[Any] = []
        self.sent: list[tuple[Any, bytes]] = []
        self._outgoing: weakref.WeakKeyDictionary[socket.socket, Any] = (
            weakref.WeakKeyDictionary())
        spy = self
        real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
        real_create, real_getaddrinfo = socket.create_connection, socket.getaddrinfo
        real_send, real_sendall = socket.socket.send, socket.socket.sendall

        def connect(sock: socket.socket, address: Any) -> Any:
            spy.connects.append(address)
            spy._outgoing[sock] = address
            return real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> Any:
            spy.connects.append(address)
            spy._outgoing[sock] = address
            return real_connect_ex(sock, address)

        def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
            spy.connects.append(address)
            return real_create(address, *args, **kwargs)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            spy.lookups.append(host)
            return real_getaddrinfo(host, *args, **kwargs)

        def send(sock: socket.socket, data: Any, *args: Any) -> Any:
            spy._record(sock, data)
            return real_send(sock, data, *args)

        def sendall(sock: socket.socket, data: Any, *args: Any) -> Any:
            spy._record(sock, data)
            return real_sendall(sock, data, *args)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
        monkeypatch.setattr(socket, "create_connection", create_connection)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket.socket, "send", send)
        monkeypatch.setattr(socket.socket, "sendall", sendall)

    def _record(self, sock: socket.socket, data: Any) -> None:
        address = self._outgoing.get(sock)
        if address is not None:
            self.sent.append((address, bytes(data)))

    def ports(self) -> set[tuple[str, int]]:
        return {(a[0], a[1]) for a in self.connects if isinstance(a, tuple)}

    def unexpected(self, allowed_ports: Iterable[int]) -> list[Any]:
        allowed = {("127.0.0.1", p) for p in allowed_ports}
        return sorted(self.ports() - allowed) + sorted(
            {str(h) for h in self.lookups} - {"127.0.0.1", "localhost"})

    def sent_by_app(self, app_ports: Iterable[int]) -> list[bytes]:
        """Bytes sent on connections the process opened, except the test's requests to the
        app itself (those carry the question, as Slack's would)."""
        ports = set(app_ports)
        return [data for address, data in self.sent if address[1] not in ports]


def test_the_app_talks_to_slack_only(slack_settings, engine, fake, socket_mode,
                                     monkeypatch: pytest.MonkeyPatch, witness: Witness) -> None:
    witness.start()
    net = NetworkSpy(monkeypatch)
    c = Canaries()
    settings = http_settings(slack_settings)
    with served_app(settings, engine, fake) as ok, \
            served_app(settings, _BrokenEngine(engine), fake) as broken:
        witness.responses = drive_http(ok.slack, broken.slack, fake, c)
        drive_socket_mode(socket_mode, fake, c)
        app_ports = (ok.port, broken.port)
    assert net.connects, "the spy saw no connection: it is not wired in"
    assert ("127.0.0.1", fake.port) in net.ports()  # the app did call the fake Slack
    unexpected = net.unexpected([fake.port, socket_mode.port, *app_ports])
    assert not unexpected, f"connections or look-ups outside the fake Slack: {unexpected}"
    witness.network = net.sent_by_app(app_ports)
    assert any(b"chat.postMessage" in data for data in witness.network)
    witness.fake, witness.acks = fake, socket_mode.acks
    witness.check(c)


def test_the_cli_opens_no_connection(knowledge: Path, monkeypatch: pytest.MonkeyPatch,
                                     capfd) -> None:
    net = NetworkSpy(monkeypatch)
    fake_model = FakeEmbedder()
    monkeypatch.setattr(service, "load_embedder", lambda spec: fake_model)
    assert cli.main(["ask", "How do I opt out?", "--knowledge", str(knowledge)]) == 0
    assert "feedback@example.com" in capfd.readouterr().out
    assert not net.connects and not net.lookups


# --- mutations: plant a leak, the suite must notice ------------------------------------------------


def _question_of(body: dict[str, Any]) -> str:
    return str(body.get("text") or (body.get("event") or {}).get("text") or "")


def leak_body_at_debug(app: Any) -> None:
    """The bolt docs' habit: a middleware logging the whole body at DEBUG."""
    @app.middleware
    def log_body(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        logging.getLogger("faqbot.slack").debug("body %s", body)
        return next()


def leak_text_at_debug(app: Any) -> None:
    """A faqbot logger logging the question itself."""
    @app.middleware
    def log_text(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        logging.getLogger("faqbot.slack").debug("question: %s", _question_of(body))
        return next()


def leak_text_field(app: Any) -> None:
    """``text=...`` looks scrubbed, but only its first word is."""
    @app.middleware
    def log_field(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        logging.getLogger("faqbot.slack").info("text=%s", _question_of(body))
        return next()


def leak_into_cwd(app: Any) -> None:
    """A 'history' file in the working directory."""
    @app.middleware
    def write(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        with open("questions.log", "a", encoding="utf-8") as f:
            f.write(_question_of(body) + "\n")
        return next()


def leak_into_home_cache(app: Any) -> None:
    """A cache under ~/.cache, through the user's HOME."""
    @app.middleware
    def write(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        cache = Path.home() / ".cache" / "faqbot"
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "recent.json").write_text(json.dumps([_question_of(body)]), "utf-16")
        return next()


def leak_to_stdout(app: Any) -> None:
    """A debugging print left in."""
    @app.middleware
    def show(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        print("got", _question_of(body))
        return next()


def leak_exception_message(app: Any) -> None:
    """``log.warning("failed: %s", exc)`` where the exception message holds the question."""
    @app.middleware
    def fail(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        try:
            raise ValueError(f"cannot parse {_question_of(body)!r}")
        except ValueError as exc:
            logging.getLogger("faqbot.slack").warning("failed: %s", exc)
        return next()


def leak_echo_in_answer(app: Any) -> None:
    """The answer quoting the question back ("You asked: …")."""
    @app.middleware
    def echo(body: dict[str, Any], client: Any, next: Callable[[], Any]) -> Any:
        if body.get("command"):
            client.chat_postMessage(channel=body.get("user_id"), text=f"You asked: {body['text']}")
        return next()


def leak_to_another_host(app: Any) -> None:
    """An 'analytics' call to somewhere that is not Slack (127.0.0.2 stands for it)."""
    @app.middleware
    def beacon(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        with contextlib.suppress(OSError), socket.socket() as s:
            s.settimeout(0.2)
            s.connect_ex(("127.0.0.2", 9))
        return next()


def remove_the_privacy_layer(app: Any) -> None:
    """A change (or a dependency) that undoes faqbot's logging set-up after it ran."""
    from faqbot.privacy import PrivacyFilter

    logging.setLogRecordFactory(logging.LogRecord)
    for logger in [logging.getLogger(), *logging.root.manager.loggerDict.values()]:
        for filterer in [logger, *getattr(logger, "handlers", [])]:
            if isinstance(filterer, logging.Filterer):
                filterer.filters[:] = [f for f in filterer.filters
                                       if not isinstance(f, PrivacyFilter)]


MUTATIONS = {
    leak_text_at_debug: "a log record",
    leak_text_field: "a log record",
    leak_into_cwd: "questions.log",
    leak_into_home_cache: "recent.json",
    leak_to_stdout: "stdout",
    leak_exception_message: "a log record",
    leak_echo_in_answer: "a request to the fake Slack (api chat.postMessage)",
    remove_the_privacy_layer: "a log record as handled",
}


def run_small_scenario(settings: Any, engine: Any, fake: FakeSlack, witness: Witness,
                       mutate: Callable[[Any], None] | None) -> Canaries:
    """One answered /privacy question and one request with a bad signature."""
    c = Canaries()
    with served_app(settings, engine, fake, mutate) as s:
        assert s.slack.command(f"{TRAINED} {c('mutation')}").status == 200
        assert s.slack.command(f"{TRAINED} {c('mutationbadsig')}", secret="wrong").status == 401
        assert "not trained" in fake.wait_response()[0].data["text"]
        time.sleep(0.2)
    witness.fake = fake
    return c


def test_mutation_body_logged_at_debug_is_withheld_by_the_scrubber(slack_settings, engine, fake,
                                                                   witness: Witness) -> None:
    """The issue's mutation: a faqbot logger logging ``body`` at DEBUG. Its record is kept
    (faqbot's own DEBUG) but the dict is withheld, so the canary check passes."""
    witness.start()
    c = run_small_scenario(slack_settings, engine, fake, witness, leak_body_at_debug)
    witness.check(c)
    logged = [line for line in witness.logs.handled if line.startswith("faqbot.slack\nbody ")]
    assert logged and all("{…body withheld…}" in line for line in logged)


@pytest.mark.parametrize("mutation, where", MUTATIONS.items(), ids=[m.__name__ for m in MUTATIONS])
def test_mutation_is_caught(slack_settings, engine, fake, witness: Witness, mutation, where) -> None:
    witness.start()
    c = run_small_scenario(slack_settings, engine, fake, witness, mutation)
    with pytest.raises(AssertionError) as caught:
        witness.check(c)
    message = str(caught.value).splitlines()[0]
    assert "canary of surface 'mutation" in message and where in message, message
    print(f"\n{mutation.__name__}: {message[:300]}")


def test_mutation_call_to_another_host_is_caught(slack_settings, engine, fake,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 witness: Witness) -> None:
    witness.start()
    net = NetworkSpy(monkeypatch)
    run_small_scenario(slack_settings, engine, fake, witness, leak_to_another_host)
    unexpected = net.unexpected([fake.port, *(a[1] for a in net.connects
                                              if a[0] == "127.0.0.1")])
    assert unexpected == [("127.0.0.2", 9)]
