"""The workspace's opt-out status end to end: the real Bolt app over real HTTP, the fake
Slack, the real SQLite store: owners record it, everyone sees it, one reminder, reset."""

from __future__ import annotations

import datetime as dt
import json
import time

from faqbot.slack.app import build_client, create_app
from faqbot.slack.blocks.opt_out_status import (
    ACTION_PICK_DATE,
    ACTION_PICK_REASON,
    ACTION_RECORD_CONFIRMED,
    ACTION_RECORD_DECLINED,
    ACTION_RECORD_REQUESTED,
    BLOCK_DATE,
    BLOCK_REASON,
    NOT_RECORDED,
)
from faqbot.slack.listeners.opt_out_status import BAD_DATE, BAD_REASON, NO_ROLE, REFUSED
from faqbot.slack.reminders import Reminders
from faqbot.slack.runner import SlackWSGI
from faqbot.slack.services import build_services
from tests.slack.slack_fakes import (
    BOT_TOKEN,
    MEMBER,
    ORG_OWNER,
    OWNER,
    SlackSender,
    dm,
    everything_at_debug,
    mention_event,
    serve_wsgi,
)

CANARY = "nebula-canary-7718"

BOTH = ("Your workspace owners requested the opt-out on 20 May 2024, and Slack confirmed it on "
        "22 May 2024.")
REQUESTED = "Requested on 20 May 2024; Slack has not confirmed it yet."


def _date_state(day: str) -> dict:
    return {"state": {"values": {BLOCK_DATE: {ACTION_PICK_DATE: {
        "type": "datepicker", "selected_date": day}}}}}


def _reason_state(reason: str) -> dict:
    return {"state": {"values": {BLOCK_REASON: {ACTION_PICK_REASON: {
        "type": "static_select", "selected_option": {"value": reason}}}}}}


def _first_section(call) -> str:
    blocks = call.data["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return blocks[0]["text"]["text"]


def _command(slack, fake, text, user, key):
    assert slack.command(text, user_id=user, key=key).status == 200
    (call,) = fake.wait_response(key)
    return call


def test_owner_records_requested_then_confirmed_and_a_member_sees_both_dates(slack, fake):
    reply = _command(slack, fake, "admin opt-out requested 20 May 2024", OWNER, "r1")
    assert "Recorded." in reply.text and REQUESTED in reply.text
    assert "workspace owner" in reply.text
    slack.action(ACTION_RECORD_CONFIRMED, "confirmed", user_id=OWNER, key="r2",
                 extra=_date_state("2024-05-22"))
    (confirmed,) = fake.wait_response("r2")
    assert BOTH in confirmed.text

    # a member asks, three ways: slash command, DM, App Home
    answer = _command(slack, fake, "have we opted out of training?", MEMBER, "m1")
    assert BOTH in _first_section(answer)  # the status first ...
    assert "Sample Privacy Principles" in answer.text  # ... then the cited passages
    assert answer.text.index(BOTH) < answer.text.index("Sample Privacy Principles")
    slack.event(dm("is our workspace excluded from the global models?"))
    (posted,) = fake.wait_api("chat.postMessage")
    assert BOTH in _first_section(posted)
    slack.event({"type": "app_home_opened", "user": MEMBER, "tab": "home", "channel": "D1"})
    (home,) = fake.wait_api("views.publish")
    assert BOTH in home.text


def test_the_opt_out_faq_answer_and_the_guided_flow_show_the_status_first(slack, fake):
    _command(slack, fake, "admin opt-out requested 2024-05-20", OWNER, "r1")
    faq = _command(slack, fake, "Can I opt out of data usage?", MEMBER, "faq")
    assert REQUESTED in _first_section(faq)
    flow = _command(slack, fake, "opt-out", MEMBER, "flow")
    assert REQUESTED in _first_section(flow)
    assert ACTION_RECORD_REQUESTED not in flow.text  # members get no record buttons
    owner_flow = _command(slack, fake, "opt-out", OWNER, "oflow")
    assert REQUESTED in _first_section(owner_flow)
    for action in (ACTION_RECORD_REQUESTED, ACTION_RECORD_CONFIRMED, ACTION_RECORD_DECLINED):
        assert action in owner_flow.text  # after the ready email
    assert owner_flow.text.index("feedback@example.com") < owner_flow.text.index(
        ACTION_RECORD_REQUESTED)
    # a question that is not about opting out gets no status
    other = _command(slack, fake, "Are language models trained on my messages?", MEMBER, "o")
    assert "opt-out status" not in other.text


def test_nothing_recorded_says_so_and_points_owners_to_the_flow(slack, fake):
    answer = _command(slack, fake, "have we opted out of training?", MEMBER, "m1")
    assert NOT_RECORDED in _first_section(answer)


def test_a_member_cannot_change_the_status(slack, fake, services):
    for text, key in (("admin opt-out requested", "a"), ("admin opt-out confirmed", "b"),
                      ("admin opt-out declined", "c"), ("admin opt-out reset", "d")):
        reply = _command(slack, fake, text, MEMBER, key)
        assert REFUSED in reply.text
    slack.action(ACTION_RECORD_REQUESTED, "requested", user_id=MEMBER, key="btn")
    (clicked,) = fake.wait_response("btn")
    assert REFUSED in clicked.text
    assert services.opt_out.store.get("T1") is None
    # anyone may look
    status = _command(slack, fake, "admin opt-out status", MEMBER, "s")
    assert NOT_RECORDED in status.text
    # Slack cannot tell us the role: nothing changes, and the reply says why
    fake.fail_next("users.info", body={"ok": False, "error": "internal_error"})
    reply = _command(slack, fake, "admin opt-out requested", OWNER, "e")
    assert NO_ROLE in reply.text and services.opt_out.store.get("T1") is None


def test_configured_admins_and_org_owners_may_record(slack, fake, services, index_dir,
                                                     engine):
    from tests.slack.slack_fakes import make_settings

    reply = _command(slack, fake, "admin opt-out requested 2024-05-20", ORG_OWNER, "o")
    assert "org owner" in reply.text
    # a member listed in FAQBOT_ADMIN_USER_IDS records as "faqbot admin" and gets the buttons
    settings = make_settings(index_dir, fake.api_url, admin_user_ids=MEMBER)
    admin_services = build_services(settings, engine)
    app = create_app(settings, engine, client=build_client(settings), services=admin_services)
    server, url = serve_wsgi(SlackWSGI(app))
    try:
        admin = SlackSender(url, fake)
        assert ACTION_RECORD_CONFIRMED in _command(admin, fake, "opt-out", MEMBER, "f").text
        reply = _command(admin, fake, "admin opt-out confirmed 2024-05-22", MEMBER, "a")
        assert BOTH in reply.text and "faqbot admin" in reply.text
    finally:
        server.shutdown()
        server.server_close()
        admin_services.close()
    history = services.opt_out.store.history("T1")  # the same state folder
    assert [c.role for c in history] == ["org owner", "faqbot admin"]


def test_start_reminders_runs_with_the_services_and_stops_with_them(slack_settings, engine,
                                                                    fake):
    from faqbot.slack.reminders import start_reminders

    services = build_services(slack_settings, engine)
    services.opt_out.record("T1", "requested", "workspace owner", user=OWNER,
                            on=dt.date(2024, 5, 20))
    client = build_client(slack_settings)
    reminders = start_reminders(client, services, interval=3600)
    assert services.reminders is reminders
    (call,) = fake.wait_api("chat.postMessage")
    assert call.data["channel"] == OWNER
    services.close()
    assert reminders._thread is not None and not reminders._thread.is_alive()


def test_bad_dates_and_reasons_change_nothing(slack, fake, services):
    assert BAD_DATE in _command(slack, fake, "admin opt-out requested someday", OWNER, "a").text
    assert BAD_DATE in _command(slack, fake, "admin opt-out confirmed 2999-01-01", OWNER,
                                "b").text
    assert BAD_REASON in _command(slack, fake, "admin opt-out declined we hate forms", OWNER,
                                  "c").text
    assert services.opt_out.store.get("T1") is None


def test_declined_with_a_fixed_reason_by_button(slack, fake, services):
    slack.action(ACTION_RECORD_DECLINED, "declined", user_id=OWNER, key="d",
                 extra=_reason_state("contract"))
    (reply,) = fake.wait_response("d")
    assert "decided not to opt out (reason: our contract with Slack already covers it)" in (
        reply.text)
    record = services.opt_out.store.get("T1")
    assert record is not None and record.declined_reason == "contract"


def test_the_status_survives_a_restart(slack, fake, slack_settings, engine):
    _command(slack, fake, "admin opt-out requested 2024-05-20", OWNER, "r1")
    services = build_services(slack_settings, engine)  # a new process, the same state folder
    app = create_app(slack_settings, engine, client=build_client(slack_settings),
                     services=services)
    server, url = serve_wsgi(SlackWSGI(app))
    try:
        answer = _command(SlackSender(url, fake), fake, "have we opted out of training?", MEMBER, "m")
        assert REQUESTED in _first_section(answer)
    finally:
        server.shutdown()
        server.server_close()
        services.close()


def test_reset_deletes_the_record(slack, fake, services, tmp_path):
    _command(slack, fake, "admin opt-out requested 2024-05-20", OWNER, "r1")
    reply = _command(slack, fake, "admin opt-out reset", OWNER, "r2")
    assert "Deleted" in reply.text
    assert services.opt_out.store.get("T1") is None and services.opt_out.store.history("T1") == []
    assert NOT_RECORDED in _first_section(_command(slack, fake, "have we opted out?", MEMBER,
                                                   "m"))
    import sqlite3

    with sqlite3.connect(tmp_path / ".faqbot" / "state" / "faqbot.sqlite3") as conn:
        assert conn.execute("select count(*) from opt_out_status").fetchone() == (0,)
        assert conn.execute("select count(*) from opt_out_changes").fetchone() == (0,)


def test_one_reminder_after_the_deadline_driven_by_the_clock(slack, fake, services, app):
    now = [dt.datetime(2024, 5, 20, 12, 0, tzinfo=dt.UTC)]
    services.opt_out.clock = lambda: now[0]
    slack.action(ACTION_RECORD_REQUESTED, "requested", user_id=OWNER, key="r",
                 extra=_date_state("2024-05-20"))
    fake.wait_response("r")
    reminders = Reminders(services.opt_out, app.client, services.catalog, services.directory)
    now[0] = dt.datetime(2024, 6, 3, 12, 0, tzinfo=dt.UTC)  # 14 days: not longer than 14
    assert reminders.check() == 0
    now[0] = dt.datetime(2024, 6, 4, 12, 0, tzinfo=dt.UTC)
    assert reminders.check() == 1
    (dm_call,) = fake.wait_api("chat.postMessage")
    assert dm_call.data["channel"] == OWNER
    assert "feedback@example.com" in dm_call.text and "Re: " in dm_call.text
    assert "On 20 May 2024 we asked for our workspace Acme" in dm_call.text
    for days in (1, 30, 400):
        now[0] = dt.datetime(2024, 6, 4, 12, 0, tzinfo=dt.UTC) + dt.timedelta(days=days)
        assert reminders.check() == 0
    assert len(fake.api_calls("chat.postMessage")) == 1
    # the status changes (a new request): one more reminder once that one is overdue
    _command(slack, fake, "admin opt-out requested 2025-07-01", OWNER, "r2")
    now[0] = dt.datetime(2025, 7, 16, 12, 0, tzinfo=dt.UTC)
    assert reminders.check() == 1
    _command(slack, fake, "admin opt-out confirmed 2025-07-17", OWNER, "r3")
    now[0] = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert reminders.check() == 0


def test_a_failed_reminder_dm_is_tried_again(slack, fake, services, app):
    now = [dt.datetime(2024, 5, 20, 12, 0, tzinfo=dt.UTC)]
    services.opt_out.clock = lambda: now[0]
    _command(slack, fake, "admin opt-out requested 2024-05-20", OWNER, "r")
    reminders = Reminders(services.opt_out, app.client, services.catalog, services.directory)
    now[0] += dt.timedelta(days=20)
    fake.fail_next("chat.postMessage", body={"ok": False, "error": "channel_not_found"})
    assert reminders.check() == 0
    assert reminders.check() == 1


def test_the_reminder_loop_runs_on_its_thread_and_stops(slack, fake, services, app):
    _command(slack, fake, "admin opt-out requested 2000-01-01", OWNER, "bad")  # too early
    _command(slack, fake, "admin opt-out requested 2024-05-20", OWNER, "r")
    reminders = Reminders(services.opt_out, app.client, services.catalog, services.directory,
                          interval=3600)
    reminders.start()
    try:
        (call,) = fake.wait_api("chat.postMessage")  # today is long after 20 May 2024
        assert call.data["channel"] == OWNER
    finally:
        started = time.monotonic()
        reminders.stop()
        assert time.monotonic() - started < 5


def test_privacy_canaries_through_the_new_commands_and_buttons(slack_settings, engine, fake,
                                                               capfd, restore_logging,
                                                               tmp_path):
    capture = everything_at_debug()  # before the app is built: Bolt copies the levels
    services = build_services(slack_settings, engine)
    app = create_app(slack_settings, engine, client=build_client(slack_settings),
                     services=services)
    server, url = serve_wsgi(SlackWSGI(app))
    slack = SlackSender(url, fake)
    question = f"have we opted out? {CANARY} jane@example.org"
    try:
        _command(slack, fake, "admin opt-out requested 2024-05-20", OWNER, "ok")
        _command(slack, fake, question, MEMBER, "q1")
        _command(slack, fake, f"how do I opt out? {CANARY}", OWNER, "q2")
        _command(slack, fake, f"admin opt-out requested {CANARY}", OWNER, "a1")
        _command(slack, fake, f"admin opt-out declined {CANARY}", OWNER, "a2")
        _command(slack, fake, f"admin opt-out confirmed 2024-05-22 {CANARY}", OWNER, "a3")
        _command(slack, fake, f"admin opt-out reset {CANARY}", MEMBER, "a4")
        slack.action(ACTION_RECORD_DECLINED, CANARY, user_id=OWNER, key="b1",
                     extra=_reason_state(CANARY))
        fake.wait_response("b1")
        slack.action(ACTION_RECORD_CONFIRMED, CANARY, user_id=OWNER, key="b2",
                     extra=_date_state(CANARY))
        fake.wait_response("b2")
        slack.action(ACTION_RECORD_REQUESTED, CANARY, user_id=OWNER, key="b3",
                     extra=_date_state("2024-05-20"))
        fake.wait_response("b3")
        slack.event(dm(question))
        slack.event(mention_event(question))
        fake.wait_api("chat.postMessage", 2)
        time.sleep(0.2)
    finally:
        server.shutdown()
        server.server_close()
        services.close()
    stored = b"".join(p.read_bytes() for p in (tmp_path / ".faqbot" / "state").rglob("*")
                      if p.is_file())
    assert b"workspace owner" in stored and b"requested" in stored  # the store was written
    assert CANARY.encode() not in stored and b"jane@example.org" not in stored
    assert b"have we opted" not in stored and b"opt out?" not in stored
    logs = capture.text()
    out, err = capfd.readouterr()
    assert "opt-out status recorded" in logs  # the store logged, by ids
    for where in (logs, out, err):
        assert CANARY not in where and "jane@example.org" not in where
        assert BOT_TOKEN not in where


def test_on_postgres_the_status_is_recorded_shown_and_kept(fake, engine, index_dir,
                                                          postgres_url):
    from tests.postgres_server import empty_tables
    from tests.slack.slack_fakes import make_settings

    empty_tables(postgres_url)
    settings = make_settings(index_dir, fake.api_url, database_url=postgres_url)
    for round_ in range(2):  # the second app is a restart on the same database
        services = build_services(settings, engine)
        app = create_app(settings, engine, client=build_client(settings), services=services)
        server, url = serve_wsgi(SlackWSGI(app))
        slack = SlackSender(url, fake)
        try:
            if round_ == 0:
                _command(slack, fake, "admin opt-out requested 2024-05-20", OWNER, "p1")
                _command(slack, fake, "admin opt-out confirmed 22 May 2024", OWNER, "p2")
            answer = _command(slack, fake, "have we opted out?", MEMBER, f"m{round_}")
            assert BOTH in _first_section(answer)
            assert services.opt_out.store.engine.dialect.name == "postgresql"
        finally:
            server.shutdown()
            server.server_close()
            services.close()


def _org_command(slack, fake, text, user, key, team="T1"):
    """A /privacy command from a workspace of the Enterprise org E1."""
    import urllib.parse

    form = {"team_id": team, "enterprise_id": "E1", "channel_id": "C1", "user_id": user,
            "command": "/privacy", "text": text, "api_app_id": "A1",
            "response_url": fake.response_url(key), "trigger_id": "1.2.3"}
    slack.post(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")
    (call,) = fake.wait_response(key)
    return call


def test_an_org_wide_status_applies_until_a_workspace_records_its_own(slack, fake, services):
    from faqbot.slack.blocks.opt_out_status import ORG_WIDE
    from faqbot.slack.listeners.opt_out_status import NO_ORG, ORG_REFUSED

    # a workspace owner may not change the org's status; an org owner may
    assert ORG_REFUSED in _org_command(slack, fake, "admin opt-out org requested", OWNER,
                                       "x").text
    reply = _org_command(slack, fake, "admin opt-out org requested 2024-05-20", ORG_OWNER, "o")
    assert "org owner" in reply.text
    for team, key in (("T1", "a"), ("T2", "b")):  # every workspace of the org shows it
        answer = _org_command(slack, fake, "have we opted out?", MEMBER, key, team=team)
        assert REQUESTED in _first_section(answer) and ORG_WIDE in answer.text
    # T2 records its own: T2 shows it, T1 still shows the org's
    _org_command(slack, fake, "admin opt-out declined later", OWNER, "own", team="T2")
    t2 = _org_command(slack, fake, "have we opted out?", MEMBER, "c", team="T2")
    assert "decided not to opt out" in _first_section(t2) and ORG_WIDE not in t2.text
    t1 = _org_command(slack, fake, "have we opted out?", MEMBER, "d", team="T1")
    assert REQUESTED in _first_section(t1)
    # without an org, `org` is explained, not guessed
    assert NO_ORG in _command(slack, fake, "admin opt-out org status", OWNER, "n").text
    assert services.opt_out.store.get("E1").recorded_by == "org owner"


def test_about_lists_what_the_status_keeps(slack, fake):
    about = _command(slack, fake, "about", MEMBER, "about")
    for words in ("opt-out status", "which role (not who)", "/privacy admin opt-out reset",
                  "for one reminder"):
        assert words in about.text


class _DownStore:
    """A store whose database is unreachable."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("database unreachable")
        return fail


def test_a_store_that_is_down_still_lets_everyone_get_an_answer(slack, fake, services):
    from faqbot.slack.blocks import FRIENDLY_ERROR
    from faqbot.slack.blocks.opt_out_status import UNAVAILABLE

    real = services.opt_out.store
    services.opt_out.store = _DownStore()
    try:
        answer = _command(slack, fake, "have we opted out of training?", MEMBER, "m")
        assert UNAVAILABLE in _first_section(answer)
        assert "Sample Privacy Principles" in answer.text  # the passages still come
        slack.event({"type": "app_home_opened", "user": MEMBER, "tab": "home", "channel": "D1"})
        (home,) = fake.wait_api("views.publish")
        assert UNAVAILABLE in home.text
        failed = _command(slack, fake, "admin opt-out requested", OWNER, "o")
        assert FRIENDLY_ERROR in failed.text  # a change that cannot be kept says so
    finally:
        services.opt_out.store = real
