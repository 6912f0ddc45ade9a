"""Channels shared with another organisation: private answers only, no Share button, no
internal documents; a channel faqbot can't look up counts as shared."""

from __future__ import annotations

import json
import time
from unittest.mock import Mock

from slack_sdk import WebClient

from faqbot.models import Answer, FaqEntry, Hit, Passage, SourceRef
from faqbot.slack.listeners.shortcuts import CALLBACK_ID
from faqbot.slack.shared_channels import SHARED_NOTE, SharedChannels, without_internal
from tests.slack.slack_fakes import MEMBER, mention_event
from tests.slack.test_slack_actions import button_value

TRAINED = "Are language models trained on my messages?"


def passage(pid: str, kind: str, doc: str) -> Passage:
    return Passage(id=pid, doc=doc, title="T", section="S", url=None, date=None, kind=kind,
                   text="text", start=0, end=4)


def test_a_mention_in_a_shared_channel_is_answered_to_the_asker_alone(slack, fake):
    fake.shared.add("C1")
    slack.event(mention_event(TRAINED))
    notes = fake.wait_api("chat.postEphemeral", count=2)
    assert notes[0].data["text"] == SHARED_NOTE and notes[0].data["user"] == MEMBER
    assert "language models" in json.dumps(notes[1].data).lower()
    time.sleep(0.1)
    assert not fake.api_calls("chat.postMessage")  # nothing public in a shared channel


def test_a_mention_elsewhere_is_answered_in_the_thread(slack, fake):
    slack.event(mention_event(TRAINED))
    assert fake.wait_api("chat.postMessage")[0].data["thread_ts"] == "1700000000.000200"
    assert not fake.api_calls("chat.postEphemeral")


def test_slash_answers_in_a_shared_channel_have_no_share_button(slack, fake):
    fake.shared.add("C1")
    slack.command(TRAINED, key="q")
    data = fake.wait_response("q")[0].data
    assert data["response_type"] == "ephemeral" and "share_answer" not in json.dumps(data)
    assert "Large language models are not trained" in json.dumps(data)  # still answered


def test_the_payloads_own_flag_decides_and_a_crafted_share_is_refused(slack, fake):
    slack.command(TRAINED, key="q")
    value = button_value(fake.wait_response("q")[0].data, "share_answer")
    slack.action("share_answer", value, key="s", extra={"is_ext_shared_channel": True})
    refused = fake.wait_response("s")[0].data
    assert refused["response_type"] == "ephemeral" and "shared with another" in refused["text"]


def test_a_shortcut_in_a_shared_channel_offers_no_share(slack, fake):
    fake.shared.add("C1")
    slack.message_shortcut(CALLBACK_ID, TRAINED, key="sc")
    assert "share_answer" not in json.dumps(fake.wait_response("sc")[0].data)


def test_when_faqbot_cannot_tell_the_channel_counts_as_shared() -> None:
    client = Mock(spec=WebClient)
    client.conversations_info.side_effect = RuntimeError("channel_not_found")
    channels = SharedChannels()
    assert channels.is_shared(client, "G123") is True  # a private channel it can't read
    assert channels.is_shared(client, None) is True
    assert channels.is_shared(client, "D123") is False  # the asker's DM with the bot
    assert channels.is_shared(client, "C1", hint="false") is False
    client.conversations_info.side_effect = None
    client.conversations_info.return_value = {"channel": {"id": "C9", "is_ext_shared": False}}
    assert channels.is_shared(client, "C9") is False
    assert channels.is_shared(client, "C9") is False
    assert client.conversations_info.call_count == 2  # the known answer is cached


def test_internal_documents_are_never_quoted_in_a_shared_channel() -> None:
    internal = passage("p1", "internal", "hr/policy.md")
    public = passage("p2", "policy", "policy.md")
    faq = FaqEntry(id="hr-rule", question="What does HR say?", answer="Internal answer.",
                   sources=(SourceRef(doc="hr/policy.md", section="S"),))
    answer = Answer(answered=True, confidence=0.9, faq=faq,
                    hits=(Hit(passage=internal, score=1.0), Hit(passage=public, score=0.9)))
    safe = without_internal(answer, frozenset({"hr/policy.md"}))
    assert safe.answered and safe.faq is None and [h.passage.id for h in safe.hits] == ["p2"]
    only_internal = Answer(answered=True, confidence=0.9, hits=(Hit(passage=internal,
                                                                    score=1.0),))
    declined = without_internal(only_internal, frozenset({"hr/policy.md"}))
    assert not declined.answered and declined.hits == ()
