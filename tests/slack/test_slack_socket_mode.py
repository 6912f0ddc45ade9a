"""Socket Mode end to end: a local WebSocket server pushes envelopes, the app acks and answers."""

from __future__ import annotations

import json

from tests.slack.slack_fakes import BOT_USER, MEMBER, dm


def test_slash_command_over_socket_mode(socket_mode, fake):
    socket_mode.push({
        "envelope_id": "env-cmd-1", "type": "slash_commands", "accepts_response_payload": True,
        "payload": {"team_id": "T1", "channel_id": "C1", "user_id": MEMBER,
                    "command": "/privacy", "text": "Are language models trained on my messages?",
                    "response_url": fake.response_url("sm-cmd"), "trigger_id": "1.2.3",
                    "api_app_id": "A1"},
    })
    assert socket_mode.wait_ack("env-cmd-1")["envelope_id"] == "env-cmd-1"
    data = fake.wait_response("sm-cmd")[0].data
    assert data["response_type"] == "ephemeral" and "not trained" in data["text"]


def test_dm_event_over_socket_mode_first_delivery_is_answered(socket_mode, fake):
    # Slack's first Socket Mode delivery has retry_attempt 0 (Bolt: x-slack-retry-num "0")
    socket_mode.push({
        "envelope_id": "env-ev-1", "type": "events_api", "accepts_response_payload": False,
        "retry_attempt": 0, "retry_reason": "",
        "payload": {"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                    "event_id": "EvSocket1", "event_time": 1,
                    "event": dm("Are language models trained on my messages?"),
                    "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}]},
    })
    assert socket_mode.wait_ack("env-ev-1")["envelope_id"] == "env-ev-1"
    data = fake.wait_api("chat.postMessage")[0].data
    assert data["channel"] == "D1" and "not trained" in json.dumps(data)


def test_socket_mode_envelopes_never_reach_the_logs(socket_mode, fake, capfd, restore_logging):
    from tests.slack.slack_fakes import everything_at_debug

    capture = everything_at_debug()
    canary = "nebula-canary-3310"
    socket_mode.push({
        "envelope_id": "env-ev-2", "type": "events_api", "accepts_response_payload": False,
        "retry_attempt": 0, "retry_reason": "",
        "payload": {"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                    "event_id": "EvSocket2", "event_time": 1,
                    "event": dm(f"Are language models trained on my messages? {canary}"),
                    "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}]},
    })
    socket_mode.wait_ack("env-ev-2")
    fake.wait_api("chat.postMessage")
    out, err = capfd.readouterr()
    assert "question via=dm" in capture.text()
    for where in (capture.text(), out, err):
        assert canary not in where
