"""The message shortcut over real HTTP: a private, cited answer about a colleague's message,
shared (when asked) in a thread under it, and the message's text kept out of logs."""

from __future__ import annotations

import json
import logging

from faqbot.slack.listeners.shortcuts import CALLBACK_ID
from tests.slack.test_slack_actions import button_value

QUESTION = "Are language models trained on my messages, asked by quokka-shortcut-77?"


def test_the_answer_is_private_and_shares_in_the_messages_thread(slack, fake, caplog):
    with caplog.at_level(logging.DEBUG):
        assert slack.message_shortcut(CALLBACK_ID, QUESTION, key="sc").status == 200
        answer = fake.wait_response("sc")[0].data
    assert answer["response_type"] == "ephemeral"
    assert "Large language models are not trained" in json.dumps(answer)
    assert "quokka-shortcut-77" not in json.dumps(answer)  # the message is not echoed
    assert "quokka-shortcut-77" not in caplog.text  # nor logged
    value = button_value(answer, "share_answer")
    assert json.loads(value)["t"] == "1700000000.000900" and "quokka" not in value
    slack.action("share_answer", value, key="shared")
    shared = fake.wait_response("shared")[0].data
    assert shared["response_type"] == "in_channel"
    assert shared["thread_ts"] == "1700000000.000900"  # under the original message
    assert "quokka-shortcut-77" not in json.dumps(shared)


def test_share_from_a_slash_answer_stays_in_the_channel(slack, fake):
    slack.command("Are language models trained on my messages?", key="q")
    value = button_value(fake.wait_response("q")[0].data, "share_answer")
    assert "t" not in json.loads(value)
    slack.action("share_answer", value, key="shared")
    assert "thread_ts" not in fake.wait_response("shared")[0].data


def test_a_shortcut_on_a_message_without_words_gets_the_no_words_decline(slack, fake):
    slack.message_shortcut(CALLBACK_ID, "🎉🎉", key="sc")
    assert "I need a question in words" in fake.wait_response("sc")[0].data["text"]
