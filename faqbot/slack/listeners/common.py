"""Delivery helpers the listeners share: post, respond privately, the opt-out flow, failures."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from faqbot.slack.blocks import (
    FRIENDLY_ERROR,
    NO_PROCEDURE,
    Message,
    answer_message,
    decline_message,
    notice,
    opt_out_message,
)
from faqbot.slack.delivery import delivering, post_to_response_url
from faqbot.slack.failures import failed
from faqbot.slack.opt_out_status import Place, guided_flow
from faqbot.slack.services import SlackServices
from faqbot.slack.shared_channels import without_internal
from faqbot.slack.types import Reply

log = logging.getLogger("faqbot.slack")


def for_shared_channel(services: SlackServices, reply: Reply) -> Reply:
    """The reply with nothing from internal documents, for a channel shared with another
    organisation."""
    return dataclasses.replace(reply, answer=without_internal(reply.answer,
                                                              services.internal_docs()))


def reply_message(reply: Reply, *, share: bool = False, personal: bool = True,
                  share_in_thread: str | None = None) -> Message:
    """Render a Reply: a no-words decline, or the answer (personal note inline if private)."""
    kinds = reply.personal if personal else ()
    if not reply.has_words:
        return decline_message(reply.answer, no_words=True, personal=kinds)
    return answer_message(reply.answer, personal=kinds, share=share,
                          opt_out_button=reply.opt_out, share_in_thread=share_in_thread)


def opt_out_reply(services: SlackServices, client: WebClient, user_id: str | None,
                  personal: tuple[str, ...] = (), *, team: Place | None = None) -> Message:
    """The guided opt-out flow for one user: their role decides which version they get.

    With the ``team`` it came from, the workspace's live status goes first, and owners and
    admins get the controls to record what happened.
    """
    view = services.catalog.view()
    if view.opt_out is None:
        return notice(NO_PROCEDURE)
    role = services.directory.role(client, user_id)
    workspace = services.directory.workspace(client, team.team if team else None)
    log.info("opt-out flow user=%s role=%s", user_id or "-", role)
    flow = opt_out_message(view.opt_out, role, workspace, view.documents, personal=personal)
    if team is None:
        return flow
    return guided_flow(services.opt_out, team, flow,
                       can_record=role == "owner" or services.is_admin(user_id, team))


def post(client: WebClient, channel: str, message: Message, thread_ts: str | None = None) -> None:
    """chat.postMessage without link previews (answers cite several URLs); the client retries
    429s and 5xx (``faqbot.slack.delivery``), a timeout raises DeliveryUnknown."""
    with delivering():
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, unfurl_links=False,
                                unfurl_media=False, **message.kwargs())


def actor_id(payload: dict[str, Any]) -> str | None:
    """The user who clicked or used a shortcut, from an interactivity payload."""
    user = payload.get("user") or {}
    return user.get("id") if isinstance(user, dict) else None


def deliver_privately(body: dict[str, Any], respond: Callable[..., Any], client: WebClient,
                      message: Message) -> None:
    """Privately to the clicker: ephemeral via response_url, or a DM for App Home clicks."""
    if body.get("response_url"):
        respond_private(respond, message, replace_original=False)
    else:
        user_id = actor_id(body)
        if user_id:
            post(client, user_id, message)


def respond_private(respond: Callable[..., Any], message: Message, *,
                    replace_original: bool | None = None) -> None:
    """An ephemeral reply through response_url, retried on 404/429/5xx (honouring
    Retry-After); DeliveryFailed after the last refusal, DeliveryUnknown on a timeout."""
    fields = {**message.kwargs(), "response_type": "ephemeral",
              "replace_original": replace_original, "unfurl_links": False,
              "unfurl_media": False}
    url = getattr(respond, "response_url", None)
    if isinstance(url, str) and url:
        post_to_response_url(url, fields)
        return
    response = respond(**fields)  # not Bolt's Respond (a test double): as it is
    status = getattr(response, "status_code", 200)
    if status != 200:
        log.warning("respond failed status=%s", status)


def tell_failure(what: str, send: Callable[[Message], Any]) -> None:
    """Send the fixed friendly sentence; if even that fails, log its class only."""
    try:
        send(notice(FRIENDLY_ERROR))
    except Exception as exc:
        failed(f"{what} (error notice)", exc)
