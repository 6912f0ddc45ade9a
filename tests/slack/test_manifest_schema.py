"""manifest.yml against the structure and limits of Slack's app manifest (v1), written here as
pydantic models that forbid unknown keys: a typo, a legacy key or a field past Slack's limit
fails here rather than when an admin pastes the manifest. The limits are the ones Slack's
published manifest schema sets; features.agent_view follows the manifest schema v0.5.0."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from faqbot import cli
from tests.conftest import REPO

Text = Annotated[str, StringConstraints(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DisplayInformation(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=35)]
    description: Annotated[str, StringConstraints(min_length=1, max_length=140)] | None = None
    background_color: Annotated[str, StringConstraints(
        pattern=r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$")] | None = None
    long_description: Annotated[str, StringConstraints(min_length=175,
                                                       max_length=4000)] | None = None


class AppHome(Strict):
    home_tab_enabled: bool | None = None
    messages_tab_enabled: bool | None = None
    messages_tab_read_only_enabled: bool | None = None


class BotUser(Strict):
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    always_online: bool | None = None


class Prompt(Strict):
    title: Text
    message: Text


class AgentView(Strict):
    agent_description: Text
    suggested_prompts: Annotated[list[Prompt], Field(max_length=4)] = []


class Shortcut(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=24)]
    type: Literal["message", "global"]
    callback_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    description: Annotated[str, StringConstraints(min_length=1, max_length=150)]


class SlashCommand(Strict):
    command: Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^/")]
    url: Annotated[str, StringConstraints(pattern=r"^https?://", max_length=3000)] | None = None
    description: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    usage_hint: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None
    should_escape: bool | None = None


class Features(Strict):
    app_home: AppHome | None = None
    bot_user: BotUser | None = None
    agent_view: AgentView | None = None
    shortcuts: Annotated[list[Shortcut], Field(min_length=1, max_length=10)] | None = None
    slash_commands: Annotated[list[SlashCommand], Field(min_length=1,
                                                        max_length=50)] | None = None


Scope = Annotated[str, StringConstraints(max_length=50)]


class Scopes(Strict):
    bot: Annotated[list[Scope], Field(max_length=255)] = []
    user: Annotated[list[Scope], Field(max_length=255)] = []


class OAuthConfig(Strict):
    scopes: Scopes | None = None
    redirect_urls: list[Annotated[str, StringConstraints(max_length=2500)]] | None = None


class EventSubscriptions(Strict):
    request_url: Annotated[str, StringConstraints(pattern=r"^https?://")] | None = None
    bot_events: Annotated[list[Annotated[str, StringConstraints(max_length=50)]],
                          Field(max_length=100)] = []


class Interactivity(Strict):
    is_enabled: bool
    request_url: Annotated[str, StringConstraints(pattern=r"^https?://")] | None = None


class SettingsBlock(Strict):
    event_subscriptions: EventSubscriptions | None = None
    interactivity: Interactivity | None = None
    org_deploy_enabled: bool | None = None
    socket_mode_enabled: bool | None = None
    token_rotation_enabled: bool | None = None


class Manifest(Strict):
    display_information: DisplayInformation
    features: Features | None = None
    oauth_config: OAuthConfig | None = None
    settings: SettingsBlock | None = None


MANIFEST = yaml.safe_load((REPO / "manifest.yml").read_text("utf-8"))


def test_manifest_follows_slacks_structure_and_limits() -> None:
    Manifest.model_validate(MANIFEST)
    events = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert len(events) == len(set(events))


@pytest.mark.parametrize("rotate", [False, True])
def test_the_http_variant_follows_them_too(rotate: bool,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`faqbot manifest --http` as printed: request URLs, the redirect URL, an org-wide
    install, no Socket Mode, the uninstall events."""
    args = ["manifest", "--http", "https://faqbot.example.com/slack-app/"]
    assert cli.main([*args, "--rotate-tokens"] if rotate else args) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    Manifest.model_validate(printed)
    events_url = "https://faqbot.example.com/slack-app/slack/events"
    settings = printed["settings"]
    assert settings["event_subscriptions"]["request_url"] == events_url
    assert settings["interactivity"]["request_url"] == events_url
    assert [c["url"] for c in printed["features"]["slash_commands"]] == [events_url]
    assert printed["oauth_config"]["redirect_urls"] == [
        "https://faqbot.example.com/slack-app/slack/oauth_redirect"]
    assert settings["org_deploy_enabled"] is True and settings["socket_mode_enabled"] is False
    assert settings["token_rotation_enabled"] is rotate
    events = settings["event_subscriptions"]["bot_events"]
    assert {"app_uninstalled", "tokens_revoked"} <= set(events) and len(events) == len(set(events))
    # everything else is manifest.yml's
    assert printed["display_information"] == MANIFEST["display_information"]
    for command in printed["features"]["slash_commands"]:
        del command["url"]
    assert printed["features"] == MANIFEST["features"]
    assert printed["oauth_config"]["scopes"] == MANIFEST["oauth_config"]["scopes"]


@pytest.mark.parametrize("url", ["http://faqbot.example.com", "faqbot.example.com",
                                 "https://", "https://x.example.com/?a=1"])
def test_the_http_variant_wants_a_public_https_address(url: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["manifest", "--http", url]) == 1
    assert "https://" in capsys.readouterr().err


def test_the_socket_mode_manifest_is_printed_as_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["manifest"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == MANIFEST


@pytest.mark.parametrize("path, value", [
    (("features", "assistant_view"), {"assistant_description": "legacy"}),  # a legacy key
    (("display_information", "name"), "x" * 36),
    (("features", "shortcuts"), [{"name": "Ask faqbot about this message, please",
                                  "type": "message", "callback_id": "c", "description": "d"}]),
    (("features", "agent_view", "suggested_prompts"),
     [{"title": "t", "message": "m"}] * 5),
])
def test_the_model_catches_what_slack_would_refuse(path: tuple[str, ...], value: object) -> None:
    broken = yaml.safe_load(yaml.safe_dump(MANIFEST))
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError):
        Manifest.model_validate(broken)
