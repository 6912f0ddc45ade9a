"""The privacy promise in logs: canary questions never reach a log record, stdout or stderr;
tokens are scrubbed; personal data is detected by kind only."""

# The Slack fakes' fixtures are imported by name below and then used as test arguments.
# ruff: noqa: F811

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time

import pytest

from faqbot.personal_data import PERSONAL_DATA_KINDS, find_personal_data, iban_ok, luhn_ok
from faqbot.privacy import (
    WITHHELD,
    PrivacyFilter,
    configure_logging,
    describe_exception,
    question_hash,
    scrub,
)
from tests.slack.slack_fakes import (  # noqa: F401  (fixtures used by name)
    BOT_TOKEN,
    MEMBER,
    SECRET,
    SlackSender,
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
)

CANARY = "quasar-canary-5521"


class _BrokenEngine:
    """An engine whose failure message carries the question (the worst kind of exception)."""

    def __init__(self, engine) -> None:
        self._engine = engine

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def answer(self, question, top_k=3):
        raise RuntimeError(f"could not answer {question!r}")


def _serve(settings, engine, fake):
    from faqbot.slack.app import build_client, create_app
    from faqbot.slack.runner import SlackWSGI

    app = create_app(settings, engine, build_client(settings))
    server, url = serve_wsgi(SlackWSGI(app))
    return server, SlackSender(url, fake)


def test_canary_questions_never_reach_logs_or_output(slack_settings, engine, fake, capfd,
                                                     restore_logging):
    capture = everything_at_debug()
    server, slack = _serve(slack_settings, engine, fake)
    broken_server, broken = _serve(slack_settings, _BrokenEngine(engine), fake)
    question = f"are language models trained on my messages? {CANARY} jane@example.org"
    try:
        slack.command(question, key="c1")
        slack.event(dm(question))
        slack.event(mention_event(question))
        assert slack.command(question, secret="wrong").status == 401  # RequestVerification
        assert slack.command(question, timestamp=int(time.time()) - 900).status == 401
        broken.command(question, key="c2")
        broken.event(dm(question))
        fake.wait_api("chat.postMessage", 3)  # DM, mention, the broken DM's friendly notice
        fake.fail_next("chat.postMessage", body={"ok": False, "error": "invalid_blocks",
                                                 "echo": question})
        slack.event(dm(question, channel="D2"))
        fake.wait_response("c1")
        fake.wait_response("c2")
        fake.wait_api("chat.postMessage", 5)
        fake.wait_api("chat.postEphemeral")
        time.sleep(0.2)
    finally:
        for s in (server, broken_server):
            s.shutdown()
            s.server_close()
    logs = capture.text()
    out, err = capfd.readouterr()
    assert "question via=command" in logs  # faqbot did log, at DEBUG, by hash
    assert "RuntimeError" in logs and "invalid_blocks" in logs  # failures by class and code
    assert "q=-" not in logs  # even a failed question is identified by its hash
    for where in (logs, out, err):
        assert CANARY not in where
        assert "jane@example.org" not in where
        assert BOT_TOKEN not in where and SECRET not in where
    # and nothing posted to a channel echoes the question
    assert all(CANARY not in json.dumps(c.data) for c in fake.replies()
               if c.name != "chat.postMessage" or c.data.get("channel") != "D2")


def test_library_debug_is_withheld_even_at_debug(restore_logging):
    capture = everything_at_debug()
    logging.getLogger("slack_sdk.web.base_client").debug("Sending a request - body: %s",
                                                         {"text": CANARY})
    logging.getLogger("slack_bolt.RequestVerification").info("body: text=%s", CANARY)
    logging.getLogger("websockets.client").debug("< TEXT %s", CANARY)
    logging.getLogger("some.other.library").debug("query %s", CANARY)
    logging.getLogger("faqbot.slack").debug("own debug line")
    text = capture.text()
    assert CANARY not in text
    library = [line for line in capture.lines if not line.startswith("faqbot.")]
    # withheld at creation, or dropped at the logger by a filter Bolt copied from ours
    assert all(WITHHELD in line for line in library) and len(library) >= 3
    assert "own debug line" in text


def test_warnings_from_slack_libraries_are_kept_but_scrubbed(restore_logging):
    capture = everything_at_debug()
    body = {"type": "event_callback", "event": {"text": CANARY}}
    logging.getLogger("slack_bolt.App").warning(f"Unhandled request ({body})")
    logging.getLogger("slack_sdk").warning("token %s failed", BOT_TOKEN)
    text = capture.text()
    assert "Unhandled request" in text and CANARY not in text
    assert "xoxb-[redacted]" in text and BOT_TOKEN not in text


def test_labelled_payloads_in_library_warnings_are_withheld(restore_logging):
    capture = everything_at_debug()
    logging.getLogger("slack_sdk.socket_mode.builtin.client").warning(
        "Received an unsupported data frame (session id: s1, opcode: binary, payload: %s)",
        f"b'{CANARY}'".encode())
    logging.getLogger("faqbot.slack").info("payload: kept in faqbot's own lines")
    text = capture.text()
    assert "opcode: binary, payload: [withheld]" in text and CANARY not in text
    assert "payload: kept in faqbot's own lines" in text


def test_exceptions_keep_frames_but_lose_their_message(restore_logging):
    capture = everything_at_debug()
    try:
        raise ValueError(f"bad question {CANARY}")
    except ValueError:
        logging.getLogger("faqbot.test").exception("failed")
    text = capture.text()
    assert "ValueError (message withheld by faqbot)" in text and "test_privacy.py" in text
    assert CANARY not in text


def test_configure_logging_is_idempotent_and_filters_every_root_handler(restore_logging):
    other = logging.StreamHandler(sys.stderr)
    logging.getLogger().addHandler(other)
    first = configure_logging("INFO")
    second = configure_logging("warning")
    root = logging.getLogger()
    assert first not in root.handlers and second in root.handlers
    assert root.level == logging.WARNING
    assert any(isinstance(f, PrivacyFilter) for f in other.filters)
    assert logging.getLogger("slack_bolt").level == logging.WARNING
    assert logging.getLogger("urllib3").level == logging.WARNING
    configure_logging("nonsense")
    assert root.level == logging.INFO


@pytest.mark.parametrize("message, kept, gone", [
    (f"auth with {BOT_TOKEN} ok", "xoxb-[redacted]", BOT_TOKEN),
    ("app token xapp-1-A0-123-abcdef", "xapp-[redacted]", "abcdef"),
    ("user xoxp-123-456-789-abc and xoxe-1 here", "xoxp-[redacted]", "789-abc"),
    ("Authorization: Bearer abc.def-123", "Bearer [redacted]", "abc.def-123"),
    ('body: {"text": "hello there", "user": "U1"}', "body: {…body withheld…}", "hello there"),
    ("payload=%7B%22text%22%3A%22hi%22%7D", "payload=[withheld]", "%22hi"),
    ("token=x&team_id=T1&text=hello+world&user_id=U1", "[form body withheld]", "hello"),
    ("handled event_id=Ev123 in 12 ms", "event_id=Ev123 in 12 ms", "withheld"),
    # OAuth: Bolt's warnings name the code and the state; refresh tokens are xoxe-
    ("Failed to fetch oauth.v2.access result with code: c0de-99 - error: x",
     "code: [withheld] - error", "c0de-99"),
    ("Failed to find any persistent data for state: 5e7a-11 - boom", "state: [withheld]",
     "5e7a-11"),
    ("GET /slack/oauth_redirect?code=c0de&state=5e7a", "code=[withheld]&state=[withheld]",
     "5e7a"),
    ("refresh with xoxe-1-abcdef", "xoxe-[redacted]", "abcdef"),
    ("upstream status code: 503", "status code: 503", "withheld"),
])
def test_scrub(message, kept, gone):
    out = scrub(message)
    assert kept in out and gone not in out


def test_filter_on_a_record_from_before_configuration():
    record = logging.LogRecord("slack_bolt.RequestVerification", logging.INFO, __file__, 1,
                               "Invalid signature (body: %s)", ("text=" + CANARY,), None)
    assert PrivacyFilter().filter(record) is False
    record = logging.LogRecord("faqbot.slack", logging.WARNING, __file__, 1, "token %s",
                               (BOT_TOKEN,), None)
    assert PrivacyFilter().filter(record) is True
    assert record.getMessage() == "token xoxb-[redacted]"


def test_describe_exception_has_class_and_place_only():
    try:
        {}["x" + CANARY]
    except KeyError as exc:
        described = describe_exception(exc)
    assert described.startswith("KeyError at tests/test_privacy.py:") and CANARY not in described
    assert describe_exception(RuntimeError(CANARY)) == "RuntimeError"


def test_question_hash():
    h = question_hash("Can I opt out?")
    assert re.fullmatch(r"[0-9a-f]{8}", h)
    assert h == question_hash("Can I opt out?")  # stable within a process
    assert question_hash("Can I opt out?", "k1") == question_hash("Can I opt out?", b"k1")
    assert question_hash("Can I opt out?", "k1") != question_hash("Can I opt out?", "k2")
    assert question_hash("Can I opt out?", "k1") != h
    assert question_hash("a", "k") == "a6c15d8e" or len(question_hash("a", "k")) == 8


def test_question_hash_is_threadsafe_and_handles_any_text():
    results = []
    threads = [threading.Thread(target=lambda: results.append(question_hash("\ud800 😀")))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1


@pytest.mark.parametrize("text, kinds", [
    ("write to jane.doe+hr@example.co.uk please", ["email"]),
    ("call +44 20 7946 0958", ["phone"]),
    ("my number is (555) 123-4567", ["phone"]),
    ("ring 555.123.4567 or 5551234567", ["phone"]),
    ("card 4111 1111 1111 1111", ["card"]),
    ("card 4111-1111-1111-1111 exp 12/26", ["card"]),
    ("iban GB82 WEST 1234 5698 7654 32", ["iban"]),
    ("DE89370400440532013000", ["iban"]),
    ("my SSN is 078-05-1120", ["id_number"]),
    ("passport X12345678", ["id_number"]),
    ("employee id 8841203394512", ["id_number"]),
    ("token xoxb-123456789012-abcdefghijkl", ["token"]),
    ("sk-proj-abcdefghijklmnopqrstuvwx1234", ["token"]),
    ("AKIAABCDEFGHIJKLMNOP", ["token"]),
    ("api_key=abcd1234efgh", ["token"]),
    ("bob@example.com +1 415 555 0100 4111111111111111", ["email", "phone", "card"]),
    # not personal data
    ("Does Slack train AI models on my messages?", []),
    ("what changed on 2024-05-17 and 17/05/2024?", []),
    ("between 2023 2024 and 2025", []),
    ("slack_sdk 3.48.0 on 10.0.0.1 or 192.168.100.200", []),
    ("GDPR article 17, top 10 questions, 3 owners", []),
    ("card 4111 1111 1111 1112", ["id_number"]),  # fails Luhn: a long number, not a card
    ("iban GB82 WEST 1234 5698 7654 33", ["id_number"]),  # fails mod 97: just a long number
    ("", []),
    ("😀😀", []),
])
def test_find_personal_data(text, kinds):
    assert find_personal_data(text) == kinds


def test_find_personal_data_returns_kinds_never_text():
    text = "jane@example.org 4111 1111 1111 1111 +44 20 7946 0958 xoxb-1234567890-abcdefgh"
    found = find_personal_data(text)
    assert set(found) <= set(PERSONAL_DATA_KINDS)
    assert all(part not in " ".join(found) for part in text.split())


@pytest.mark.parametrize("digits, ok", [("4111111111111111", True), ("79927398713", True),
                                        ("4111111111111112", False)])
def test_luhn(digits, ok):
    assert luhn_ok(digits) is ok


@pytest.mark.parametrize("iban, ok", [("GB82WEST12345698765432", True),
                                      ("gb82 west 1234 5698 7654 32", True),
                                      ("GB82WEST12345698765433", False), ("XX00", False)])
def test_iban(iban, ok):
    assert iban_ok(iban) is ok


@pytest.mark.parametrize("text", [
    "x" * 50_000, "a=" * 25_000, "api_key=" * 6_000, "[" * 5_000 + "'x'" * 3_000,
    "a@" + "b." * 20_000, "1-" * 25_000, "+1 " * 15_000, "{" * 20_000 + "}" * 20_000,
], ids=["word", "equals", "keys", "brackets", "email", "dashes", "phones", "braces"])
def test_scrub_and_detection_take_linear_time(text):
    started = time.perf_counter()
    scrub(text)
    find_personal_data(text[:10_000])
    assert time.perf_counter() - started < 0.5  # quadratic regexes took 3-16 s here
