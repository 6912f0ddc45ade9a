"""The two Slack look-ups the opt-out flow needs: the asker's role and the workspace."""

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
    """``users.info`` for a role (never cached: roles change), ``auth.test`` once known."""

    def __init__(self) -> None:
        self._workspace: Workspace | None = None
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

    def workspace(self, client: WebClient) -> Workspace | None:
        """Workspace URL and name from ``auth.test``, cached once known (it is not user data)."""
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
