"""Each workspace's opt-out status, as its owners recorded it: the store and its interface.

What one workspace's record holds, and nothing else:

- the status (requested, confirmed or declined) and its dates (the day the request was sent,
  the day Slack confirmed it) or the key of a decline reason from ``DECLINE_REASONS``;
- which *role* recorded the latest change and when (never a name);
- while a request waits for Slack's confirmation, the Slack user id of the owner who recorded
  it, so that one reminder can reach them; it is dropped when the status changes or is reset;
- when that reminder went out;
- one row per change: the status, the role, the date given and the time.

No question, message or free text is ever written. ``OptOutStore`` is the interface the Slack
layer uses; ``SqlOptOutStore`` implements it on SQLAlchemy Core (SQLite by default, Postgres
through ``FAQBOT_DATABASE_URL``). A Redis store would implement the same protocol.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    create_engine,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError

log = logging.getLogger("faqbot.state")

Status = Literal["requested", "confirmed", "declined"]
#: Who may change the status; the role is stored, never the person.
RecorderRole = Literal["primary owner", "org owner", "workspace owner", "faqbot admin"]
STATUSES: tuple[str, ...] = get_args(Status)
ROLES: tuple[str, ...] = get_args(RecorderRole)

#: The fixed reasons an owner can give for not opting out (key → what is shown).
DECLINE_REASONS: dict[str, str] = {
    "acceptable": "the data use Slack describes is acceptable to us",
    "contract": "our contract with Slack already covers it",
    "legal": "our legal or privacy team advised against it for now",
    "later": "we will look at it again later",
    "other": "another reason",
}

#: The SQLite file under ``FAQBOT_STATE_DIR`` when no database URL is configured.
SQLITE_FILE = "faqbot.sqlite3"

_metadata = MetaData()
_status = Table(
    "opt_out_status", _metadata,
    Column("workspace", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("requested_on", Date),
    Column("confirmed_on", Date),
    Column("declined_reason", String(16)),
    Column("recorded_by", String(32), nullable=False),
    Column("changed_at", DateTime, nullable=False),
    Column("reminder_user", String(32)),
    Column("reminded_at", DateTime),
)
_changes = Table(
    "opt_out_changes", _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("role", String(32), nullable=False),
    Column("on_date", Date),
    Column("at", DateTime, nullable=False),
)


@dataclass(frozen=True)
class OptOutRecord:
    """One workspace's opt-out status (times are timezone-aware UTC)."""

    workspace: str
    status: Status
    requested_on: dt.date | None
    confirmed_on: dt.date | None
    declined_reason: str | None
    recorded_by: RecorderRole
    changed_at: dt.datetime
    reminder_user: str | None = None
    reminded_at: dt.datetime | None = None


@dataclass(frozen=True)
class ChangeEntry:
    """One recorded change: status, the role that made it, the date given, when."""

    status: Status
    role: RecorderRole
    on: dt.date | None
    at: dt.datetime


class OptOutStore(Protocol):
    """Where opt-out records live; every method is safe to call from several threads."""

    def get(self, workspace: str) -> OptOutRecord | None:
        """The workspace's record, or None when nobody recorded anything."""
        ...

    def record_requested(self, workspace: str, on: dt.date, role: RecorderRole,
                         user: str | None, at: dt.datetime) -> OptOutRecord:
        """The request was sent on ``on``; ``user`` is kept only to send one reminder."""
        ...

    def record_confirmed(self, workspace: str, on: dt.date, role: RecorderRole,
                         at: dt.datetime) -> OptOutRecord:
        """Slack confirmed on ``on``; the request date, if any, is kept."""
        ...

    def record_declined(self, workspace: str, reason: str | None, role: RecorderRole,
                        at: dt.datetime) -> OptOutRecord:
        """The owners decided not to opt out (``reason``: a key of ``DECLINE_REASONS``)."""
        ...

    def history(self, workspace: str) -> list[ChangeEntry]:
        """Every change recorded for the workspace, oldest first."""
        ...

    def reset(self, workspace: str) -> bool:
        """Delete the record and its history; True if there was one."""
        ...

    def due_reminders(self, requested_before: dt.date) -> list[OptOutRecord]:
        """Requests sent before that day, still unconfirmed, not yet reminded."""
        ...

    def claim_reminder(self, workspace: str, at: dt.datetime) -> bool:
        """Mark the reminder as sent; True only for the one caller that marked it."""
        ...

    def release_reminder(self, workspace: str) -> None:
        """Undo a claim whose DM could not be sent, so a later check tries again."""
        ...

    def close(self) -> None:
        """Release the connections."""
        ...


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("times given to the store must be timezone-aware")
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else _utc(moment)


def _check(role: str, reason: str | None = None) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown recorder role {role!r}")
    if reason is not None and reason not in DECLINE_REASONS:
        raise ValueError(f"unknown decline reason {reason!r}")


class SqlOptOutStore:
    """``OptOutStore`` on a SQLAlchemy engine (SQLite file, Postgres, ...)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        _metadata.create_all(engine)

    # -- reading --------------------------------------------------------------------------

    def get(self, workspace: str) -> OptOutRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_status).where(_status.c.workspace == workspace)).first()
        return None if row is None else self._record(row._mapping)

    def history(self, workspace: str) -> list[ChangeEntry]:
        query = (select(_changes).where(_changes.c.workspace == workspace)
                 .order_by(_changes.c.id))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [ChangeEntry(status=r.status, role=r.role, on=r.on_date, at=_utc(r.at))
                for r in rows]

    def due_reminders(self, requested_before: dt.date) -> list[OptOutRecord]:
        query = select(_status).where(and_(_status.c.status == "requested",
                                           _status.c.requested_on < requested_before,
                                           _status.c.reminded_at.is_(None),
                                           _status.c.reminder_user.is_not(None)))
        with self.engine.connect() as conn:
            return [self._record(r._mapping) for r in conn.execute(query).all()]

    # -- changes ----------------------------------------------------------------------------

    def record_requested(self, workspace: str, on: dt.date, role: RecorderRole,
                         user: str | None, at: dt.datetime) -> OptOutRecord:
        _check(role)
        return self._write(workspace, "requested", role, at, on,
                           {"requested_on": on, "confirmed_on": None, "declined_reason": None,
                            "reminder_user": user})

    def record_confirmed(self, workspace: str, on: dt.date, role: RecorderRole,
                         at: dt.datetime) -> OptOutRecord:
        _check(role)
        return self._write(workspace, "confirmed", role, at, on,
                           {"confirmed_on": on, "declined_reason": None,
                            "reminder_user": None}, keep_request=True)

    def record_declined(self, workspace: str, reason: str | None, role: RecorderRole,
                        at: dt.datetime) -> OptOutRecord:
        _check(role, reason)
        return self._write(workspace, "declined", role, at, None,
                           {"requested_on": None, "confirmed_on": None,
                            "declined_reason": reason, "reminder_user": None})

    def reset(self, workspace: str) -> bool:
        with self.engine.begin() as conn:
            gone = conn.execute(delete(_status).where(_status.c.workspace == workspace))
            conn.execute(delete(_changes).where(_changes.c.workspace == workspace))
        return bool(gone.rowcount)

    def claim_reminder(self, workspace: str, at: dt.datetime) -> bool:
        claim = (update(_status)
                 .where(and_(_status.c.workspace == workspace, _status.c.status == "requested",
                             _status.c.reminded_at.is_(None)))
                 .values(reminded_at=_naive_utc(at)))
        with self.engine.begin() as conn:
            return conn.execute(claim).rowcount == 1

    def release_reminder(self, workspace: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(_status).where(_status.c.workspace == workspace)
                         .values(reminded_at=None))

    def close(self) -> None:
        self.engine.dispose()

    # -- helpers ----------------------------------------------------------------------------

    def _write(self, workspace: str, status: Status, role: RecorderRole, at: dt.datetime,
               on: dt.date | None, values: dict[str, Any], *,
               keep_request: bool = False) -> OptOutRecord:
        try:
            return self._write_once(workspace, status, role, at, on, values, keep_request)
        except IntegrityError:  # another writer created the row first: now it is an update
            return self._write_once(workspace, status, role, at, on, values, keep_request)

    def _write_once(self, workspace: str, status: Status, role: RecorderRole,
                    at: dt.datetime, on: dt.date | None, values: dict[str, Any],
                    keep_request: bool) -> OptOutRecord:
        when = _naive_utc(at)
        row = {"status": status, "recorded_by": role, "changed_at": when,
               "reminded_at": None, **values}
        with self.engine.begin() as conn:
            old = self._locked(conn, workspace)
            if keep_request and (old is None or old.status == "declined"):
                row["requested_on"] = None
            if old is None:
                conn.execute(insert(_status).values(workspace=workspace, **row))
            else:
                conn.execute(update(_status).where(_status.c.workspace == workspace)
                             .values(**row))
            conn.execute(insert(_changes).values(workspace=workspace, status=status, role=role,
                                                 on_date=on, at=when))
            new = conn.execute(select(_status).where(_status.c.workspace == workspace)).one()
        log.info("opt-out status recorded workspace=%s status=%s role=%s", workspace, status,
                 role)
        return self._record(new._mapping)

    def _locked(self, conn: Connection, workspace: str) -> OptOutRecord | None:
        query = select(_status).where(_status.c.workspace == workspace)
        if conn.dialect.name != "sqlite":  # SQLite locks the whole file on write anyway
            query = query.with_for_update()
        row = conn.execute(query).first()
        return None if row is None else self._record(row._mapping)

    @staticmethod
    def _record(row: Any) -> OptOutRecord:
        return OptOutRecord(
            workspace=row["workspace"], status=row["status"], requested_on=row["requested_on"],
            confirmed_on=row["confirmed_on"], declined_reason=row["declined_reason"],
            recorded_by=row["recorded_by"], changed_at=_utc(row["changed_at"]),
            reminder_user=row["reminder_user"], reminded_at=_aware(row["reminded_at"]),
        )


def sqlite_url(state_dir: Path) -> str:
    """The embedded default: a SQLite file in the state folder."""
    return f"sqlite:///{(state_dir / SQLITE_FILE).resolve()}"


def open_opt_out_store(url: str) -> SqlOptOutStore:
    """Open (and create the tables of) the store at a SQLAlchemy URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: even at DEBUG, SQLAlchemy's logs show no values (ids, dates)
    engine = create_engine(url, hide_parameters=True, pool_pre_ping=True)
    store = SqlOptOutStore(engine)
    log.info("opt-out status store opened backend=%s", parsed.get_backend_name())
    return store
