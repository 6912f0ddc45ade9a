"""Coverage gaps: declines and Not helpful clicks counted by nearest FAQ entry or section per
week, shown to admins (`/privacy admin gaps`, App Home), never holding what was asked."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from faqbot.models import Answer, FaqEntry, Hit, Passage, SourceRef
from faqbot.settings import Settings
from faqbot.slack.counters import Gaps, iso_week
from tests.slack.slack_fakes import MEMBER, make_settings
from tests.slack.test_slack_actions import button_value

ADMIN = "UGAPADMIN"
CANARY = "zebra-canary-gap-4417"


@pytest.fixture
def slack_settings(index_dir, fake) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings(index_dir, fake.api_url, admin_user_ids=[ADMIN])


def test_declines_and_not_helpful_clicks_show_in_admin_gaps(slack, fake):
    for n in range(2):
        slack.command(f"what does the quokka {CANARY} policy say about lunch {n}", key=f"d{n}")
        fake.wait_response(f"d{n}")
    slack.command("Are language models trained on my messages?", key="a")
    value = button_value(fake.wait_response("a")[0].data, "feedback_not_helpful")
    slack.action("feedback_not_helpful", value, key="fb")
    fake.wait_response("fb")
    slack.command("admin gaps", user_id=ADMIN, key="g")
    report = json.dumps(fake.wait_response("g")[0].data, ensure_ascii=False)
    week = iso_week(dt.datetime.now(dt.UTC))
    assert week in report and "Not helpful · FAQ `llm-training`" in report
    assert re.search(r"W\d\d · [12] declined · (FAQ|section) `", report), report
    assert CANARY not in report and "quokka" not in report  # ids and counts only


def test_members_cannot_see_gaps(slack, fake):
    slack.command("admin gaps", user_id=MEMBER, key="g")
    assert "Coverage gaps" not in json.dumps(fake.wait_response("g")[0].data)


def test_app_home_shows_gaps_to_admins_only(slack, fake):
    slack.event({"type": "app_home_opened", "user": ADMIN, "channel": "D1", "tab": "home"})
    admin_view = json.dumps(fake.wait_api("views.publish")[0].data)
    assert "Coverage gaps" in admin_view
    slack.event({"type": "app_home_opened", "user": MEMBER, "channel": "D2", "tab": "home"})
    member_view = json.dumps(fake.wait_api("views.publish", count=2)[1].data)
    assert "Coverage gaps" not in member_view


def _answer(**kw) -> Answer:  # type: ignore[no-untyped-def]
    return Answer(answered=False, confidence=0.1, **kw)


def test_gaps_keys_weeks_and_what_is_not_counted() -> None:
    now = [dt.datetime(2026, 12, 1, tzinfo=dt.UTC)]
    gaps = Gaps(clock=lambda: now[0])
    faq = FaqEntry(id="opt-out", question="Can I opt out?", answer="a",
                   sources=(SourceRef(doc="d.md", section="s"),))
    passage = Passage(id="p1", doc="terms.md", title="Terms", section="10.4 Content", url=None,
                      date=None, kind="policy", text="t", start=0, end=1)
    gaps.record_decline(_answer(related=(faq,)))
    gaps.record_decline(_answer(reason="not_covered", hits=(Hit(passage=passage, score=1.0),)))
    gaps.record_decline(_answer(reason="action", related=(faq,)))  # not a gap in the documents
    gaps.record_decline(_answer(reason="other_subject", related=(faq,)))
    gaps.record_decline(Answer(answered=True, confidence=0.9, faq=faq))  # answered
    gaps.record_not_helpful(None, ["p9"])
    now[0] += dt.timedelta(weeks=1)
    gaps.record_decline(_answer(related=(faq,)))
    rows = gaps.top()
    assert ("2026-W49", "declined", "faq:opt-out", 1) in rows
    assert ("2026-W50", "declined", "faq:opt-out", 1) in rows
    assert ("2026-W49", "declined", "section:terms.md › 10.4 Content", 1) in rows
    assert ("2026-W49", "not_helpful", "passage:p9", 1) in rows
    assert len(rows) == 4
    now[0] += dt.timedelta(weeks=8)
    assert gaps.top() == []  # only the last four weeks are shown
