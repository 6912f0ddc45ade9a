"""The two Slack look-ups the opt-out flow needs: the asker's role and the workspace.

With one static token the workspace is the token's (``auth.test``). With OAuth installs it
is the workspace the request came from, by its team id (``team.info``): an org-wide token's
``auth.test`` names the org, not the workspace where the question was asked.
"""

from __future__ import annotations

import threading
from typing import Any

from slack_sdk import WebClient

from faqbot.slack.failures import failed
from faqbot.slack.types import Role, Workspace


def role_of(user: dict[str, Any]) -> Role:
    """'owner' for workspace, primary or org owners (from ``users.info``), else 'member'."""
    enterprise = user.get("enterprise_user") or {}
    if (user.get("is_owner") or user.get("is_primary_owner") or user.get("is_org_owner")
            or enterprise.get("is_owner")):
        return "owner"
    return "member"


class Directory:
    """``users.info`` for a role (never cached: roles change); the workspace from
    ``auth.test`` (one token) or ``team.info`` per team id (``per_team``), cached once known."""

    def __init__(self, *, per_team: bool = False) -> None:
        self.per_team = per_team
        self._workspace: Workspace | None = None
        self._teams: dict[str, Workspace] = {}
        self._lock = threading.Lock()

    def role(self, client: WebClient, user_id: str | None) -> Role:
        """'owner' or 'member' from ``users.info``; 'unknown' when Slack cannot tell us."""
        user = self.user(client, user_id)
        return "unknown" if user is None else role_of(user)

    def user(self, client: WebClient, user_id: str | None) -> dict[str, Any] | None:
        """The ``users.info`` user object (its role flags are what we read), or None."""
        if not user_id:
            return None
        try:
            response = client.users_info(user=user_id)
        except Exception as exc:
            failed("users.info", exc)
            return None
        user = response.get("user")
        return user if isinstance(user, dict) else None

    def workspace(self, client: WebClient, team: str | None = None) -> Workspace | None:
        """Workspace URL and name, cached once known (it is not user data): ``team.info`` of
        ``team`` in per-team mode, else ``auth.test``."""
        if self.per_team and team:
            return self._team(client, team)
        with self._lock:
            if self._workspace is not None:
                return self._workspace
        try:
            response = client.auth_test()
        except Exception as exc:
            failed("auth.test", exc)
            return None
        url, name = response.get("url"), response.get("team")
        if not (isinstance(url, str) and isinstance(name, str)):
            return None
        with self._lock:
            self._workspace = Workspace(url=url, name=name)
            return self._workspace

    def _team(self, client: WebClient, team: str) -> Workspace | None:
        with self._lock:
            known = self._teams.get(team)
        if known is not None:
            return known
        try:
            response = client.team_info(team=team)  # an org token needs the workspace's id
        except Exception as exc:
            failed("team.info", exc)
            return None
        info = response.get("team") or {}
        name, url, domain = info.get("name"), info.get("url"), info.get("domain")
        if not isinstance(url, str) and isinstance(domain, str) and domain:
            url = f"https://{domain}.slack.com/"
        if not (isinstance(url, str) and isinstance(name, str)):
            return None
        with self._lock:
            self._teams[team] = Workspace(url=url, name=name)
            return self._teams[team]
