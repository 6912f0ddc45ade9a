"""manifest.yml matches the code: command, events, actions, and scopes for the methods called."""

from __future__ import annotations

import datetime as dt
import inspect
import re
from pathlib import Path

import pytest
import yaml
from slack_bolt import BoltRequest

from faqbot.catalog import CatalogView
from faqbot.slack import blocks
from faqbot.slack.blocks.opt_out_status import STATUS_ACTIONS, record_controls
from faqbot.slack.manifest import BOT_SCOPES

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text("utf-8"))
SLACK_CODE = ROOT / "faqbot" / "slack"

#: The bot scope each Web API method needs (None: no scope). A method missing here fails the
#: test, so a new call cannot slip in without deciding its scope.
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "views.publish": None,
    "users.info": "users:read",
    "team.info": "team:read",  # each workspace's name and URL with OAuth installs
    "conversations.open": "im:write",
    "assistant.threads.setSuggestedPrompts": "assistant:write",
    "assistant.threads.setStatus": "chat:write",
    # private channels it cannot read are treated as shared (answers stay private there)
    "conversations.info": "channels:read",  # chat:write alone since 2026-03
}
#: Manifest bot event → (Bolt event type, scope it needs).
EVENT_SCOPES = {
    "app_mention": ("app_mention", "app_mentions:read"),
    "message.im": ("message", "im:history"),
    "app_home_opened": ("app_home_opened", None),
}


def registered(app) -> dict[str, set[str]]:
    """Commands, event types and action ids the app's listeners match (from their matchers)."""
    found: dict[str, set[str]] = {"command": set(), "event": set(), "action": set()}
    for listener in app._listeners:
        for matcher in listener.matchers:
            names = inspect.getclosurevars(matcher.func).nonlocals
            if "command" in names:
                found["command"].add(names["command"])
            elif "event_type" in names:
                found["event"].add(names["event_type"])
            elif "constraints" in names:
                found["action"].add(names["constraints"])
    return found


def web_api_methods() -> set[str]:
    """Web API methods the Slack package calls: ``client.chat_postMessage(`` → chat.postMessage."""
    methods = set()
    for path in SLACK_CODE.rglob("*.py"):
        for name in re.findall(r"\bclient\.([a-z]+(?:_[A-Za-z]+)+)\(", path.read_text("utf-8")):
            methods.add(name.replace("_", "."))  # assistant_threads_setStatus → a.threads.s
    return methods


def test_slash_command_matches():
    (command,) = MANIFEST["features"]["slash_commands"]
    assert command["command"] == "/privacy"
    assert command["should_escape"] is False
    assert command["usage_hint"] and len(command["description"]) <= 100


def test_commands_and_events_match_the_listeners(app):
    found = registered(app)
    assert found["command"] == {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    bot_events = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert found["event"] == {EVENT_SCOPES[e][0] for e in bot_events}


def test_actions_match_the_buttons_and_interactivity_is_on(app):
    assert registered(app)["action"] == set(blocks.ACTIONS) | set(STATUS_ACTIONS)
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True


def test_every_rendered_button_has_a_listener(app, engine):
    snapshot = engine.snapshot
    answer = engine.answer("Are language models trained on my messages?")
    rendered = [
        blocks.help_message(snapshot.faq).blocks,
        blocks.home_view(CatalogView.of(snapshot), "U1")["blocks"],
        blocks.answer_message(answer, share=True, opt_out_button=True).blocks,
        blocks.decline_message(engine.answer("wifi password")).blocks,
        record_controls(dt.date(2026, 12, 1)),
    ]
    used = {e["action_id"] for bs in rendered for b in bs if b["type"] == "actions"
            for e in b["elements"]}
    assert used == set(blocks.ACTIONS) | set(STATUS_ACTIONS)


@pytest.mark.parametrize("action_id", [*blocks.ACTIONS, *STATUS_ACTIONS])
def test_each_action_is_handled_not_404(app, fake, action_id):
    payload = {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"},
               "container": {"type": "view"},
               "actions": [{"action_id": action_id, "block_id": "b", "value": "x"}]}
    response = app.dispatch(BoltRequest(body=payload, mode="socket_mode"))
    assert response.status == 200


def test_scopes_are_exactly_what_the_code_needs():
    methods = web_api_methods()
    assert methods, "no Web API calls found: the scan is broken"
    unknown = methods - set(METHOD_SCOPES)
    assert not unknown, f"add the scope these methods need to METHOD_SCOPES: {unknown}"
    needed = {METHOD_SCOPES[m] for m in methods} | {"commands"}
    needed |= {EVENT_SCOPES[e][1] for e in MANIFEST["settings"]["event_subscriptions"]
               ["bot_events"]}
    needed.discard(None)
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed
    assert set(BOT_SCOPES) == needed  # what an OAuth install asks for
    assert "im:write" not in needed  # DMs go to the user id; the bot never opens one


def test_agent_view_has_a_description_and_at_most_four_prompts():
    agent = MANIFEST["features"]["agent_view"]
    assert agent["agent_description"].strip()
    assert 1 <= len(agent["suggested_prompts"]) <= 4
    assert all(p["title"] and p["message"] for p in agent["suggested_prompts"])
    assert "assistant_view" not in MANIFEST["features"]  # the legacy surface


def test_app_home_and_socket_mode():
    home = MANIFEST["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"]
    assert home["messages_tab_read_only_enabled"] is False
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in MANIFEST["settings"]["event_subscriptions"]


def test_message_shortcut_matches_its_listener(app):
    from slack_bolt import BoltRequest

    from faqbot.slack.listeners.shortcuts import CALLBACK_ID

    shortcuts = MANIFEST["features"]["shortcuts"]
    assert [(s["type"], s["callback_id"]) for s in shortcuts] == [("message", CALLBACK_ID)]
    payload = {"type": "message_action", "callback_id": CALLBACK_ID, "team": {"id": "T1"},
               "user": {"id": "U1"}, "channel": {"id": "C1"}, "message": {"ts": "1.2"},
               "response_url": "http://127.0.0.1:9/unused"}
    response = app.dispatch(BoltRequest(body=payload, mode="socket_mode"))
    assert response.status == 200  # a listener answers it: not Bolt's 404
