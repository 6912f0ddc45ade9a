"""Buttons: share an answer, helpful / not helpful, ask an FAQ question, the opt-out guide.

Button values carry ids only (FAQ id, passage ids): answers are re-rendered from the snapshot
in service, so a shared answer never holds the question and always matches the documents.
Clicks in the App Home have no response_url; their answers arrive in the user's DM.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
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
    notice,
)
from faqbot.slack.bot import Bot, log
from faqbot.slack.listeners.common import (
    after_ack,
    opt_out_reply,
    post,
    respond_private,
    tell_failure,
)


def _user_id(body: dict[str, Any]) -> str | None:
    user = body.get("user") or {}
    return user.get("id") if isinstance(user, dict) else None


def _deliver(body: dict[str, Any], respond: Respond, client: WebClient, message: Message) -> None:
    """Privately to the clicker: ephemeral via response_url, or a DM for App Home clicks."""
    if body.get("response_url"):
        respond_private(respond, message, replace_original=False)
    else:
        user_id = _user_id(body)
        if user_id:
            post(client, user_id, message)


def register(app: App, bot: Bot) -> None:
    """Register one listener per button action id."""

    @app.action(ACTION_SHARE)
    def share(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
              client: WebClient) -> None:
        ack()
        try:
            ref = decode_ref(action.get("value"))
            answer = bot.answer_from_refs(*ref) if ref else None
            if answer is None or not body.get("response_url"):
                _deliver(body, respond, client, notice(EXPIRED))
                return
            message = answer_message(answer, shared_by=_user_id(body), feedback=False,
                                     show_confidence=False)
            respond(**message.kwargs(), response_type="in_channel", replace_original=False,
                    unfurl_links=False, unfurl_media=False)
            log.info("shared user=%s faq=%s passages=%d", _user_id(body) or "-",
                     ref[0] if ref and ref[0] else "-", len(answer.hits))
        except Exception as exc:
            bot.failed("share", exc)
            tell_failure(bot, "share", lambda m: _deliver(body, respond, client, m))

    def feedback(verdict: str) -> Callable[..., None]:
        def on_feedback(ack: Ack, body: dict[str, Any], action: dict[str, Any],
                        respond: Respond, client: WebClient) -> None:
            ack()
            try:
                ref = decode_ref(action.get("value"))
                if ref is None:
                    _deliver(body, respond, client, notice(EXPIRED))
                    return
                bot.feedback.record(verdict, ref[0], ref[1])
                log.info("feedback verdict=%s faq=%s passages=%d", verdict, ref[0] or "-",
                         len(ref[1]))
                _deliver(body, respond, client, notice(THANKS))
            except Exception as exc:
                bot.failed("feedback", exc)

        on_feedback.__name__ = f"feedback_{verdict}"
        return on_feedback

    app.action(ACTION_HELPFUL)(feedback("helpful"))
    app.action(ACTION_NOT_HELPFUL)(feedback("not_helpful"))

    @app.action(ACTION_ASK_FAQ)
    def ask_faq(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                client: WebClient) -> None:
        ack()

        def work() -> None:
            answer = bot.answer_faq(action.get("value"))
            share = bool(body.get("response_url")) and body.get("container", {}).get(
                "is_ephemeral", False)
            message = notice(EXPIRED) if answer is None else answer_message(answer, share=share)
            # the value is logged only when it named a known FAQ entry (an id, never text)
            log.info("faq button user=%s faq=%s", _user_id(body) or "-",
                     action.get("value") if answer else "-")
            _deliver(body, respond, client, message)

        after_ack(bot, "faq button", work, lambda m: _deliver(body, respond, client, m))

    @app.action(ACTION_OPT_OUT)
    def opt_out(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()

        after_ack(bot, "opt-out button",
                  lambda: _deliver(body, respond, client, opt_out_reply(bot, client,
                                                                        _user_id(body))),
                  lambda m: _deliver(body, respond, client, m))
