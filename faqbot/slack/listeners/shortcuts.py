"""The message shortcut "Ask faqbot about this": a private, cited answer to a question a
colleague posted, without retyping it.

The message's text is treated as a question: it is never logged (only its keyed hash), never
echoed into the channel, and the answer goes back privately through the payload's
``response_url``. *Share in channel* posts the answer, not the message, in a thread under it.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from faqbot.slack.blocks import Message
from faqbot.slack.listeners.common import (
    actor_id,
    for_shared_channel,
    reply_message,
    respond_private,
)
from faqbot.slack.opt_out_status import answer_with_status, workspace_key
from faqbot.slack.services import services_of

CALLBACK_ID = "ask_faqbot_about_message"


def ask_about_message(ack: Ack, shortcut: dict[str, Any], respond: Respond,
                      client: WebClient, context: BoltContext) -> None:
    """Ack, then answer the shortcut's message privately to the person who used it."""
    ack()
    services = services_of(context)
    message = shortcut.get("message") or {}
    text = message.get("text") or ""
    thread_ts = message.get("thread_ts") or message.get("ts")
    user_id = actor_id(shortcut)

    def send(reply: Message) -> None:
        respond_private(respond, reply)

    def work() -> None:
        channel = (shortcut.get("channel") or {}).get("id")
        shared = services.shared.is_shared(client, channel,
                                           shortcut.get("is_ext_shared_channel"))
        reply = services.asker.ask(text, via="shortcut", user=user_id)
        if shared:
            reply = for_shared_channel(services, reply)
        send(answer_with_status(services.opt_out, workspace_key(context), text,
                                reply.answer.faq,
                                reply_message(reply, share=not shared,
                                              share_in_thread=thread_ts)))

    services.answers.run("shortcut", work, send, qhash=services.asker.question_id(text))


def register(app: App) -> None:
    """Register the message shortcut."""
    app.shortcut(CALLBACK_ID)(ask_about_message)
