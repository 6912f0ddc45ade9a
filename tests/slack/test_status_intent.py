"""Which messages ask for the workspace's own opt-out status; the admin command's parsing;
the status sentences."""

from __future__ import annotations

import datetime as dt

import pytest

from faqbot.models import FaqEntry
from faqbot.slack.blocks.opt_out_status import NOT_RECORDED, long_date, status_sentence
from faqbot.slack.listeners.commands import subcommand
from faqbot.slack.listeners.opt_out_status import parse_admin, parse_day
from faqbot.slack.opt_out_status import recorder_role
from faqbot.slack.status_intent import about_opting_out, asks_status
from faqbot.state.opt_out import OptOutRecord

AT = dt.datetime(2024, 5, 22, 10, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("text", [
    "have we opted out?", "Have we opted out yet", "did our company opt out?",
    "is our workspace excluded from the global models?", "are we opted out",
    "what is our opt-out status", "opt-out status", "Has my company opted out of training?",
    "has this workspace been opted out?",
])
def test_status_questions(text):
    assert asks_status(text)


@pytest.mark.parametrize("text", [
    "How do I opt out?", "Are my DMs used to train models?", "is Slack AI trained on our data?",
    "what did we decide for lunch?", "can members opt out themselves?", "",
])
def test_other_questions(text):
    assert not asks_status(text)


def test_opt_out_faq_entries():
    entry = FaqEntry.model_construct(id="can-i-opt-out", question="Can I opt out?")
    other = FaqEntry.model_construct(id="retention", question="How long are messages kept?")
    assert about_opting_out(entry) and not about_opting_out(other)
    assert not about_opting_out(None)


@pytest.mark.parametrize(("text", "parsed"), [
    ("admin opt-out", ("status", "", False)),
    ("admin opt-out status", ("status", "", False)),
    ("admin optout requested 20 May 2024", ("requested", "20 May 2024", False)),
    ("ADMIN OPT OUT confirmed 2024-05-22", ("confirmed", "2024-05-22", False)),
    ("admin opt-out declined contract", ("declined", "contract", False)),
    ("admin opt-out reset", ("reset", "", False)),
    ("admin opt-out org", ("status", "", True)),
    ("admin opt-out org requested 2024-05-20", ("requested", "2024-05-20", True)),
    ("admin opt-out org sometime", None),
    ("admin opt out of my DMs please?", None),
    ("admin status", None),
    ("have we opted out?", None),
])
def test_parse_admin(text, parsed):
    assert parse_admin(text) == parsed


def test_admin_opt_out_is_its_own_subcommand():
    assert subcommand("admin opt-out requested 20 May 2024") == "admin opt-out"
    assert subcommand("admin status") == "admin"
    assert subcommand("admin opt out of my DMs please?") == "question"


def test_parse_day():
    today = dt.date(2026, 12, 1)
    assert parse_day("2024-05-20", today) == dt.date(2024, 5, 20)
    assert parse_day("20 May 2024", today) == dt.date(2024, 5, 20)
    assert parse_day("May 22, 2024", today) == dt.date(2024, 5, 22)
    for bad in ("someday", "2999-01-01", "1999-01-01", ""):
        assert parse_day(bad, today) is None


def test_recorder_roles():
    assert recorder_role({"is_primary_owner": True, "is_owner": True}, False) == "primary owner"
    assert recorder_role({"is_org_owner": True}, False) == "org owner"
    assert recorder_role({"enterprise_user": {"is_owner": True}}, False) == "org owner"
    assert recorder_role({"is_owner": True}, False) == "workspace owner"
    assert recorder_role({"is_admin": True}, False) is None  # a Slack admin is not enough
    assert recorder_role({"is_admin": True}, True) == "faqbot admin"
    assert recorder_role(None, True) == "faqbot admin"
    assert recorder_role(None, False) is None


def _record(**fields) -> OptOutRecord:
    base = {"workspace": "T1", "status": "requested", "requested_on": dt.date(2024, 5, 20),
            "confirmed_on": None, "declined_reason": None, "recorded_by": "workspace owner",
            "changed_at": AT}
    return OptOutRecord(**{**base, **fields})


def test_the_three_sentences_of_the_issue():
    assert status_sentence(_record(status="confirmed", confirmed_on=dt.date(2024, 5, 22))) == (
        "Your workspace owners requested the opt-out on 20 May 2024, and Slack confirmed it on "
        "22 May 2024.")
    assert status_sentence(_record()) == (
        "Requested on 20 May 2024; Slack has not confirmed it yet.")
    assert status_sentence(None) == NOT_RECORDED == (
        "Nobody has recorded an opt-out for this workspace. An owner can start it with "
        "`/privacy opt-out`.")
    assert "decided not to opt out" in status_sentence(
        _record(status="declined", requested_on=None, declined_reason="later"))
    assert long_date(dt.date(2024, 5, 2)) == "2 May 2024"
