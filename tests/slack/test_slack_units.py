"""Small pure pieces of the Slack layer: parsing, intent, roles, de-duplication, modes."""

from __future__ import annotations

import pytest

from faqbot.errors import ConfigError
from faqbot.slack.asking import clean_question, wants_opt_out
from faqbot.slack.counters import Feedback
from faqbot.slack.dedupe import EventDeduper, retry_number
from faqbot.slack.directory import role_of
from faqbot.slack.listeners.commands import subcommand
from faqbot.slack.runner import choose_mode, gunicorn_options
from tests.slack.slack_fakes import KNOWLEDGE, make_settings


@pytest.mark.parametrize("text, kind", [
    ("", "help"), ("  ", "help"), ("help", "help"), ("Help?", "help"),
    ("about", "about"), ("ABOUT", "about"),
    ("opt-out", "opt-out"), ("optout", "opt-out"), ("opt out", "opt-out"), ("opt-out?", "opt-out"),
    ("help me understand retention", "question"), ("about retention", "question"),
    ("can I opt out?", "question"),
])
def test_subcommand(text, kind):
    assert subcommand(text) == kind


@pytest.mark.parametrize("text, wanted", [
    ("How do I opt out?", True), ("can we opt-out", True), ("I want to optout", True),
    ("opt out", True), ("Opt-Out!", True), ("steps to opt out please", True),
    ("Does opting out delete my messages?", False), ("What is an opt-out?", False),
    ("How are models trained?", False), ("", False),
])
def test_wants_opt_out(text, wanted):
    assert wants_opt_out(text) is wanted


@pytest.mark.parametrize("raw, clean", [
    ("<@U123ABC> are models trained?", "are models trained?"),
    ("<@U1|bob> hi <!here> <#C1|general>", "hi"),
    ("a\x00b\tc\nd\u200be", "a b c d e"),
    ("   ", ""),
])
def test_clean_question(raw, clean):
    assert clean_question(raw) == clean


def test_clean_question_cuts_huge_input():
    assert len(clean_question("word " * 10_000)) == 2_000


@pytest.mark.parametrize("user, role", [
    ({"is_owner": True}, "owner"), ({"is_primary_owner": True}, "owner"),
    ({"is_org_owner": True}, "owner"), ({"enterprise_user": {"is_owner": True}}, "owner"),
    ({"is_admin": True}, "member"), ({}, "member"),
])
def test_role_of(user, role):
    assert role_of(user) == role


def test_deduper_expires_and_is_bounded():
    now = [0.0]
    deduper = EventDeduper(ttl=60, max_ids=3, clock=lambda: now[0])
    assert deduper.first_time("Ev1") and not deduper.first_time("Ev1")
    now[0] = 61
    assert deduper.first_time("Ev1")  # expired, so a new delivery (a restart-like case)
    for n in range(2, 6):
        deduper.first_time(f"Ev{n}")
    assert len(deduper) == 3


@pytest.mark.parametrize("header, number", [(None, 0), ("0", 0), ("1", 1), (" 3 ", 3),
                                            ("x", 0), ("-2", 0)])
def test_retry_number_is_compared_as_a_number(header, number):
    assert retry_number(header) == number


def test_feedback_counts_only():
    feedback = Feedback()
    feedback.record("helpful", "faq-a", ["p1"])
    feedback.record("not_helpful", None, ["p1"])
    assert feedback.counts() == {"faq:faq-a": {"helpful": 1},
                                 "passage:p1": {"helpful": 1, "not_helpful": 1}}


@pytest.mark.parametrize("overrides, mode", [
    ({}, "http"),
    ({"slack_app_token": "xapp-1-A-1-x"}, "socket"),
])
def test_choose_mode(tmp_path, overrides, mode):
    assert choose_mode(make_settings(tmp_path, "http://x/", **overrides)) == mode


@pytest.mark.parametrize("overrides, message", [
    ({"slack_bot_token": "xoxp-user-token"}, "bot token"),
    ({"slack_app_token": "xoxb-wrong"}, "app-level token"),
    ({"slack_signing_secret": ""}, "SLACK_SIGNING_SECRET"),
])
def test_choose_mode_errors(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        choose_mode(make_settings(tmp_path, "http://x/", **overrides))


def test_gunicorn_options(tmp_path):
    options = gunicorn_options(make_settings(tmp_path, "http://x/", port=3999))
    assert options["workers"] == 1 and options["worker_class"].endswith("BufferingThreadWorker")
    assert options["bind"] == "0.0.0.0:3999" and options["threads"] == 32
    assert options["accesslog"] is None and options["preload_app"] is False


def test_knowledge_fixture_exists():
    assert (KNOWLEDGE / "faq.yml").exists()
