"""``/privacy admin status | reload | rollback | gaps``, for the ids in FAQBOT_ADMIN_USER_IDS
only (with many workspaces installed, for the ones named for the workspace or org the command
comes from: ``SlackServices.is_admin``). The knowledge folder is one per deployment, so an
admin's reload serves every workspace.

Anyone else gets the same short refusal whatever follows ``admin``: it does not say which
actions exist or that the bot has admins. Reload and rollback run on the admin pool
(``SlackServices.admin_work``), so a long rebuild holds no answer thread; the result comes
through response_url.
"""

from __future__ import annotations

import logging

from faqbot.errors import FaqbotError
from faqbot.reload import Reloader
from faqbot.slack.admin import collect_status
from faqbot.slack.blocks import (
    NOT_ALLOWED,
    admin_failure,
    admin_gaps_message,
    admin_help,
    admin_reload_message,
    admin_rollback_message,
    admin_status_message,
    notice,
)
from faqbot.slack.later import Send
from faqbot.slack.opt_out_status import Place
from faqbot.slack.services import SlackServices

log = logging.getLogger("faqbot.slack")

ACTIONS = ("status", "reload", "rollback", "gaps")
NO_RELOADER = "Hot reload is not running in this process, so there is nothing to"


def admin_action(text: str) -> str:
    """The word after ``admin`` ('status', 'reload', 'rollback'), '' if none, else 'other'."""
    words = text.lower().split()[1:]
    if not words:
        return ""
    return words[0] if words[0] in ACTIONS else "other"


def handle(services: SlackServices, user_id: str | None, text: str, send: Send, *,
           place: Place | None = None) -> None:
    """Run one admin command for ``user_id`` and send the reply (a refusal for non-admins)."""
    action = admin_action(text)
    if not services.is_admin(user_id, place):
        # the refusal is the same for every action, known or not; the log has ids only
        log.info("admin command refused user=%s", user_id or "-")
        send(notice(NOT_ALLOWED))
        return
    log.info("admin command user=%s action=%s", user_id, action or "help")
    reloader = services.reloader
    if action == "status":
        send(admin_status_message(collect_status(services)))
    elif action == "gaps":
        send(admin_gaps_message(services.asker.gaps.top()))
    elif action in ("reload", "rollback"):
        if reloader is None:
            send(notice(f"{NO_RELOADER} {action}."))
            return
        run = _reload if action == "reload" else _rollback
        services.admin_work.run(f"admin {action}", lambda: run(services, reloader, send), send)
    else:
        send(admin_help())


def _reload(services: SlackServices, reloader: Reloader, send: Send) -> None:
    status = reloader.reload()  # never raises for a bad folder: it reports
    send(admin_reload_message(status, services.catalog.view().version))


def _rollback(services: SlackServices, reloader: Reloader, send: Send) -> None:
    try:
        status = reloader.rollback()
    except FaqbotError as exc:  # e.g. no earlier version: a message meant for admins
        log.warning("admin rollback failed: %s", exc)
        send(admin_failure("Rollback", str(exc)))
        return
    send(admin_rollback_message(services.catalog.view().version, status.seconds))
