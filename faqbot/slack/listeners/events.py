"""Messages to the bot: direct messages (answered in the DM) and mentions (answered in thread).

``app.event("message")`` rather than ``app.message()``: the latter leaves edits and deletions
unhandled, which Bolt answers with a 404 that makes Slack retry. Every message event is
matched here and anything that is not a person's new DM is ignored.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from faqbot.slack.blocks import help_message, personal_note
from faqbot.slack.bot import Bot, clean_question
from faqbot.slack.listeners.common import after_ack, opt_out_reply, post, reply_message

EVENTS = ("app_mention", "message")


def from_a_person(event: dict[str, Any], context: BoltContext) -> bool:
    """A new message typed by a person: no subtype (edits, deletions, joins), no bot."""
    return not (
        event.get("subtype")
        or event.get("bot_id")
        or event.get("bot_profile")
        or not event.get("user")
        or event.get("user") == context.bot_user_id
    )


def register(app: App, bot: Bot) -> None:
    """Register the direct-message and mention listeners."""

    @app.event("message")
    def direct_message(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("channel_type") != "im" or not from_a_person(event, context):
            return
        user_id, channel = event.get("user"), event.get("channel")
        thread_ts = event.get("thread_ts")
        if not channel:
            return
        text = event.get("text") or ""

        def work() -> None:
            reply = bot.ask(text, via="dm", user=user_id)
            if reply.opt_out and bot.engine.snapshot.opt_out is not None:
                message = opt_out_reply(bot, client, user_id, reply.personal)
            else:
                message = reply_message(reply)
            post(client, channel, message, thread_ts)

        after_ack(bot, "dm", work, lambda m: post(client, channel, m, thread_ts),
                  qhash=bot.question_id(text))

    @app.event("app_mention")
    def mention(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not from_a_person(event, context) or not event.get("channel") or not event.get("ts"):
            return
        user_id, channel = event.get("user"), event["channel"]
        thread_ts = event.get("thread_ts") or event["ts"]
        text = event.get("text") or ""

        asks = bool(clean_question(text))

        def work() -> None:
            if not asks:
                snapshot = bot.engine.snapshot
                post(client, channel, help_message(bot.outcomes.most_asked(snapshot.faq),
                                                   opt_out=snapshot.opt_out is not None),
                     thread_ts)
                return
            reply = bot.ask(text, via="mention", user=user_id)
            # the thread is public: the personal-data note goes to the asker alone
            post(client, channel, reply_message(reply, personal=False), thread_ts)
            if reply.personal and user_id:
                client.chat_postEphemeral(channel=channel, user=user_id, thread_ts=thread_ts,
                                          **personal_note(reply.personal).kwargs())

        after_ack(bot, "mention", work, lambda m: post(client, channel, m, thread_ts),
                  qhash=bot.question_id(text) if asks else "-")
