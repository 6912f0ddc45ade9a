"""The agent view over real HTTP: suggested prompts on the Messages tab, a status while a DM
is answered, and the plain DM path where a workspace has no agent view."""

from __future__ import annotations

import time

from faqbot.models import FaqEntry, SourceRef
from faqbot.slack import agent_view
from tests.slack.slack_fakes import MEMBER, dm


def test_messages_tab_offers_the_most_asked_questions_as_prompts(slack, fake):
    slack.event({"type": "app_home_opened", "user": MEMBER, "channel": "D1", "tab": "messages"})
    call = fake.wait_api("assistant.threads.setSuggestedPrompts")[0].data
    assert call["channel_id"] == "D1" and "thread_ts" not in call
    prompts = call["prompts"]
    assert 1 <= len(prompts) <= 4
    assert "Can I opt out of data usage?" in [p["title"] for p in prompts]
    assert not fake.api_calls("views.publish")  # the Messages tab has no view to publish


def test_a_dm_shows_a_status_then_the_answer_in_its_thread(slack, fake):
    slack.event(dm("Are language models trained on my messages?"))
    answer = fake.wait_api("chat.postMessage")[0]
    status = fake.api_calls("assistant.threads.setStatus")
    assert len(status) == 1
    assert status[0].data["thread_ts"] == "1700000000.000100"
    assert status[0].data["status"] == agent_view.STATUS
    assert fake.calls.index(status[0]) < fake.calls.index(answer)  # shown while it works
    assert "language models" in answer.data["text"].lower()


def test_without_the_agent_view_dms_are_answered_and_not_asked_again(slack, fake):
    fake.fail_next("assistant.threads.setStatus", body={"ok": False, "error": "not_allowed"})
    slack.event(dm("Are language models trained on my messages?"), event_id="Ev1")
    fake.wait_api("chat.postMessage")
    slack.event(dm("How do I opt out?", ts="1700000000.000300"), event_id="Ev2")
    fake.wait_api("chat.postMessage", count=2)
    time.sleep(0.1)
    assert len(fake.api_calls("assistant.threads.setStatus")) == 1  # one failed try, no more


def test_prompts_are_cut_to_slacks_limits() -> None:
    long = FaqEntry(id="long", question="Why " + "very " * 30 + "long?", answer="a",
                    sources=(SourceRef(doc="d.md", section="s"),))
    entries = [long] * 6
    prompts = agent_view.prompts_for(entries)
    assert len(prompts) == agent_view.MAX_PROMPTS
    assert all(len(p["title"]) <= agent_view.TITLE_MAX for p in prompts)
    assert prompts[0]["title"].endswith("…")
