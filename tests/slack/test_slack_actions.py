"""Buttons: share in channel, helpful / not helpful, FAQ questions, the opt-out guide."""

from __future__ import annotations

import json

import pytest

from faqbot.slack.blocks import EXPIRED, THANKS
from tests.slack.slack_fakes import MEMBER, OWNER


def button_value(data: dict, action_id: str) -> str:
    return next(e["value"] for b in data["blocks"] if b["type"] == "actions"
                for e in b["elements"] if e["action_id"] == action_id)


@pytest.fixture
def answered(slack, fake) -> dict:
    """An ephemeral answer to a /privacy question, as the user sees it."""
    slack.command("Are language models trained on my messages, asked by quokka-99?", key="q")
    return fake.wait_response("q")[0].data


def test_share_posts_the_answer_in_channel_without_the_question(slack, fake, answered):
    value = button_value(answered, "share_answer")
    assert "quokka" not in value and json.loads(value)["f"] == "llm-training"
    assert slack.action("share_answer", value, key="share").status == 200
    shared = fake.wait_response("share")[0].data
    assert shared["response_type"] == "in_channel" and shared["replace_original"] is False
    body = json.dumps(shared, ensure_ascii=False)
    assert "quokka" not in body
    assert f"<@{MEMBER}> shared this answer" in body
    assert "Large language models are not trained" in body
    assert "> The company does not train large language models" in body
    assert "share_answer" not in body and "Confidence" not in body


@pytest.mark.parametrize("value", ['{"f":"gone-faq","p":["0000000000000000"]}', "not json",
                                   '{"f":"<script>","p":[]}', "", '{"p":"x"}'])
def test_share_of_a_stale_or_foreign_value_says_expired(slack, fake, value):
    slack.action("share_answer", value, key="stale")
    data = fake.wait_response("stale")[0].data
    assert data["text"] == EXPIRED and data["response_type"] == "ephemeral"


@pytest.mark.parametrize("action_id, verdict", [("feedback_helpful", "helpful"),
                                                ("feedback_not_helpful", "not_helpful")])
def test_feedback_is_counted_per_id(slack, fake, services, answered, action_id, verdict):
    value = button_value(answered, action_id)
    slack.action(action_id, value, key="fb")
    assert fake.wait_response("fb")[0].data["text"] == THANKS
    slack.action(action_id, value, key="fb")
    fake.wait_response("fb", 2)
    counts = services.feedback.counts()
    assert counts["faq:llm-training"] == {verdict: 2}
    for passage_id in json.loads(value)["p"]:
        assert counts[f"passage:{passage_id}"] == {verdict: 2}
    assert all(set(c) == {verdict} for c in counts.values())  # counts only, no users


def test_faq_button_in_a_message_answers_privately(slack, fake):
    slack.action("ask_faq", "llm-training", key="faq")
    data = fake.wait_response("faq")[0].data
    assert data["response_type"] == "ephemeral" and data["replace_original"] is False
    assert "not trained on customer messages" in data["text"]


def test_faq_button_in_app_home_answers_in_a_dm(slack, fake):
    slack.action("ask_faq", "can-i-opt-out", key=None, container={"type": "view",
                                                                  "view_id": "V1"})
    data = fake.wait_api("chat.postMessage")[0].data
    assert data["channel"] == MEMBER
    assert "Only owners can opt out" in data["text"]


def test_unknown_faq_button_says_expired(slack, fake):
    slack.action("ask_faq", "no-such-question", key="faq")
    assert fake.wait_response("faq")[0].data["text"] == EXPIRED


def test_opt_out_button_in_app_home_sends_the_flow_by_dm(slack, fake):
    slack.action("opt_out_guide", "opt-out", user_id=OWNER, key=None,
                 container={"type": "view", "view_id": "V1"})
    data = fake.wait_api("chat.postMessage")[0].data
    assert data["channel"] == OWNER
    assert "mailto:feedback@example.com" in json.dumps(data)


def test_opt_out_button_in_a_message_answers_privately(slack, fake):
    slack.action("opt_out_guide", "opt-out", user_id=MEMBER, key="oo")
    data = fake.wait_response("oo")[0].data
    assert data["response_type"] == "ephemeral"
    assert "forward to an owner" in json.dumps(data)


def test_button_failure_gives_the_friendly_sentence(slack, fake, services):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    services.asker.answer_faq = broken
    slack.action("ask_faq", "llm-training", key="err")
    data = fake.wait_response("err")[0].data
    assert "something went wrong" in data["text"] and "boom" not in json.dumps(data)
