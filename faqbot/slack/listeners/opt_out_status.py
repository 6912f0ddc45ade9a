"""Owners record the workspace's opt-out status: the buttons after the ready email, and
``/privacy admin opt-out status|requested [DATE]|confirmed [DATE]|declined [REASON]|reset``;
``/privacy admin opt-out org <the same>`` is the org-wide status (org owners only).

Anyone may see the status; only workspace owners, org owners and faqbot's configured admins
(``FAQBOT_ADMIN_USER_IDS``) may change it, checked with ``users.info`` on every change.
Everyone else gets one polite refusal. What is stored: the status, dates, a fixed reason key,
the role and the time (see ``faqbot.state.opt_out``); a click's value names only the change.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from faqbot.slack.blocks import Message, notice
from faqbot.slack.blocks.opt_out_status import (
    ACTION_PICK_DATE,
    ACTION_PICK_REASON,
    ACTION_RECORD_CONFIRMED,
    ACTION_RECORD_DECLINED,
    ACTION_RECORD_REQUESTED,
    BLOCK_DATE,
    BLOCK_REASON,
    recorded_message,
    status_report,
)
from faqbot.slack.later import Send
from faqbot.slack.listeners.common import actor_id, deliver_privately
from faqbot.slack.opt_out_status import Change, Place, recorder_role, workspace_key
from faqbot.slack.services import SlackServices, services_of
from faqbot.state.opt_out import DECLINE_REASONS

log = logging.getLogger("faqbot.slack")

#: The words after ``admin`` that name this command ("opt out" may come as two words).
OPT_OUT_NAMES = ("opt-out", "optout", "opt_out")
ADMIN_ACTIONS = ("status", "requested", "confirmed", "declined", "reset")
#: The earliest date accepted (Slack's opt-out by email is far younger).
EARLIEST = dt.date(2010, 1, 1)

REFUSED = ("Sorry, only this workspace's owners, org owners and faqbot's admins can change the "
           "opt-out status. Anyone can see it: ask me “have we opted out?”.")
NO_ROLE = ("I couldn't check your role with Slack just now, so I changed nothing. Please try "
           "again in a minute.")
BAD_DATE = ("I couldn't read that as a date (try 2024-05-20 or 20 May 2024), or it is in the "
            "future. Nothing was changed.")
BAD_REASON = ("That isn't one of the reasons I can record, so nothing was changed. Use one of: "
              + ", ".join(f"`{k}` ({v})" for k, v in DECLINE_REASONS.items()) + ", or none.")
RESET_DONE = "Deleted: this workspace's opt-out status and its history are gone."
RESET_NONE = "There was no opt-out status recorded for this workspace, so nothing was deleted."
ORG_REFUSED = ("Sorry, only org owners can change the opt-out status of the whole "
               "organisation. Anyone can see it: ask me “have we opted out?”.")
NO_ORG = ("This workspace isn't part of an Enterprise organisation, so there is no org-wide "
          "status: leave out `org`.")
USAGE = ("`/privacy admin opt-out status` shows the status and its changes; owners record it "
         "with `requested [DATE]`, `confirmed [DATE]`, `declined [REASON]` or `reset`.")

_SPLIT_NAME = re.compile(r"^\s*admin\s+opt\s+out\b", re.IGNORECASE)


def parse_admin(text: str) -> tuple[str, str, bool] | None:
    """(action, rest, org) for ``admin opt-out [org] <action> [rest]``; None if the text is
    not one.

    No action means 'status'. An unknown word after ``opt-out`` makes it no command at all
    (``admin opt out of my DMs?`` is a question).
    """
    text = _SPLIT_NAME.sub("admin opt-out", text, count=1)
    words = text.split()
    if len(words) < 2 or words[0].lower() != "admin" or words[1].lower() not in OPT_OUT_NAMES:
        return None
    org = len(words) > 2 and words[2].lower() == "org"
    words = words[3:] if org else words[2:]
    if not words:
        return "status", "", org
    action = words[0].lower()
    if action not in ADMIN_ACTIONS:
        return None
    return action, " ".join(words[1:]), org


def parse_day(text: str, today: dt.date) -> dt.date | None:
    """A date an owner typed or picked: ISO first, then English dates ('20 May 2024')."""
    text = text.strip()
    day: dt.date | None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        import dateparser  # late: it is slow to import

        parsed = dateparser.parse(text[:40], languages=["en"], settings={
            "STRICT_PARSING": True, "DATE_ORDER": "DMY", "PREFER_DATES_FROM": "past"})
        day = parsed.date() if parsed else None
    if day is None or day < EARLIEST or day > today + dt.timedelta(days=1):
        return None
    return day


def _change(services: SlackServices, client: WebClient, workspace: str, user_id: str | None,
            change: Change | None, day: dt.date | None, reason: str | None, *,
            place: Place, org: bool = False) -> Message:
    """Check the role, then record ``change`` (None: reset) under the ``workspace`` key (the
    org's id when ``org``); the reply to show."""
    user = services.directory.user(client, user_id)
    role = recorder_role(user, services.is_admin(user_id, place))
    if role is None or (org and role != "org owner"):
        log.info("opt-out status change refused user=%s org=%s", user_id or "-", org)
        if user is None and role is None:
            return notice(NO_ROLE)
        return notice(ORG_REFUSED if org else REFUSED)
    if change is None:
        gone = services.opt_out.store.reset(workspace)
        log.info("opt-out status reset workspace=%s role=%s deleted=%s", workspace, role, gone)
        return notice(RESET_DONE if gone else RESET_NONE)
    record = services.opt_out.record(workspace, change, role, on=day, reason=reason,
                                     user=user_id if change == "requested" else None)
    return recorded_message(record)


def handle_admin(services: SlackServices, client: WebClient, place: Place,
                 user_id: str | None, text: str, send: Send) -> None:
    """Run one ``/privacy admin opt-out ...`` command and send the reply."""
    parsed = parse_admin(text)
    action, rest, org = parsed if parsed else ("status", "", False)
    if org and place.org is None:
        send(notice(NO_ORG))
        return
    key = place.org if org and place.org else place.team
    if action == "status":
        status = services.opt_out
        record = status.store.get(key) if org else status.of(place)
        shown = record.workspace if record else key
        send(status_report(record, status.store.history(shown),
                           org_wide=record is not None and record.workspace != place.team))
        return
    day: dt.date | None = None
    reason: str | None = None
    if action in ("requested", "confirmed") and rest:
        day = parse_day(rest, services.opt_out.today())
        if day is None:
            send(notice(BAD_DATE))
            return
    if action == "declined" and rest:
        reason = rest.strip().lower()
        if reason not in DECLINE_REASONS:
            send(notice(BAD_REASON))
            return
    change: Change | None = None if action == "reset" else action  # type: ignore[assignment]
    send(_change(services, client, key, user_id, change, day, reason, place=place, org=org))


def _state_value(body: dict[str, Any], block_id: str, action_id: str) -> dict[str, Any]:
    """What a date picker or menu in the clicked message holds (message or App Home)."""
    state = body.get("state") or (body.get("view") or {}).get("state") or {}
    value = (state.get("values") or {}).get(block_id, {}).get(action_id)
    return value if isinstance(value, dict) else {}


def _record_click(change: Change, ack: Ack, body: dict[str, Any], respond: Respond,
                  client: WebClient, context: BoltContext) -> None:
    ack()
    services = services_of(context)

    def send(message: Message) -> None:
        deliver_privately(body, respond, client, message)

    def work() -> None:
        day: dt.date | None = None
        reason: str | None = None
        if change == "declined":
            option = _state_value(body, BLOCK_REASON, ACTION_PICK_REASON).get(
                "selected_option") or {}
            picked = option.get("value") if isinstance(option, dict) else None
            reason = picked if picked in DECLINE_REASONS else None
        else:
            picked = _state_value(body, BLOCK_DATE, ACTION_PICK_DATE).get("selected_date")
            if isinstance(picked, str) and picked:
                day = parse_day(picked, services.opt_out.today())
                if day is None:
                    send(notice(BAD_DATE))
                    return
        place = workspace_key(context)
        send(_change(services, client, place.team, actor_id(body), change, day, reason,
                     place=place))

    services.answers.run(f"opt-out {change} button", work, send)


def record_requested(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient,
                     context: BoltContext) -> None:
    """*I've sent the request*, on the picked date (default today)."""
    _record_click("requested", ack, body, respond, client, context)


def record_confirmed(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient,
                     context: BoltContext) -> None:
    """*Slack confirmed the opt-out*, on the picked date (default today)."""
    _record_click("confirmed", ack, body, respond, client, context)


def record_declined(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient,
                    context: BoltContext) -> None:
    """*We decided not to opt out*, with the picked reason from the fixed list, if any."""
    _record_click("declined", ack, body, respond, client, context)


def picked(ack: Ack) -> None:
    """Picking a date or a reason changes nothing until a button is clicked."""
    ack()


def register(app: App) -> None:
    """Register the record buttons and the picker acks."""
    app.action(ACTION_RECORD_REQUESTED)(record_requested)
    app.action(ACTION_RECORD_CONFIRMED)(record_confirmed)
    app.action(ACTION_RECORD_DECLINED)(record_declined)
    app.action(ACTION_PICK_DATE)(picked)
    app.action(ACTION_PICK_REASON)(picked)
