"""Messages to the bot: direct messages (answered in the DM) and mentions (answered in thread).

``app.event("message")`` rather than ``app.message()``: the latter leaves edits and deletions
unhandled, which Bolt answers with a 404 that makes Slack retry. Every message event is
matched here and anything that is not a person's new DM is ignored.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from faqbot.slack.asking import clean_question
from faqbot.slack.blocks import Message, help_message, notice, personal_note
from faqbot.slack.listeners.common import (
    for_shared_channel,
    opt_out_reply,
    post,
    reply_message,
)
from faqbot.slack.opt_out_status import answer_with_status, workspace_key
from faqbot.slack.services import services_of
from faqbot.slack.shared_channels import SHARED_NOTE


def from_a_person(event: dict[str, Any], context: BoltContext) -> bool:
    """A new message typed by a person: no subtype (edits, deletions, joins), no bot."""
    return not (
        event.get("subtype")
        or event.get("bot_id")
        or event.get("bot_profile")
        or not event.get("user")
        or event.get("user") == context.bot_user_id
    )


def direct_message(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """A person's new DM: the answer goes back in the DM (in its thread, if it has one)."""
    if event.get("channel_type") != "im" or not from_a_person(event, context):
        return
    user_id, channel = event.get("user"), event.get("channel")
    thread_ts = event.get("thread_ts")
    if not channel:
        return
    services = services_of(context)
    text = event.get("text") or ""

    def send(message: Message) -> None:
        post(client, channel, message, thread_ts)

    def work() -> None:
        if event.get("ts"):  # the agent view's "thinking" status; a plain DM ignores it
            services.agent_view.show_status(client, context.team_id or "-", channel,
                                            thread_ts or event["ts"])
        team = workspace_key(context)
        reply = services.asker.ask(text, via="dm", user=user_id)
        if reply.opt_out and services.catalog.view().opt_out is not None:
            send(opt_out_reply(services, client, user_id, reply.personal, team=team))
        else:
            send(answer_with_status(services.opt_out, team, text, reply.answer.faq,
                                    reply_message(reply)))

    services.answers.run("dm", work, send, qhash=services.asker.question_id(text))


def mention(event: dict[str, Any], body: dict[str, Any], client: WebClient,
            context: BoltContext) -> None:
    """A mention in a channel: the answer in its thread; a bare mention gets the help. In a
    channel shared with another organisation, the asker alone gets the reply, with a note why,
    and no internal document is quoted."""
    if not from_a_person(event, context) or not event.get("channel") or not event.get("ts"):
        return
    services = services_of(context)
    user_id, channel = event.get("user"), event["channel"]
    thread_ts = event.get("thread_ts") or event["ts"]
    text = event.get("text") or ""
    asks = bool(clean_question(text))

    def send_public(message: Message) -> None:
        post(client, channel, message, thread_ts)

    def send_private(message: Message) -> None:
        if user_id:
            client.chat_postEphemeral(channel=channel, user=user_id, thread_ts=thread_ts,
                                      **message.kwargs())

    in_shared: list[bool] = []  # known once work() has asked; the failure notice follows it

    def send(message: Message) -> None:
        (send_private if not in_shared or in_shared[0] else send_public)(message)

    def work() -> None:
        shared = services.shared.is_shared(client, channel, body.get("is_ext_shared_channel"))
        in_shared.append(shared)
        if not asks:
            view = services.catalog.view()
            send(help_message(services.outcomes.most_asked(view.faq),
                              opt_out=view.opt_out is not None))
            return
        reply = services.asker.ask(text, via="mention", user=user_id)
        if shared:
            reply = for_shared_channel(services, reply)
            send_private(notice(SHARED_NOTE))
            send_private(answer_with_status(services.opt_out, workspace_key(context), text,
                                            reply.answer.faq, reply_message(reply)))
            return
        # the thread is public: the personal-data note goes to the asker alone
        send_public(answer_with_status(services.opt_out, workspace_key(context), text,
                                       reply.answer.faq, reply_message(reply, personal=False)))
        if reply.personal:
            send_private(personal_note(reply.personal))

    services.answers.run("mention", work, send,
                         qhash=services.asker.question_id(text) if asks else "-")


def register(app: App) -> None:
    """Register the direct-message and mention listeners."""
    app.event("message")(direct_message)
    app.event("app_mention")(mention)
