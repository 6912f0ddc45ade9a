"""The Slack app manifest in its two modes: Socket Mode (``manifest.yml`` as it is) and the
HTTP / OAuth variant derived from it for a public host (``faqbot manifest --http URL``).

The HTTP variant points the slash command, events and interactivity at ``/slack/events``,
adds the OAuth redirect URL, turns Socket Mode off, lets an Enterprise Grid org install it
once for all its workspaces (``org_deploy_enabled``) and subscribes to ``app_uninstalled``
and ``tokens_revoked`` so an uninstall deletes that install's tokens.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from faqbot.errors import ConfigError

#: manifest.yml at the top of the repository (faqbot is installed from it, editable).
MANIFEST_FILE = Path(__file__).resolve().parents[2] / "manifest.yml"
#: The bot scopes the code needs; tests check manifest.yml lists exactly these.
BOT_SCOPES = ("app_mentions:read", "assistant:write", "channels:read", "chat:write",
              "commands", "im:history", "team:read", "users:read")
#: Events only an installed (OAuth) app needs: an uninstall, a revoked token.
LIFECYCLE_EVENTS = ("app_uninstalled", "tokens_revoked")
EVENTS_PATH = "/slack/events"
REDIRECT_PATH = "/slack/oauth_redirect"


def load_manifest(path: Path | None = None) -> dict[str, Any]:
    """The Socket Mode manifest (``manifest.yml``); ConfigError when it cannot be read."""
    source = path or MANIFEST_FILE
    try:
        data = yaml.safe_load(source.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the manifest {source}: {type(exc).__name__} (give "
                          "manifest.yml with --from)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source} is not a Slack app manifest (not a mapping)")
    return data


def base_url(value: str) -> str:
    """``https://HOST[/prefix]`` without a trailing slash; ConfigError for anything else."""
    parts = urlsplit(value.strip())
    if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"--http wants the public https:// address faqbot is served at, "
                          f"e.g. https://faqbot.example.com (got {value!r})")
    return f"https://{parts.netloc}{parts.path.rstrip('/')}"


def http_manifest(manifest: dict[str, Any], url: str, *,
                  rotate_tokens: bool = False) -> dict[str, Any]:
    """The HTTP / OAuth variant of ``manifest`` for the app served at ``url``."""
    base = base_url(url)
    events_url = base + EVENTS_PATH
    out = copy.deepcopy(manifest)
    for command in out.get("features", {}).get("slash_commands", []):
        command["url"] = events_url
    oauth = out.setdefault("oauth_config", {})
    oauth["redirect_urls"] = [base + REDIRECT_PATH]
    settings = out.setdefault("settings", {})
    events = settings.setdefault("event_subscriptions", {})
    events["request_url"] = events_url
    events["bot_events"] = [*events.get("bot_events", []),
                            *(e for e in LIFECYCLE_EVENTS if e not in events.get("bot_events", []))]
    settings.setdefault("interactivity", {"is_enabled": True})["request_url"] = events_url
    settings["org_deploy_enabled"] = True
    settings["socket_mode_enabled"] = False
    settings["token_rotation_enabled"] = rotate_tokens
    return out


def render(manifest: dict[str, Any], heading: str) -> str:
    """The manifest as YAML, after a comment saying what it is."""
    lines = [f"# {line}".rstrip() for line in heading.splitlines()]
    return "\n".join(lines) + "\n" + yaml.safe_dump(manifest, sort_keys=False,
                                                    allow_unicode=True, width=96)
