"""The HTTP edge (faqbot.slack.edge) over real HTTP: bodies with the word "payload" reach the
listeners; malformed unauthenticated requests get 400/401 and one log line (issue 16, 2 and 9)."""

from __future__ import annotations

import logging
import urllib.parse

import pytest

from faqbot.slack.edge import parse_slack_body
from tests.slack.slack_fakes import MEMBER


@pytest.mark.parametrize("text", ["Is the message payload encrypted?",
                                  "what does payload=1 mean for my data?"])
def test_a_command_with_payload_in_its_text_is_answered(slack, fake, text):
    response = slack.command(text)
    assert response.status == 200  # before: 404 (Bolt parsed the body as {})
    assert fake.wait_response()[0].data["text"]


def test_a_command_from_a_channel_named_payload_is_answered(slack, fake):
    form = {"team_id": "T1", "channel_id": "C9", "channel_name": "payload-team",
            "user_id": MEMBER, "command": "/privacy", "text": "help",
            "response_url": fake.response_url("cmd"), "trigger_id": "1.2.3"}
    response = slack.post(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")
    assert response.status == 200
    assert fake.wait_response()[0].data["text"]


def test_a_button_payload_still_parses_as_one():
    assert parse_slack_body("payload=%7B%22type%22%3A%22block_actions%22%7D",
                            "application/x-www-form-urlencoded") == {"type": "block_actions"}
    assert parse_slack_body("text=the+payload&command=%2Fprivacy", None) == {
        "text": "the payload", "command": "/privacy"}


MALFORMED = [
    ("timestamp", '{"type": "event_callback"}', "application/json",
     {"X-Slack-Request-Timestamp": "soon"}, 401),
    ("list", "[1, 2, 3]", "application/json", {}, 400),
    ("string", '"just a string"', "application/json", {}, 400),
    ("deep", "[" * 100_000 + "]" * 100_000, "application/json", {}, 400),
    ("deep object", '{"a":' * 50_000 + "1" + "}" * 50_000, "application/json", {}, 400),
    ("payload list", "payload=%5B1%5D", "application/x-www-form-urlencoded", {}, 400),
]


@pytest.mark.parametrize(("name", "body", "content_type", "headers", "status"), MALFORMED,
                         ids=[m[0] for m in MALFORMED])
def test_malformed_request_is_refused_with_one_log_line(slack, fake, caplog, capfd, name, body,
                                                        content_type, headers, status):
    caplog.set_level(logging.INFO)
    signed = {} if "X-Slack-Request-Timestamp" in headers else {"X-Slack-Signature": "v0=00"}
    if headers:
        # a timestamp header that is not a number: the signature cannot even be checked
        response = _raw_post(slack, body, content_type, headers)
    else:
        response = slack.post(body, content_type, headers=signed)
    assert response.status == status  # before: 500 and a 30-line traceback
    lines = [r for r in caplog.records if r.name.startswith(("faqbot", "slack_bolt", "gunicorn"))
             and r.levelno >= logging.WARNING]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "Traceback" not in capfd.readouterr().err
    assert not fake.calls


def test_non_utf8_body_is_400(slack, fake):
    response = _raw_post(slack, b"text=\xff\xfe", "application/x-www-form-urlencoded", {})
    assert response.status == 400
    assert not fake.calls


def _raw_post(slack, body, content_type, headers):
    data = body if isinstance(body, bytes) else body.encode()
    return slack.raw(data, {"Content-Type": content_type, "X-Slack-Signature": "v0=00",
                            **headers})
