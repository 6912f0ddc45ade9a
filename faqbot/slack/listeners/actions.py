"""Buttons: share an answer, helpful / not helpful, ask an FAQ question, the opt-out guide.

Button values carry ids only (FAQ id, passage ids): answers are re-rendered from the snapshot
in service, so a shared answer never holds the question and always matches the documents.
Clicks in the App Home have no response_url; their answers arrive in the user's DM.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from faqbot.slack.blocks import (
    ACTION_ASK_FAQ,
    ACTION_HELPFUL,
    ACTION_NOT_HELPFUL,
    ACTION_OPT_OUT,
    ACTION_SHARE,
    EXPIRED,
    THANKS,
    Message,
    answer_message,
    decode_ref,
    decode_thread,
    notice,
)
from faqbot.slack.failures import failed
from faqbot.slack.listeners.common import (
    actor_id,
    deliver_privately,
    opt_out_reply,
    tell_failure,
)
from faqbot.slack.opt_out_status import answer_with_status, workspace_key
from faqbot.slack.services import services_of
from faqbot.slack.shared_channels import NO_SHARE

log = logging.getLogger("faqbot.slack")


def share(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
          client: WebClient, context: BoltContext) -> None:
    """Post the answer in the button's value to the channel, as shared by the clicker."""
    ack()
    try:
        ref = decode_ref(action.get("value"))
        answer = services_of(context).catalog.answer_from_refs(*ref) if ref else None
        if answer is None or not body.get("response_url"):
            deliver_privately(body, respond, client, notice(EXPIRED))
            return
        channel = (body.get("channel") or {}).get("id")
        if services_of(context).shared.is_shared(client, channel,
                                                 body.get("is_ext_shared_channel")):
            deliver_privately(body, respond, client, notice(NO_SHARE))
            return
        message = answer_message(answer, shared_by=actor_id(body), feedback=False,
                                 show_confidence=False)
        thread = decode_thread(action.get("value"))  # an answer about a message: its thread
        respond(**message.kwargs(), response_type="in_channel", replace_original=False,
                unfurl_links=False, unfurl_media=False, thread_ts=thread)
        log.info("shared user=%s faq=%s passages=%d", actor_id(body) or "-",
                 ref[0] if ref and ref[0] else "-", len(answer.hits))
    except Exception as exc:
        failed("share", exc)
        tell_failure("share", lambda m: deliver_privately(body, respond, client, m))


def _feedback(verdict: str, ack: Ack, body: dict[str, Any], action: dict[str, Any],
              respond: Respond, client: WebClient, context: BoltContext) -> None:
    ack()
    try:
        ref = decode_ref(action.get("value"))
        if ref is None:
            deliver_privately(body, respond, client, notice(EXPIRED))
            return
        services = services_of(context)
        services.feedback.record(verdict, ref[0], ref[1])
        if verdict == "not_helpful":
            services.asker.gaps.record_not_helpful(ref[0], ref[1])
        log.info("feedback verdict=%s faq=%s passages=%d", verdict, ref[0] or "-", len(ref[1]))
        deliver_privately(body, respond, client, notice(THANKS))
    except Exception as exc:
        failed("feedback", exc)


def feedback_helpful(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                     client: WebClient, context: BoltContext) -> None:
    """Count a *Helpful* click for the ids in the value, and thank the clicker."""
    _feedback("helpful", ack, body, action, respond, client, context)


def feedback_not_helpful(ack: Ack, body: dict[str, Any], action: dict[str, Any],
                         respond: Respond, client: WebClient, context: BoltContext) -> None:
    """Count a *Not helpful* click for the ids in the value, and thank the clicker."""
    _feedback("not_helpful", ack, body, action, respond, client, context)


def ask_faq(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
            client: WebClient, context: BoltContext) -> None:
    """Answer the FAQ question named by the button, privately to the clicker."""
    ack()
    services = services_of(context)

    def send(message: Message) -> None:
        deliver_privately(body, respond, client, message)

    def work() -> None:
        answer = services.asker.answer_faq(action.get("value"))
        share = bool(body.get("response_url")) and body.get("container", {}).get(
            "is_ephemeral", False)
        message = notice(EXPIRED) if answer is None else answer_with_status(
            services.opt_out, workspace_key(context), "", answer.faq,
            answer_message(answer, share=share))
        # the value is logged only when it named a known FAQ entry (an id, never text)
        log.info("faq button user=%s faq=%s", actor_id(body) or "-",
                 action.get("value") if answer else "-")
        send(message)

    services.answers.run("faq button", work, send)


def opt_out(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient,
            context: BoltContext) -> None:
    """The guided opt-out flow, privately to the clicker."""
    ack()
    services = services_of(context)

    def send(message: Message) -> None:
        deliver_privately(body, respond, client, message)

    services.answers.run(
        "opt-out button",
        lambda: send(opt_out_reply(services, client, actor_id(body),
                                   team=workspace_key(context))), send)


def register(app: App) -> None:
    """Register one listener per button action id."""
    app.action(ACTION_SHARE)(share)
    app.action(ACTION_HELPFUL)(feedback_helpful)
    app.action(ACTION_NOT_HELPFUL)(feedback_not_helpful)
    app.action(ACTION_ASK_FAQ)(ask_faq)
    app.action(ACTION_OPT_OUT)(opt_out)
