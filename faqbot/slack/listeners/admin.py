"""``/privacy admin status | reload | rollback``, for the ids in FAQBOT_ADMIN_USER_IDS only.

Anyone else gets the same short refusal whatever follows ``admin``: it does not say which
actions exist or that the bot has admins. Reload and rollback run after the ack, in a thread
of their own, so a long rebuild holds no listener thread; the result comes through
response_url.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from faqbot.errors import FaqbotError
from faqbot.slack.admin import collect_status
from faqbot.slack.blocks import (
    FRIENDLY_ERROR,
    NOT_ALLOWED,
    Message,
    admin_failure,
    admin_help,
    admin_reload_message,
    admin_rollback_message,
    admin_status_message,
    notice,
)
from faqbot.slack.bot import Bot, log

ACTIONS = ("status", "reload", "rollback")
NO_RELOADER = "Hot reload is not running in this process, so there is nothing to"

Send = Callable[[Message], Any]


def admin_action(text: str) -> str:
    """The word after ``admin`` ('status', 'reload', 'rollback'), '' if none, else 'other'."""
    words = text.lower().split()[1:]
    if not words:
        return ""
    return words[0] if words[0] in ACTIONS else "other"


def handle(bot: Bot, user_id: str | None, text: str, send: Send) -> None:
    """Run one admin command for ``user_id`` and send the reply (a refusal for non-admins)."""
    action = admin_action(text)
    if not bot.is_admin(user_id):
        # the refusal is the same for every action, known or not; the log has ids only
        log.info("admin command refused user=%s", user_id or "-")
        send(notice(NOT_ALLOWED))
        return
    log.info("admin command user=%s action=%s", user_id, action or "help")
    if action == "status":
        send(admin_status_message(collect_status(bot)))
    elif action in ("reload", "rollback"):
        if bot.reloader is None:
            send(notice(f"{NO_RELOADER} {action}."))
            return
        run = _reload if action == "reload" else _rollback
        threading.Thread(target=run, args=(bot, send), name=f"faqbot-admin-{action}",
                         daemon=True).start()
    else:
        send(admin_help())


def _reload(bot: Bot, send: Send) -> None:
    assert bot.reloader is not None
    try:
        status = bot.reloader.reload()  # never raises for a bad folder: it reports
        send(admin_reload_message(status, bot.engine.snapshot.name))
    except Exception as exc:
        bot.failed("admin reload", exc)
        _tell(bot, send, notice(FRIENDLY_ERROR))


def _rollback(bot: Bot, send: Send) -> None:
    assert bot.reloader is not None
    try:
        status = bot.reloader.rollback()
        send(admin_rollback_message(bot.engine.snapshot.name, status.seconds))
    except FaqbotError as exc:  # e.g. no earlier version: a message meant for admins
        log.warning("admin rollback failed: %s", exc)
        _tell(bot, send, admin_failure("Rollback", str(exc)))
    except Exception as exc:
        bot.failed("admin rollback", exc)
        _tell(bot, send, notice(FRIENDLY_ERROR))


def _tell(bot: Bot, send: Send, message: Message) -> None:
    try:
        send(message)
    except Exception as exc:
        bot.failed("admin reply", exc)
