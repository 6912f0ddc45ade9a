"""The listener callbacks called directly, as Bolt would, with spec'd mocks for Slack's parts.

The services (fixture ``services``) are the real ones over the session's engine (fake model); only ``ack``,
``respond`` and the Web API client are mocks, spec'd on Bolt's and slack_sdk's classes so a
misspelled call fails. The wiring over real HTTP and Socket Mode is tested elsewhere.
"""

from __future__ import annotations

import json
import logging
import time
from unittest.mock import Mock

import pytest
from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from faqbot.slack.blocks import EXPIRED, FRIENDLY_ERROR, NOT_ALLOWED, THANKS, encode_ref
from faqbot.slack.listeners import actions, commands, events, home
from faqbot.slack.services import CONTEXT_KEY, SlackServices
from tests.slack.slack_fakes import BOT_USER, MEMBER

TRAINED = "Are language models trained on my messages?"


@pytest.fixture
def context(services: SlackServices) -> BoltContext:
    return BoltContext({CONTEXT_KEY: services, "bot_user_id": BOT_USER})


@pytest.fixture
def respond() -> Mock:
    respond = Mock(spec=Respond)
    respond.return_value = Mock(status_code=200)
    return respond


@pytest.fixture
def client() -> Mock:
    return Mock(spec=WebClient)


def settle(services: SlackServices, timeout: float = 5.0) -> None:
    """Wait until the work handed to the answer threads has finished."""
    deadline = time.monotonic() + timeout
    while services.answers.queued and time.monotonic() < deadline:
        time.sleep(0.005)
    assert services.answers.queued == 0


def test_command_acks_then_answers_privately(context, services, respond, client) -> None:
    ack = Mock(spec=Ack)
    commands.privacy_command(ack=ack, command={"user_id": MEMBER, "text": TRAINED},
                             respond=respond, client=client, context=context)
    ack.assert_called_once_with()
    settle(services)
    respond.assert_called_once()
    kwargs = respond.call_args.kwargs
    assert kwargs["response_type"] == "ephemeral" and "not trained" in kwargs["text"]
    assert services.outcomes.counts() == {"answered": 1, "declined": 0}
    client.chat_postMessage.assert_not_called()


@pytest.mark.parametrize("text", ["admin status", "admin reload", "admin"])
def test_admin_command_from_a_non_admin_is_refused(context, services, respond, client,
                                                   text) -> None:
    commands.privacy_command(ack=Mock(spec=Ack), command={"user_id": MEMBER, "text": text},
                             respond=respond, client=client, context=context)
    settle(services)
    assert respond.call_args.kwargs["text"] == NOT_ALLOWED


def test_failing_work_gives_the_friendly_sentence(context, services, respond, client,
                                                  caplog) -> None:
    services.asker.ask = Mock(side_effect=RuntimeError(f"cannot answer {TRAINED!r}"))
    with caplog.at_level(logging.INFO, "faqbot.slack"):
        commands.privacy_command(ack=Mock(spec=Ack), command={"user_id": MEMBER,
                                                               "text": TRAINED},
                                 respond=respond, client=client, context=context)
        settle(services)
    assert respond.call_args.kwargs["text"] == FRIENDLY_ERROR
    assert "command question failed: RuntimeError" in caplog.text
    assert TRAINED not in caplog.text


def test_dm_is_answered_in_the_dm(context, services, client) -> None:
    event = {"type": "message", "channel_type": "im", "channel": "D1", "user": MEMBER,
             "text": TRAINED, "ts": "1.0"}
    events.direct_message(event=event, client=client, context=context)
    settle(services)
    client.chat_postMessage.assert_called_once()
    kwargs = client.chat_postMessage.call_args.kwargs
    assert kwargs["channel"] == "D1" and "not trained" in kwargs["text"]
    assert kwargs["unfurl_links"] is False


@pytest.mark.parametrize("extra", [{"subtype": "message_changed"}, {"bot_id": "B1"},
                                   {"user": BOT_USER}, {"channel_type": "channel"}])
def test_messages_not_from_a_person_in_a_dm_are_ignored(context, services, client,
                                                        extra) -> None:
    event = {"type": "message", "channel_type": "im", "channel": "D1", "user": MEMBER,
             "text": TRAINED, "ts": "1.0", **extra}
    events.direct_message(event=event, client=client, context=context)
    settle(services)
    assert client.method_calls == []
    assert services.outcomes.counts() == {"answered": 0, "declined": 0}


def test_mention_with_personal_data_notes_it_to_the_asker_only(context, services,
                                                              client) -> None:
    event = {"type": "app_mention", "channel": "C1", "user": MEMBER, "ts": "2.0",
             "text": f"<@{BOT_USER}> {TRAINED} I am jane.doe@corpmail.test"}
    events.mention(event=event, body={"is_ext_shared_channel": False}, client=client,
                   context=context)
    settle(services)
    public = client.chat_postMessage.call_args.kwargs
    assert public["channel"] == "C1" and public["thread_ts"] == "2.0"
    assert "jane.doe" not in json.dumps(public)
    private = client.chat_postEphemeral.call_args.kwargs
    assert private["user"] == MEMBER and "email" in private["text"]


def test_feedback_is_counted_and_thanked(context, services, respond, client, engine) -> None:
    answer = engine.answer(TRAINED)
    ack = Mock(spec=Ack)
    actions.feedback_helpful(ack=ack, body={"response_url": "https://hooks/x",
                                            "user": {"id": MEMBER}},
                             action={"value": encode_ref(answer)}, respond=respond,
                             client=client, context=context)
    ack.assert_called_once_with()
    assert respond.call_args.kwargs["text"] == THANKS
    counts = services.feedback.counts()
    assert counts[f"faq:{answer.faq.id}"] == {"helpful": 1}


@pytest.mark.parametrize("value", [None, "", "not json", '{"f":"no-such-faq","p":[]}'])
def test_share_of_an_unknown_value_says_expired(context, respond, client, value) -> None:
    actions.share(ack=Mock(spec=Ack), body={"response_url": "https://hooks/x",
                                            "user": {"id": MEMBER}},
                  action={"value": value}, respond=respond, client=client, context=context)
    assert respond.call_args.kwargs["text"] == EXPIRED
    assert respond.call_args.kwargs["response_type"] == "ephemeral"


def test_home_click_answers_by_dm(context, services, respond, client, engine) -> None:
    entry = engine.snapshot.faq[0]
    actions.ask_faq(ack=Mock(spec=Ack), body={"user": {"id": MEMBER}},
                    action={"value": entry.id}, respond=respond, client=client,
                    context=context)
    settle(services)
    respond.assert_not_called()
    assert client.chat_postMessage.call_args.kwargs["channel"] == MEMBER


def test_home_tab_is_published_for_the_user(context, client) -> None:
    home.home_opened(event={"user": MEMBER, "tab": "home"}, client=client, context=context)
    kwargs = client.views_publish.call_args.kwargs
    assert kwargs["user_id"] == MEMBER and kwargs["view"]["type"] == "home"


def test_home_publish_failure_is_logged_by_code_only(context, client, caplog) -> None:
    response = SlackResponse(client=None, http_verb="POST", api_url="x", req_args={},
                             data={"ok": False, "error": "not_enabled"}, headers={},
                             status_code=200)
    client.views_publish.side_effect = SlackApiError("secret detail", response)
    with caplog.at_level(logging.INFO, "faqbot.slack"):
        home.home_opened(event={"user": MEMBER, "tab": "home"}, client=client,
                         context=context)
    [line] = [r.getMessage() for r in caplog.records if "views.publish" in r.getMessage()]
    assert line.startswith("views.publish failed: SlackApiError")
    assert "slack_error=not_enabled" in line
    assert "secret detail" not in caplog.text
    client.chat_postMessage.assert_not_called()
