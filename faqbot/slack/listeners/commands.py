"""The /privacy slash command: ack at once, then a private answer through response_url."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from faqbot.slack.blocks import about_message, help_message
from faqbot.slack.bot import Bot
from faqbot.slack.listeners import admin
from faqbot.slack.listeners.common import (
    after_ack,
    opt_out_reply,
    reply_message,
    respond_private,
)

COMMAND = "/privacy"
HELP_WORDS = frozenset({"", "help", "?", "-h", "--help", "usage"})
ABOUT_WORDS = frozenset({"about", "privacy", "storage", "what do you store"})
OPT_OUT_WORDS = frozenset({"opt-out", "optout", "opt out", "opt_out"})


def subcommand(text: str) -> str:
    """'help', 'about', 'opt-out', 'admin' or 'question' for the text after /privacy.

    'admin' is ``admin`` alone or with one more word (``admin status``); a longer text that
    starts with "admin" ("admin access to my DMs?") is a question like any other.
    """
    word = " ".join(text.split()).strip(" ?!.").lower()
    if word in HELP_WORDS or not text.strip():
        return "help"
    words = text.split()
    if words[0].lower() == "admin" and len(words) <= 2:
        return "admin"
    if word in ABOUT_WORDS:
        return "about"
    if word in OPT_OUT_WORDS:
        return "opt-out"
    return "question"


def register(app: App, bot: Bot) -> None:
    """Register the /privacy command."""

    @app.command(COMMAND)
    def privacy_command(ack: Ack, command: dict[str, Any], respond: Respond,
                        client: WebClient) -> None:
        ack()
        user_id = command.get("user_id")
        text = command.get("text") or ""
        kind = subcommand(text)

        def work() -> None:
            snapshot = bot.engine.snapshot
            if kind == "admin":
                admin.handle(bot, user_id, text, lambda m: respond_private(respond, m))
                return
            if kind == "help":
                message = help_message(bot.outcomes.most_asked(snapshot.faq),
                                       opt_out=snapshot.opt_out is not None,
                                       admin=bot.is_admin(user_id))
            elif kind == "about":
                message = about_message(snapshot, event_id_minutes=round(bot.deduper.ttl / 60))
            elif kind == "opt-out":
                message = opt_out_reply(bot, client, user_id)
            else:
                reply = bot.ask(text, via="command", user=user_id)
                if reply.opt_out and snapshot.opt_out is not None:
                    message = opt_out_reply(bot, client, user_id, reply.personal)
                else:
                    message = reply_message(reply, share=True)
            respond_private(respond, message)

        after_ack(bot, f"command {kind}", work, lambda m: respond_private(respond, m),
                  qhash=bot.question_id(text) if kind == "question" else "-")
