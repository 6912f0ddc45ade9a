"""Direct messages, mentions, App Home, retries, rate limits and Slack failures over HTTP."""

from __future__ import annotations

import json
import logging
import time

import pytest

from faqbot.slack.blocks import FRIENDLY_ERROR
from tests.slack.slack_fakes import BOT_USER, MEMBER, OWNER, dm, mention_event


def posts(fake, count: int = 1, timeout: float = 5.0):
    return [c.data for c in fake.wait_api("chat.postMessage", count, timeout)]


def settle(seconds: float = 0.15) -> None:
    """Give listeners time to (wrongly) answer before asserting that they did not."""
    time.sleep(seconds)


def test_dm_question_is_answered_in_the_dm(slack, fake):
    assert slack.event(dm("Are language models trained on my messages?")).status == 200
    data = posts(fake)[0]
    assert data["channel"] == "D1"
    assert "not trained on customer messages" in data["text"]
    actions = [e["action_id"] for b in data["blocks"] if b["type"] == "actions"
               for e in b["elements"]]
    assert actions == ["feedback_helpful", "feedback_not_helpful"]  # no share in a DM


def test_dm_in_a_thread_is_answered_in_that_thread(slack, fake):
    slack.event(dm("Are language models trained on my messages?", thread_ts="1699.0001"))
    assert posts(fake)[0]["thread_ts"] == "1699.0001"


def test_dm_opt_out_as_owner_gets_the_ready_email(slack, fake):
    slack.event(dm("how do I opt out?", user=OWNER))
    body = json.dumps(posts(fake)[0], ensure_ascii=False)
    assert fake.api_calls("users.info")[0].data["user"] == OWNER
    assert "You're an owner" in body and "mailto:feedback@example.com?subject=" in body
    assert "https://acme-co.slack.com/" in body


def test_dm_opt_out_as_member_gets_a_message_to_forward(slack, fake):
    slack.event(dm("Can we optout of this?", user=MEMBER))
    body = json.dumps(posts(fake)[0], ensure_ascii=False)
    assert "forward to an owner" in body and "mailto:" not in body
    assert "What happens next" in body


@pytest.mark.parametrize("event", [
    dm("hello from a bot", bot_id="B999"),
    dm("edited", subtype="message_changed"),
    {"type": "message", "subtype": "message_deleted", "channel": "D1", "channel_type": "im",
     "ts": "1.2", "deleted_ts": "1.1"},
    dm("my own echo", user=BOT_USER),
    dm("a channel message", channel_type="channel"),
    dm("joined", subtype="channel_join"),
    dm("", bot_profile={"id": "B1"}),
], ids=["bot", "edit", "delete", "self", "channel", "join", "bot-profile"])
def test_ignored_messages_get_200_and_no_answer(slack, fake, event):
    response = slack.event(event)
    assert response.status == 200  # never 404: Slack would retry
    settle()
    assert not fake.replies()


def test_mention_is_answered_in_a_new_thread(slack, fake):
    slack.event(mention_event("are language models trained on my messages?"))
    data = posts(fake)[0]
    assert data["channel"] == "C1" and data["thread_ts"] == "1700000000.000200"
    assert "not trained on customer messages" in data["text"]


def test_mention_inside_a_thread_stays_in_that_thread(slack, fake):
    slack.event(mention_event("are language models trained on my messages?",
                              thread_ts="1600000000.000001"))
    assert posts(fake)[0]["thread_ts"] == "1600000000.000001"


def test_bare_mention_gets_help_in_thread(slack, fake):
    slack.event(mention_event(""))
    data = posts(fake)[0]
    assert "/privacy" in data["text"] and data["thread_ts"] == "1700000000.000200"


def test_mention_with_personal_data_gets_a_private_note(slack, fake):
    slack.event(mention_event("call me on +44 20 7946 0958, are language models trained on "
                              "my messages?"))
    thread = posts(fake)[0]
    note = fake.wait_api("chat.postEphemeral")[0].data
    assert note["user"] == MEMBER and note["channel"] == "C1"
    assert "a phone number" in note["text"] and "7946" not in json.dumps(note)
    assert "personal data" not in json.dumps(thread)  # the public reply has no note
    assert "7946" not in json.dumps(thread)


def test_dm_with_personal_data_notes_it_inline(slack, fake):
    slack.event(dm("my card 4111 1111 1111 1111 was charged, are language models trained on "
                   "my messages?"))
    body = json.dumps(posts(fake)[0], ensure_ascii=False)
    assert "a payment card number" in body and "4111" not in body


def test_a_retried_event_is_answered_once(slack, fake):
    event = dm("Are language models trained on my messages?")
    assert slack.event(event, event_id="EvSAME1").status == 200
    assert slack.event(event, event_id="EvSAME1", retry_num=1).status == 200
    assert slack.event(event, event_id="EvSAME1", retry_num=2).status == 200
    posts(fake)
    settle(0.3)
    assert len(fake.api_calls("chat.postMessage")) == 1


def test_first_delivery_with_retry_num_zero_is_answered(slack, fake):
    # Socket Mode sends retry_attempt=0 on the first delivery: Bolt turns it into this header.
    slack.event(dm("Are language models trained on my messages?"), retry_num=0)
    assert posts(fake)


def test_a_retry_of_an_unseen_event_is_answered(slack, fake):
    slack.event(dm("Are language models trained on my messages?"), event_id="EvNEW", retry_num=1)
    assert posts(fake)


def test_rate_limited_post_is_retried_after_retry_after(slack, fake):
    fake.fail_next("chat.postMessage", status=429, headers={"Retry-After": "1"},
                   body={"ok": False, "error": "ratelimited"})
    slack.event(dm("Are language models trained on my messages?"))
    first, second = fake.wait_api("chat.postMessage", 2, timeout=6)
    assert second.at - first.at >= 0.9
    assert "not trained" in second.data["text"]


@pytest.mark.parametrize("event", [dm("Are language models trained on my messages?"),
                                   mention_event("are language models trained on my messages?")],
                         ids=["dm", "mention"])
def test_slack_api_failure_gives_the_friendly_sentence(slack, fake, event):
    fake.fail_next("chat.postMessage", body={"ok": False, "error": "internal_error"})
    slack.event(event)
    failed, notice = posts(fake, 2)
    assert notice["text"] == FRIENDLY_ERROR
    assert notice.get("thread_ts") == failed.get("thread_ts")
    assert "internal_error" not in json.dumps(notice)


def test_home_tab_publishes_a_per_user_view(slack, fake):
    slack.event({"type": "app_home_opened", "user": MEMBER, "channel": "D1", "tab": "home"})
    call = fake.wait_api("views.publish")[0].data
    assert call["user_id"] == MEMBER
    view = json.loads(call["view"]) if isinstance(call["view"], str) else call["view"]
    body = json.dumps(view, ensure_ascii=False)
    assert view["type"] == "home" and f"<@{MEMBER}>" in body
    assert "Can I opt out of data usage?" in body  # common questions as buttons
    assert "feedback@example.com" in body and "opt_out_guide" in body  # opt-out steps
    assert "Sample Privacy Principles" in body and "2024-05-17" in body  # documents, dates


def test_messages_tab_opened_publishes_nothing(slack, fake):
    assert slack.event({"type": "app_home_opened", "user": MEMBER, "tab": "messages"}).status == 200
    settle()
    assert not fake.api_calls("views.publish")


def test_home_publish_failure_is_only_logged(slack, fake, caplog):
    fake.fail_next("views.publish", body={"ok": False, "error": "not_enabled"})
    with caplog.at_level(logging.WARNING, "faqbot.slack"):
        assert slack.event({"type": "app_home_opened", "user": MEMBER,
                            "tab": "home"}).status == 200
        fake.wait_api("views.publish")
        deadline = time.monotonic() + 5
        while "views.publish failed" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
    assert "views.publish failed: SlackApiError" in caplog.text
    assert "slack_error=not_enabled" in caplog.text
    assert not fake.api_calls("chat.postMessage")  # nothing is sent to the user


def test_url_verification_challenge(slack):
    response = slack.post(json.dumps({"type": "url_verification", "challenge": "c-123",
                                      "token": "x"}), "application/json")
    assert response.status == 200 and b"c-123" in response.body
