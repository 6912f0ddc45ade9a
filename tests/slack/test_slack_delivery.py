"""Delivery faults over real HTTP, injected by the fake Slack (issue 16, item 8): one 5xx, 404
or 429 no longer loses an answer; a timed-out reply gets no failure notice after it; an error
body that is JSON but not an object is handled."""

from __future__ import annotations

import logging
import time

import pytest

from faqbot.slack import delivery
from faqbot.slack.blocks import FRIENDLY_ERROR
from faqbot.slack.failures import slack_error_code
from tests.slack.slack_fakes import dm

QUESTION = "are language models trained on my messages?"


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(delivery, "BACKOFF_S", 0.05)


@pytest.mark.parametrize("status", [500, 502, 404, 429])
def test_one_refused_response_url_post_is_retried(slack, fake, status):
    fake.fail_response("cmd", status=status)
    assert slack.command(QUESTION).status == 200
    answer = fake.wait_response(timeout=10)[0]
    assert "trained" in answer.text  # before: the answer was lost
    assert len([c for c in fake.calls if c.kind == "refused"]) == 1


def test_retry_after_is_honoured_on_response_url(slack, fake):
    fake.fail_response("cmd", status=429, headers={"Retry-After": "1"})
    started = time.monotonic()
    assert slack.command(QUESTION).status == 200
    answer = fake.wait_response(timeout=10)[0]
    refused = next(c for c in fake.calls if c.kind == "refused")
    assert answer.at - refused.at >= 0.95
    assert time.monotonic() - started < 8


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_web_api_5xx_or_429_is_retried(slack, fake, status):
    headers = {"Retry-After": "0"} if status == 429 else {}
    fake.fail_next("chat.postMessage", status=status, headers=headers,
                   body={"ok": False, "error": "internal_error"})
    assert slack.event(dm(QUESTION)).status == 200
    posts = fake.wait_api("chat.postMessage", count=2, timeout=10)
    assert "trained" in posts[1].text


def test_a_timed_out_but_accepted_reply_gets_no_failure_notice(slack, fake, monkeypatch):
    monkeypatch.setattr(delivery, "RESPONSE_URL_TIMEOUT_S", 0.4)
    fake.delay_next("response:cmd", 1.2)
    assert slack.command(QUESTION).status == 200
    fake.wait_response(timeout=10)
    time.sleep(1.5)  # the notice, if any, would follow the timeout at once
    texts = [c.data.get("text", "") for c in fake.calls if c.kind == "response"]
    assert len(texts) == 1 and FRIENDLY_ERROR not in texts[0]  # before: answer + "Sorry"


def test_a_timed_out_dm_gets_no_failure_notice(slack, fake, app):
    app.client.timeout = 0.4
    fake.delay_next("chat.postMessage", 1.2)
    assert slack.event(dm(QUESTION)).status == 200
    fake.wait_api("chat.postMessage", timeout=10)
    time.sleep(1.5)
    assert len(fake.api_calls("chat.postMessage")) == 1  # no retry, no "Sorry" after it


def test_a_json_list_error_body_does_not_crash_the_failure_handler(slack, fake, caplog):
    caplog.set_level(logging.WARNING)
    fake.fail_next("chat.postMessage", status=500, body=["not", "an", "object"],
                   times=1 + delivery.MAX_RETRIES)
    assert slack.event(dm(QUESTION)).status == 200
    posts = fake.wait_api("chat.postMessage", count=2 + delivery.MAX_RETRIES, timeout=15)
    assert FRIENDLY_ERROR in posts[-1].text  # the user is told
    failures = [r.getMessage() for r in caplog.records if "failed:" in r.getMessage()]
    assert len(failures) == 1 and "slack_error=-" in failures[0]


def test_slack_error_code_of_bodies_that_are_not_objects():
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web import SlackResponse

    for data in (["x"], "text", None, {"error": "Not A Code!"}):
        response = SlackResponse(client=None, http_verb="POST", api_url="u", req_args={},
                                 data=data, headers={}, status_code=500)  # type: ignore[arg-type]
        assert slack_error_code(SlackApiError("m", response)) == "-"


def test_retry_after_forms():
    from slack_sdk.http_retry.response import HttpResponse

    def of(value: str) -> float | None:
        return delivery.retry_after(HttpResponse(status_code=429,
                                                 headers={"Retry-After": [value]}))

    assert of("2") == 2.0 and of("0.5") == 0.5
    assert of("Wed, 21 Oct 2026 07:28:00 GMT") is None and of("nan") is None
