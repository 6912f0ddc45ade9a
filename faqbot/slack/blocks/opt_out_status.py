"""The workspace's own opt-out status: the sentence everyone sees, the owners' record buttons,
the reminder DM.

Every sentence here is faqbot's own wording filled with dates and fixed labels; nothing a
member typed is ever rendered here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from faqbot.models import OptOutProcedure
from faqbot.slack.blocks.kit import (
    Block,
    Message,
    actions,
    button,
    code,
    context,
    divider,
    escape,
    finalize,
    message,
    section,
)
from faqbot.slack.types import Workspace
from faqbot.state.opt_out import DECLINE_REASONS, ChangeEntry, OptOutRecord

ACTION_RECORD_REQUESTED = "opt_out_record_requested"
ACTION_RECORD_CONFIRMED = "opt_out_record_confirmed"
ACTION_RECORD_DECLINED = "opt_out_record_declined"
ACTION_PICK_DATE = "opt_out_pick_date"
ACTION_PICK_REASON = "opt_out_pick_reason"
#: Every action id the record controls carry (the opt-out status listener handles each).
STATUS_ACTIONS = (ACTION_RECORD_REQUESTED, ACTION_RECORD_CONFIRMED, ACTION_RECORD_DECLINED,
                  ACTION_PICK_DATE, ACTION_PICK_REASON)
#: Block ids of the date picker and the reason menu: a click reads them from ``state``.
BLOCK_DATE = "opt_out_record_date"
BLOCK_REASON = "opt_out_record_reason"

NOT_RECORDED = ("Nobody has recorded an opt-out for this workspace. An owner can start it with "
                "`/privacy opt-out`.")
STATUS_TITLE = "*This workspace's opt-out status*"
ORG_WIDE = ("Recorded for the whole organisation by its org owners; this workspace has not "
            "recorded its own.")
KEPT_BY = ("Recorded by this workspace's owners in faqbot; the documents below can't know it.")


def long_date(day: dt.date) -> str:
    """'20 May 2024'."""
    return f"{day.day} {day:%B %Y}"


def status_sentence(record: OptOutRecord | None) -> str:
    """The live status in one or two sentences (mrkdwn-safe: only our words and dates)."""
    if record is None:
        return NOT_RECORDED
    if record.status == "confirmed":
        confirmed = long_date(record.confirmed_on) if record.confirmed_on else "an unknown date"
        if record.requested_on:
            return (f"Your workspace owners requested the opt-out on "
                    f"{long_date(record.requested_on)}, and Slack confirmed it on {confirmed}.")
        return f"Slack confirmed this workspace's opt-out on {confirmed}."
    if record.status == "requested":
        requested = long_date(record.requested_on) if record.requested_on else "an unknown date"
        return f"Requested on {requested}; Slack has not confirmed it yet."
    reason = DECLINE_REASONS.get(record.declined_reason or "")
    because = f" (reason: {reason})" if reason else ""
    return (f"Your workspace owners decided not to opt out{because}, so this workspace's data "
            "can be used to train Slack's global models.")


def recorded_line(record: OptOutRecord) -> str:
    """'Last changed by a workspace owner on 2 Dec 2026 at 09:30 UTC.'"""
    return (f"Last changed by a {record.recorded_by} on {long_date(record.changed_at.date())} "
            f"at {record.changed_at:%H:%M} UTC.")


def status_blocks(record: OptOutRecord | None, *, org_wide: bool = False) -> list[Block]:
    """The status section (and who changed it last) shown above answers and in App Home;
    ``org_wide``: the record is the org's, this workspace has none of its own."""
    blocks = [section(f"{STATUS_TITLE}\n{status_sentence(record)}")]
    if record is None:
        blocks.append(context(KEPT_BY))
        return blocks
    scope = ORG_WIDE + " " if org_wide else ""
    blocks.append(context(f"{scope}{recorded_line(record)} {KEPT_BY}"))
    return blocks


def with_status(record: OptOutRecord | None, reply: Message, *,
                org_wide: bool = False) -> Message:
    """``reply`` with the live status first (blocks and fallback text)."""
    text = f"{escape(status_sentence(record))}\n{reply.text}"
    return Message(text=text, blocks=finalize([*status_blocks(record, org_wide=org_wide),
                                               divider(), *reply.blocks]))


def record_controls(today: dt.date) -> list[Block]:
    """For owners, after the ready email: record what happened, with a date or a reason."""
    date_picker: Block = {
        "type": "datepicker", "action_id": ACTION_PICK_DATE, "initial_date": today.isoformat(),
        "placeholder": {"type": "plain_text", "text": "Date"},
    }
    reasons: Block = {
        "type": "static_select", "action_id": ACTION_PICK_REASON,
        "placeholder": {"type": "plain_text", "text": "Reason (optional)"},
        "options": [{"text": {"type": "plain_text", "text": label[:75]}, "value": key}
                    for key, label in DECLINE_REASONS.items()],
    }
    return [
        section("*Record what happened*, so everyone who asks sees the status. Pick the date "
                "you sent the request, or the date of Slack's reply:"),
        actions([date_picker,
                 button("I've sent the request", ACTION_RECORD_REQUESTED, "requested",
                        style="primary"),
                 button("Slack confirmed the opt-out", ACTION_RECORD_CONFIRMED, "confirmed")],
                block_id=BLOCK_DATE),
        actions([reasons,
                 button("We decided not to opt out", ACTION_RECORD_DECLINED, "declined")],
                block_id=BLOCK_REASON),
        context("Only owners and faqbot's admins can record it. faqbot keeps the status, the "
                "dates and the role of who recorded it, never a name."),
    ]


def recorded_message(record: OptOutRecord) -> Message:
    """The confirmation an owner gets after a change."""
    return message(f"Recorded. {status_sentence(record)}",
                   [section(f"*Recorded.* {status_sentence(record)}"),
                    context(recorded_line(record))])


def status_report(record: OptOutRecord | None, history: Sequence[ChangeEntry], *,
                  org_wide: bool = False) -> Message:
    """``/privacy admin opt-out status``: the status and every change (roles and times)."""
    blocks = status_blocks(record, org_wide=org_wide)
    if history:
        lines = [f"• {long_date(c.at.date())} {c.at:%H:%M} UTC: *{c.status}*"
                 + (f" ({long_date(c.on)})" if c.on else "") + f" by a {c.role}"
                 for c in history[-20:]]
        blocks.append(section("*Changes*\n" + "\n".join(lines)))
    return message(status_sentence(record), blocks)


def follow_up_body(record: OptOutRecord, workspace: Workspace | None) -> str:
    """The ready follow-up email to Slack about an unconfirmed request."""
    name = workspace.name if workspace else "<your workspace name>"
    url = workspace.url if workspace else "<your workspace URL>"
    sent = long_date(record.requested_on) if record.requested_on else "an earlier date"
    return (f"Hello,\n\nOn {sent} we asked for our workspace {name} ({url}) to be opted out of "
            "the training of Slack's global models. We have not received a confirmation yet. "
            "Could you please confirm that the opt-out is done?\n\nThank you.")


def reminder_message(record: OptOutRecord, procedure: OptOutProcedure | None,
                     workspace: Workspace | None, days: int, today: dt.date) -> Message:
    """The one DM to the owner who recorded a request Slack has not confirmed."""
    sent = long_date(record.requested_on) if record.requested_on else "some time ago"
    lead = (f"You recorded that the opt-out request was sent on {sent}, and nobody has "
            f"recorded Slack's confirmation in the {days} days since. Here is a follow-up, "
            "ready to send:")
    blocks: list[Block] = [section(f"*Opt-out reminder.* {lead}")]
    if procedure is not None:
        blocks.append(section(f"*To:* {escape(procedure.email)}\n"
                              f"*Subject:* {escape('Re: ' + procedure.subject)}"))
    blocks.append(section(code(follow_up_body(record, workspace))))
    blocks += record_controls(today)
    blocks.append(context("This is the only reminder unless the status changes."))
    return message(f"Opt-out reminder: requested on {sent}, not confirmed yet.", blocks)


UNAVAILABLE = "I couldn't read this workspace's opt-out status just now. Please ask again later."


def with_unavailable_status(reply: Message) -> Message:
    """``reply`` with a note that the status could not be read (the store is down)."""
    return Message(text=f"{UNAVAILABLE}\n{reply.text}",
                   blocks=finalize([section(f"{STATUS_TITLE}\n{UNAVAILABLE}"), divider(),
                                    *reply.blocks]))


def with_controls(reply: Message, today: dt.date) -> Message:
    """The guided flow for an owner, with the record controls after the ready email."""
    return Message(text=reply.text, blocks=finalize([*reply.blocks, divider(),
                                                     *record_controls(today)]))
