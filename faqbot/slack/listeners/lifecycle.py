"""An install's end (OAuth mode only): ``app_uninstalled`` and ``tokens_revoked``.

Bolt's own handlers (``TokenRevocationListeners``) delete from the installation store: an
uninstall deletes every installation and bot token of that workspace (or, for an org-wide
install, of the org: its rows have no team id, so the request's team id is dropped first),
a revocation the revoked tokens. A revoked bot token also deletes the installation rows that
hold a copy of it (faqbot asks for no user tokens, so those rows are the bot's install). An
uninstall also deletes the workspace's opt-out status and its history (the one place faqbot
keeps a user id), so nothing of a workspace stays once it removed the app. Other workspaces
are not touched.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.listener.builtins import TokenRevocationListeners
from slack_sdk.oauth.installation_store import InstallationStore

from faqbot.slack.failures import failed
from faqbot.slack.opt_out_status import workspace_key
from faqbot.slack.services import services_of

log = logging.getLogger("faqbot.slack")


def _install_of(context: BoltContext) -> BoltContext:
    """The context as the store keys its rows: an org-wide install under the org alone."""
    if not context.is_enterprise_install:
        return context
    scoped = BoltContext(dict(context))
    scoped["team_id"] = None
    return scoped


def register(app: App, store: InstallationStore) -> None:
    """Listen for uninstalls and revoked tokens, deleting from ``store``."""
    builtin = TokenRevocationListeners(store)

    def app_uninstalled(context: BoltContext) -> None:
        builtin.handle_app_uninstalled_events(_install_of(context))
        place = workspace_key(context)
        try:
            gone = services_of(context).opt_out.store.reset(place.team)
        except Exception as exc:  # the installs are gone already; say so and go on
            failed("opt-out status delete on uninstall", exc)
            return
        log.info("app uninstalled team=%s enterprise=%s opt-out record deleted=%s",
                 context.team_id or "-", context.enterprise_id or "-", gone)

    def tokens_revoked(event: dict[str, Any], context: BoltContext) -> None:
        install = _install_of(context)
        builtin.handle_tokens_revoked_events(event, install)
        if (event.get("tokens") or {}).get("bot"):
            store.delete_installation(enterprise_id=install.enterprise_id,
                                      team_id=install.team_id)
        log.info("tokens revoked team=%s enterprise=%s", context.team_id or "-",
                 context.enterprise_id or "-")

    app.event("app_uninstalled")(app_uninstalled)
    app.event("tokens_revoked")(tokens_revoked)
