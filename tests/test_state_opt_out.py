"""The opt-out status store on a real SQLite file and a real PostgreSQL server: records,
history, reset, reminders, reopen."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading

import pytest

from faqbot.state.opt_out import DECLINE_REASONS, open_opt_out_store, sqlite_url
from tests.postgres_server import empty_tables

T0 = dt.datetime(2024, 5, 20, 9, 30, tzinfo=dt.UTC)
MAY20, MAY22 = dt.date(2024, 5, 20), dt.date(2024, 5, 22)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path):
    """The embedded SQLite file, or an empty database on the session's Postgres server."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "state")
    pg = request.getfixturevalue("postgres_url")
    empty_tables(pg)
    return pg


@pytest.fixture
def store(url):
    store = open_opt_out_store(url)
    yield store
    store.close()


@pytest.fixture
def sqlite_store(tmp_path):
    store = open_opt_out_store(sqlite_url(tmp_path / "state"))
    yield store
    store.close()


def test_nothing_recorded(store):
    assert store.get("T1") is None
    assert store.history("T1") == []
    assert store.reset("T1") is False


def test_requested_then_confirmed_keeps_both_dates_and_roles(store):
    first = store.record_requested("T1", MAY20, "workspace owner", "UOWNER1", T0)
    assert (first.status, first.requested_on, first.confirmed_on) == ("requested", MAY20, None)
    assert first.reminder_user == "UOWNER1"
    later = T0 + dt.timedelta(days=2)
    second = store.record_confirmed("T1", MAY22, "org owner", later)
    assert (second.status, second.requested_on, second.confirmed_on) == (
        "confirmed", MAY20, MAY22)
    assert second.recorded_by == "org owner" and second.changed_at == later
    assert second.changed_at.tzinfo is not None
    assert second.reminder_user is None  # the id goes once the request is answered
    history = store.history("T1")
    assert [(c.status, c.role, c.on, c.at) for c in history] == [
        ("requested", "workspace owner", MAY20, T0), ("confirmed", "org owner", MAY22, later)]
    assert store.get("T2") is None  # each workspace has its own


def test_confirmed_without_a_request_has_no_request_date(store):
    record = store.record_confirmed("T1", MAY22, "primary owner", T0)
    assert record.requested_on is None and record.confirmed_on == MAY22


def test_declined_clears_the_dates_and_takes_only_fixed_reasons(store):
    store.record_requested("T1", MAY20, "workspace owner", "UOWNER1", T0)
    record = store.record_declined("T1", "contract", "faqbot admin", T0)
    assert (record.status, record.requested_on, record.declined_reason) == (
        "declined", None, "contract")
    assert store.record_declined("T1", None, "faqbot admin", T0).declined_reason is None
    with pytest.raises(ValueError):
        store.record_declined("T1", "because I said so", "workspace owner", T0)
    with pytest.raises(ValueError):
        store.record_requested("T1", MAY20, "member", None, T0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.record_requested("T1", MAY20, "workspace owner", None, T0.replace(tzinfo=None))
    assert "contract" in DECLINE_REASONS


def test_reset_deletes_the_record_and_its_history(sqlite_store, tmp_path):
    store = sqlite_store
    store.record_requested("T1", MAY20, "workspace owner", "UOWNER1", T0)
    store.record_requested("T2", MAY20, "workspace owner", "UOWNER2", T0)
    assert store.reset("T1") is True
    assert store.get("T1") is None and store.history("T1") == []
    assert store.get("T2") is not None
    with sqlite3.connect(tmp_path / "state" / "faqbot.sqlite3") as conn:
        assert conn.execute("select count(*) from opt_out_status where workspace='T1'"
                            ).fetchone() == (0,)
        assert conn.execute("select count(*) from opt_out_changes where workspace='T1'"
                            ).fetchone() == (0,)


def test_reminders_are_due_once_until_the_status_changes(store):
    store.record_requested("T1", MAY20, "workspace owner", "UOWNER1", T0)
    assert store.due_reminders(MAY20) == []  # not before the deadline
    (due,) = store.due_reminders(MAY20 + dt.timedelta(days=1))
    assert due.workspace == "T1" and due.reminder_user == "UOWNER1"
    assert store.claim_reminder("T1", T0) is True
    assert store.claim_reminder("T1", T0) is False  # a second replica loses the claim
    assert store.due_reminders(dt.date(2030, 1, 1)) == []
    store.release_reminder("T1")  # the DM failed: due again
    assert len(store.due_reminders(dt.date(2030, 1, 1))) == 1
    assert store.claim_reminder("T1", T0)
    store.record_requested("T1", MAY22, "workspace owner", "UOWNER1", T0)  # a new request
    assert len(store.due_reminders(dt.date(2030, 1, 1))) == 1
    store.record_confirmed("T1", MAY22, "workspace owner", T0)
    assert store.due_reminders(dt.date(2030, 1, 1)) == []


def test_only_one_of_many_threads_claims_a_reminder(store):
    store.record_requested("T1", MAY20, "workspace owner", "UOWNER1", T0)
    wins: list[bool] = []
    threads = [threading.Thread(target=lambda: wins.append(store.claim_reminder("T1", T0)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(wins) == [False] * 7 + [True]


def test_concurrent_first_records_all_land(store):
    errors: list[BaseException] = []

    def record(n: int) -> None:
        try:
            store.record_requested("T9", MAY20, "workspace owner", f"U{n}", T0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    assert len(store.history("T9")) == 6 and store.get("T9").status == "requested"


def test_the_record_survives_reopening(url):
    first = open_opt_out_store(url)
    first.record_requested("T1", MAY20, "workspace owner", "UOWNER1", T0)
    first.close()
    again = open_opt_out_store(url)
    try:
        record = again.get("T1")
        assert record is not None and record.requested_on == MAY20
    finally:
        again.close()


def test_the_tables_hold_only_status_dates_roles_times_and_the_reminder_id(sqlite_store,
                                                                         tmp_path):
    store = sqlite_store
    store.record_requested("T1", MAY20, "workspace owner", "UOWNER1", T0)
    with sqlite3.connect(tmp_path / "state" / "faqbot.sqlite3") as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
        columns = {t: [r[1] for r in conn.execute(f"pragma table_info({t})")] for t in tables}
    assert columns == {
        "opt_out_status": ["workspace", "status", "requested_on", "confirmed_on",
                           "declined_reason", "recorded_by", "changed_at", "reminder_user",
                           "reminded_at"],
        "opt_out_changes": ["id", "workspace", "status", "role", "on_date", "at"],
    }
