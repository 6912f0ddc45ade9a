"""The workspace's opt-out status as the Slack layer uses it: who may record it, the clock,
the store behind it.

The status is keyed by the Slack team id (the workspace), so each workspace of an OAuth or
org-wide install has its own; an org owner can record one for the whole Enterprise org
(keyed by its id), which every workspace of the org shows until it records its own. Only
workspace owners, org owners and faqbot's configured admins may change it; the role is
stored, never the person (the recording owner's user id is kept only while their request
waits for Slack, for the one reminder).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from faqbot.models import FaqEntry
from faqbot.settings import Settings
from faqbot.slack.blocks.kit import Block, Message, section
from faqbot.slack.blocks.opt_out_status import (
    STATUS_TITLE,
    UNAVAILABLE,
    status_blocks,
    with_controls,
    with_status,
    with_unavailable_status,
)
from faqbot.slack.failures import failed
from faqbot.slack.status_intent import about_opting_out, asks_status
from faqbot.state.opt_out import (
    OptOutRecord,
    OptOutStore,
    RecorderRole,
    open_opt_out_store,
    sqlite_url,
)

log = logging.getLogger("faqbot.slack")

Clock = Callable[[], dt.datetime]
Change = Literal["requested", "confirmed", "declined"]
#: The key used when Slack sent no team id (a single-workspace install behind a proxy).
NO_TEAM = "-"


def utc_now() -> dt.datetime:
    """The real clock (timezone-aware UTC)."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Place:
    """Where a request came from: the workspace (team id) and its Enterprise org, if any."""

    team: str
    org: str | None = None


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def workspace_key(context: Any) -> Place:
    """The place a request came from, from Bolt's ``context`` (team id, enterprise id)."""
    org = _id(getattr(context, "enterprise_id", None))
    return Place(team=_id(getattr(context, "team_id", None)) or org or NO_TEAM, org=org)


def recorder_role(user: dict[str, Any] | None, configured_admin: bool) -> RecorderRole | None:
    """The role that may record the status, from ``users.info``; None for everyone else."""
    if user:
        enterprise = user.get("enterprise_user") or {}
        if user.get("is_primary_owner"):
            return "primary owner"
        if user.get("is_org_owner") or enterprise.get("is_owner"):
            return "org owner"
        if user.get("is_owner"):
            return "workspace owner"
    return "faqbot admin" if configured_admin else None


class OptOutStatus:
    """The store, the clock and the reminder deadline, together."""

    def __init__(self, store: OptOutStore, *, reminder_days: int = 14,
                 clock: Clock = utc_now) -> None:
        self.store = store
        self.reminder_days = reminder_days
        self.clock = clock

    def now(self) -> dt.datetime:
        return self.clock()

    def today(self) -> dt.date:
        return self.clock().astimezone(dt.UTC).date()

    def of(self, place: Place) -> OptOutRecord | None:
        """The live record: the workspace's own, else its org's (raises if the store cannot
        be read: callers say so)."""
        own = self.store.get(place.team)
        if own is not None or place.org is None or place.org == place.team:
            return own
        return self.store.get(place.org)

    def record(self, workspace: str, change: Change, role: RecorderRole, *,
               user: str | None = None, on: dt.date | None = None,
               reason: str | None = None) -> OptOutRecord:
        """Record one change; ``on`` defaults to today (UTC)."""
        day, now = on or self.today(), self.now()
        if change == "requested":
            return self.store.record_requested(workspace, day, role, user, now)
        if change == "confirmed":
            return self.store.record_confirmed(workspace, day, role, now)
        return self.store.record_declined(workspace, reason, role, now)

    def close(self) -> None:
        self.store.close()


def open_opt_out_status(settings: Settings, clock: Clock = utc_now) -> OptOutStatus:
    """The status over ``FAQBOT_DATABASE_URL``, or SQLite under ``FAQBOT_STATE_DIR``."""
    url = (settings.database_url.get_secret_value() if settings.database_url
           else sqlite_url(settings.state_dir))
    return OptOutStatus(open_opt_out_store(url), reminder_days=settings.opt_out_reminder_days,
                        clock=clock)


def status_first(status: OptOutStatus, workspace: Place, reply: Message) -> Message:
    """``reply`` with the workspace's live opt-out status above it."""
    try:
        record = status.of(workspace)
    except Exception as exc:  # the database is down: say so, still answer
        failed("opt-out status read", exc)
        return with_unavailable_status(reply)
    return with_status(record, reply, org_wide=_org_wide(record, workspace))


def _org_wide(record: OptOutRecord | None, place: Place) -> bool:
    return record is not None and record.workspace != place.team


def guided_flow(status: OptOutStatus, workspace: Place, reply: Message, *,
                can_record: bool) -> Message:
    """The guided opt-out flow: the live status first, and for owners the record controls."""
    shown = status_first(status, workspace, reply)
    return with_controls(shown, status.today()) if can_record else shown


def answer_with_status(status: OptOutStatus, workspace: Place | None, question: str,
                       faq: FaqEntry | None, reply: Message) -> Message:
    """An answer, with the live status first when it asks for it or is about opting out.

    ``question`` is only matched here (``asks_status``), never kept.
    """
    if workspace is None or not (asks_status(question) or about_opting_out(faq)):
        return reply
    return status_first(status, workspace, reply)


def home_status(status: OptOutStatus, workspace: Place) -> list[Block]:
    """The status blocks for App Home (a note if the store cannot be read)."""
    try:
        record = status.of(workspace)
        return status_blocks(record, org_wide=_org_wide(record, workspace))
    except Exception as exc:
        failed("opt-out status read", exc)
        return [section(f"{STATUS_TITLE}\n{UNAVAILABLE}")]
