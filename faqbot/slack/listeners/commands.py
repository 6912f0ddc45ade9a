"""The /privacy slash command: ack at once, then a private answer through response_url."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from faqbot.slack.blocks import Message, about_message, help_message
from faqbot.slack.listeners.admin import handle as handle_admin
from faqbot.slack.listeners.common import (
    for_shared_channel,
    opt_out_reply,
    reply_message,
    respond_private,
)
from faqbot.slack.listeners.opt_out_status import handle_admin as handle_opt_out_admin
from faqbot.slack.listeners.opt_out_status import parse_admin as parse_opt_out_admin
from faqbot.slack.opt_out_status import Place, answer_with_status, workspace_key
from faqbot.slack.services import SlackServices, services_of

COMMAND = "/privacy"
HELP_WORDS = frozenset({"", "help", "?", "-h", "--help", "usage"})
ABOUT_WORDS = frozenset({"about", "privacy", "storage", "what do you store"})
OPT_OUT_WORDS = frozenset({"opt-out", "optout", "opt out", "opt_out"})


def subcommand(text: str) -> str:
    """'help', 'about', 'opt-out', 'admin', 'admin opt-out' or 'question' for the text after
    /privacy.

    'admin' is ``admin`` alone or with one more word (``admin status``); a longer text that
    starts with "admin" ("admin access to my DMs?") is a question like any other, unless it
    is ``admin opt-out <action> ...`` (the workspace's opt-out status).
    """
    word = " ".join(text.split()).strip(" ?!.").lower()
    if word in HELP_WORDS or not text.strip():
        return "help"
    if parse_opt_out_admin(text) is not None:
        return "admin opt-out"
    words = text.split()
    if words[0].lower() == "admin" and len(words) <= 2:
        return "admin"
    if word in ABOUT_WORDS:
        return "about"
    if word in OPT_OUT_WORDS:
        return "opt-out"
    return "question"


def privacy_command(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient,
                    context: BoltContext) -> None:
    """Ack, then answer ``/privacy <text>`` privately once an answer thread is free."""
    ack()
    services = services_of(context)
    user_id = command.get("user_id")
    text = command.get("text") or ""
    kind = subcommand(text)

    def send(message: Message) -> None:
        respond_private(respond, message)

    def work() -> None:
        if kind == "admin":
            handle_admin(services, user_id, text, send, place=workspace_key(context))
        elif kind == "admin opt-out":
            handle_opt_out_admin(services, client, workspace_key(context), user_id, text, send)
        else:
            shared = kind == "question" and services.shared.is_shared(
                client, command.get("channel_id"), command.get("is_ext_shared_channel"))
            send(command_reply(services, client, kind, text, user_id,
                               team=workspace_key(context), shared=shared))

    qhash = services.asker.question_id(text) if kind == "question" else "-"
    services.answers.run(f"command {kind}", work, send, qhash=qhash)


def command_reply(services: SlackServices, client: WebClient, kind: str, text: str,
                  user_id: str | None, *, team: Place | None = None,
                  shared: bool = False) -> Message:
    """The reply to a /privacy command of ``kind`` other than 'admin'; with the ``team`` it
    came from, opt-out answers show the workspace's live status first. In a ``shared``
    channel (Slack Connect) the answer quotes no internal document and has no Share button."""
    if kind == "help":
        view = services.catalog.view()
        return help_message(services.outcomes.most_asked(view.faq),
                            opt_out=view.opt_out is not None,
                            admin=services.is_admin(user_id, team))
    if kind == "about":
        return about_message(services.catalog.view(),
                             event_id_minutes=round(services.deduper.ttl / 60))
    if kind == "opt-out":
        return opt_out_reply(services, client, user_id, team=team)
    reply = services.asker.ask(text, via="command", user=user_id)
    if reply.opt_out and services.catalog.view().opt_out is not None:
        return opt_out_reply(services, client, user_id, reply.personal, team=team)
    if shared:
        reply = for_shared_channel(services, reply)
    return answer_with_status(services.opt_out, team, text, reply.answer.faq,
                              reply_message(reply, share=not shared))


def register(app: App) -> None:
    """Register the /privacy command."""
    app.command(COMMAND)(privacy_command)
