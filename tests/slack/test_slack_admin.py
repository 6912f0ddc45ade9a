"""Admins: hot reload in the running bot (runner.build), DMs on failure, /privacy admin ...

Every test here runs the bot as production does (``runner.build``: engine, app, watcher),
with the fake model, a writable copy of the small knowledge folder, over real HTTP.
"""

from __future__ import annotations

import json
import logging
import shutil
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faqbot.slack import runner
from faqbot.slack.blocks import FRIENDLY_ERROR, NOT_ALLOWED
from faqbot.slack.runner import SlackWSGI
from tests.fakes import FakeEmbedder
from tests.slack.slack_fakes import (
    KNOWLEDGE,
    MEMBER,
    FakeSlack,
    SlackSender,
    make_settings,
    serve_wsgi,
)

ADMIN, ADMIN2 = "UADMIN01", "UADMIN02"
DEBOUNCE_MS = 200

PARKING = ("---\ntitle: Parking\nurl: https://intranet/parking\nkind: internal\n---\n"
           "## Parking\n\nThe zebra garage opens at {when}.\n")
ZEBRA = "zebra garage opens"  # the fake model answers this from parking.md alone
TRAINED = "Are language models trained on my messages?"
STALE_DOC = ("---\ntitle: Old rules\nurl: https://intranet/old\nkind: internal\n"
             "review_by: 2001-01-01\n---\n## Old\n\nThe old rules about badges.\n")


@dataclass
class Live:
    """A bot built by runner.build, served over HTTP, with its knowledge folder."""

    running: runner.Running
    slack: SlackSender
    fake: FakeSlack
    knowledge: Path
    url: str

    @property
    def reloader(self) -> Any:
        return self.running.services.reloader

    @property
    def version(self) -> str:
        """The index version in service."""
        return self.running.services.catalog.view().version

    def ask(self, text: str, key: str, user: str = MEMBER, timeout: float = 5.0) -> dict:
        """A /privacy command over HTTP; the reply that arrives at its response_url."""
        response = self.slack.command(text, user_id=user, key=key)
        assert response.status == 200, response
        return self.fake.wait_response(key, timeout=timeout)[0].data


@pytest.fixture
def live(tmp_path: Path, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch,
         request: pytest.FixtureRequest) -> Iterator[Live]:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    for name, text in getattr(request, "param", {}).items():
        (knowledge / name).write_text(text, "utf-8")
    settings = make_settings(tmp_path / "index", fake.api_url, knowledge_dir=knowledge,
                             admin_user_ids=[ADMIN, ADMIN2])
    running = runner.build(settings, debounce_ms=DEBOUNCE_MS, embedder_factory=FakeEmbedder)
    reloader = running.services.reloader
    assert reloader is not None and reloader._thread is not None
    server, url = serve_wsgi(SlackWSGI(running.app))
    assert reloader.watching.wait(10)  # edits from now on are seen
    try:
        yield Live(running, SlackSender(url, fake), fake, knowledge, url)
    finally:
        runner.shutdown(running)
        server.shutdown()
        server.server_close()
    assert reloader._thread is None  # the watcher was stopped


def text_of(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False)


def wait_until(predicate, timeout: float = 10.0, step: float = 0.02) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if predicate():
            return time.perf_counter() - started
        time.sleep(step)
    raise AssertionError("condition not met in time")


# --- /privacy admin status | reload | rollback ---------------------------------------------------


@pytest.mark.parametrize("live", [{"old.md": STALE_DOC}], indirect=True)
def test_admin_status(live: Live) -> None:
    answered = live.ask(TRAINED, "q1")
    live.ask("What is the office wifi password?", "q2")
    value = next(e["value"] for b in answered["blocks"] if b["type"] == "actions"
                 for e in b["elements"] if e["action_id"] == "feedback_helpful")
    live.slack.action("feedback_helpful", value, key="fb")
    live.fake.wait_response("fb")

    data = live.ask("admin status", "st", user=ADMIN)
    body = text_of(data)
    view = live.running.services.catalog.view()
    assert data["response_type"] == "ephemeral"
    assert f"*Index version*: `{view.version}` (built {view.built_at})" in body
    assert "*Documents*: 2" in body and f"*passages*: {view.passages}" in body
    assert "*FAQ entries*: 2" in body and "`fake/bag-of-words`" in body
    assert "*Last reload*: none yet" in body
    assert "1 answered, 1 declined" in body
    assert "`faq:llm-training`: 1 / 0" in body and "`passage:" in body
    assert "1 document(s) past their review date" in body
    assert "Old rules (`old.md`), review by 2001-01-01" in body
    assert "Sample Privacy" not in body.split("past their review date")[1]  # review_by 2099


def test_admin_reload_then_rollback(live: Live) -> None:
    live.reloader.stop()  # no watcher: only the command reloads in this test
    first = live.version
    assert "Nothing to reload" in live.ask("admin reload", "r0", user=ADMIN)["text"]

    (live.knowledge / "parking.md").write_text(PARKING.format(when="seven"), "utf-8")
    response = live.slack.command("admin reload", user_id=ADMIN, key="r1")
    assert response.status == 200 and response.seconds < 1.0  # acked before the build
    data = live.fake.wait_response("r1")[0].data
    second = live.version
    assert second != first
    assert data["text"].startswith(f"Reloaded: now serving index version `{second}` (")
    assert "opens at seven" in live.ask(ZEBRA, "z1")["text"]
    assert live.reloader.status.result == "ok"

    data = live.ask("admin rollback", "rb1", user=ADMIN)
    assert live.version == first
    assert data["text"].startswith("Rolled back in ") and f"version `{first}`" in data["text"]
    assert "zebra" not in live.ask(ZEBRA, "z2")["text"]

    data = live.ask("admin rollback", "rb2", user=ADMIN)  # nothing earlier than the first
    assert data["text"] == "Rollback failed: no earlier index version to roll back to"
    assert live.version == first


def test_admin_reload_of_a_broken_folder_reports_file_and_line(live: Live) -> None:
    live.reloader.stop()
    good = live.version
    (live.knowledge / "faq.yml").write_text("faq:\n  - id: x\n   bad: indent\n", "utf-8")
    data = live.ask("admin reload", "r1", user=ADMIN)
    assert data["text"].startswith(f"Reload failed; still serving the last good index `{good}`")
    assert "faq.yml:3: error: invalid YAML" in text_of(data)
    status = text_of(live.ask("admin status", "st", user=ADMIN))
    assert "*Last reload*: failed" in status and "faq.yml:3" in status
    assert "not trained" in live.ask(TRAINED, "q")["text"]


def test_non_admins_get_a_refusal_and_nothing_else(live: Live) -> None:
    live.reloader.stop()
    (live.knowledge / "parking.md").write_text(PARKING.format(when="seven"), "utf-8")
    before = live.version
    texts = ["admin", "admin status", "admin reload", "admin rollback", "ADMIN Status",
             "admin please"]
    for n, text in enumerate(texts):
        data = live.ask(text, f"no{n}", user=MEMBER)
        assert data["text"] == NOT_ALLOWED and data["response_type"] == "ephemeral"
        body = text_of(data).lower()
        for secret in (before, "version", "passage", "document", "fake/bag", "reload",
                       "rollback", "status", "admin", "answered", "declined", "feedback"):
            assert secret.lower() not in body, (text, secret)
    time.sleep(0.2)  # a reload or rollback would have started by now
    assert live.version == before
    assert live.reloader.status.result == "none yet"
    assert len(live.fake.replies()) == len(texts)


def test_admin_commands_appear_in_help_for_admins_only(live: Live) -> None:
    assert "/privacy admin" not in text_of(live.ask("help", "h1", user=MEMBER))
    assert "/privacy admin status" in text_of(live.ask("help", "h2", user=ADMIN))
    assert "/privacy admin rollback" in text_of(live.ask("admin", "h3", user=ADMIN))
    assert "/privacy admin reload" in text_of(live.ask("admin what", "h4", user=ADMIN))
    # a longer text starting with "admin" is a question, for everyone
    assert "couldn't find this" in live.ask("admin access to the office wifi password?",
                                            "h5", user=MEMBER)["text"]


def test_admin_commands_without_a_reloader(slack_settings, engine, fake) -> None:
    from faqbot.slack.app import build_client, create_app

    settings = slack_settings.model_copy(update={"admin_user_ids": [ADMIN]})
    app = create_app(settings, engine, build_client(settings))
    server, url = serve_wsgi(SlackWSGI(app))
    try:
        sender = SlackSender(url, fake)
        sender.command("admin reload", user_id=ADMIN)
        assert "Hot reload is not running" in fake.wait_response()[0].data["text"]
        sender.command("admin status", user_id=ADMIN, key="st")
        assert "hot reload is not running" in text_of(fake.wait_response("st")[0].data)
    finally:
        server.shutdown()
        server.server_close()


# --- hot reload while serving ----------------------------------------------------------------


def admin_dms(fake: FakeSlack) -> list[dict]:
    return [c.data for c in fake.api_calls("chat.postMessage")
            if c.data.get("channel") in (ADMIN, ADMIN2)]


def test_broken_file_dms_admins_keeps_answering_and_recovers(live: Live, caplog) -> None:
    caplog.set_level(logging.INFO, logger="faqbot")
    original = (live.knowledge / "faq.yml").read_text("utf-8")
    good = live.version
    live.fake.fail_next("chat.postMessage")  # the first admin's DM fails: the second still gets it
    (live.knowledge / "faq.yml").write_text("faq:\n  - id: x\n   bad: indent\n", "utf-8")
    live.fake.wait_for(lambda c: c.name == "chat.postMessage", count=2, timeout=10)

    dms = admin_dms(live.fake)
    assert [d["channel"] for d in dms] == [ADMIN, ADMIN2]
    assert "faq.yml:3: error: invalid YAML" in text_of(dms[1])
    assert f"keeps serving the last good index ({good})" in dms[1]["text"]
    assert any("admin notice failed: SlackApiError" in r.getMessage()
               and "slack_error=internal_error" in r.getMessage() for r in caplog.records)
    assert live.version == good
    assert "not trained" in live.ask(TRAINED, "q1")["text"]  # still the old index

    # new content saved while the folder is broken is served once it is fixed: no restart
    (live.knowledge / "parking.md").write_text(PARKING.format(when="seven"), "utf-8")
    (live.knowledge / "faq.yml").write_text(original, "utf-8")
    wait_until(lambda: live.reloader.status.result == "ok")
    assert live.version != good
    assert "opens at seven" in live.ask(ZEBRA, "z1")["text"]
    assert "not trained" in live.ask(TRAINED, "q2")["text"]


class Hammer:
    """/privacy questions in a tight loop from another thread; every ack and answer counted."""

    QUESTIONS = (TRAINED, ZEBRA, "How do I opt out?", "What is the office wifi password?")

    def __init__(self, live: Live) -> None:
        self.slack = SlackSender(live.url, live.fake)
        self.statuses: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            question = self.QUESTIONS[n % len(self.QUESTIONS)]
            try:
                self.statuses.append(self.slack.command(question, key=f"loop-{n}").status)
            except Exception as exc:  # a refused connection or a timeout is a failed request
                self.errors.append(repr(exc))
            n += 1

    def __enter__(self) -> Hammer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)


def test_edit_add_delete_while_answering_in_a_tight_loop(live: Live, record_property) -> None:
    probes = iter(range(10_000))

    def probe() -> str:
        return live.ask(ZEBRA, f"probe-{next(probes)}")["text"]

    latencies: list[float] = []
    path = live.knowledge / "parking.md"
    with Hammer(live) as hammer:
        time.sleep(0.3)
        path.write_text(PARKING.format(when="seven"), "utf-8")  # add
        latencies.append(wait_until(lambda: "opens at seven" in probe()))
        for i in range(6):  # edit
            time.sleep(0.1)
            path.write_text(PARKING.format(when=f"gate{i}x sharp"), "utf-8")
            latencies.append(wait_until(lambda i=i: f"gate{i}x" in probe()))
        (live.knowledge / "extra.md").write_text(  # add a second file
            PARKING.replace("Parking", "Bikes").replace("zebra garage", "okapi shed")
            .format(when="six"), "utf-8")
        wait_until(lambda: "okapi shed" in live.ask("okapi shed opens", f"o-{next(probes)}")
                   ["text"])
        path.unlink()  # delete
        latencies.append(wait_until(lambda: "zebra" not in probe()))
        time.sleep(0.3)
    sent = len(hammer.statuses)
    assert not hammer.errors, hammer.errors[:3]
    assert sent > 50 and set(hammer.statuses) == {200}, (sent, set(hammer.statuses))
    answers = live.fake.wait_for(lambda c: c.kind == "response" and c.name.startswith("loop-"),
                                 count=sent, timeout=15)
    assert len(answers) == sent
    assert all(a.data["text"] != FRIENDLY_ERROR for a in answers)
    assert live.reloader.status.result == "ok" and not admin_dms(live.fake)
    assert "zebra" not in probe() and "okapi shed" in live.ask("okapi shed opens", "o-end")["text"]
    median = statistics.median(latencies)
    record_property("save_to_new_answer_median_s", round(median, 3))
    print(f"\nsave -> new answer: median {median * 1000:.0f} ms over {len(latencies)} saves "
          f"(max {max(latencies) * 1000:.0f} ms, debounce {DEBOUNCE_MS} ms); "
          f"{sent} questions in the loop")
    assert max(latencies) < 5.0


def test_socket_mode_run_hot_reloads_and_stops_the_watcher(tmp_path: Path, fake: FakeSlack,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           restore_logging) -> None:
    from tests.slack.slack_fakes import APP_TOKEN, FakeSocketMode

    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    server = FakeSocketMode()
    monkeypatch.setattr(fake, "ws_url", server.url)
    settings = make_settings(tmp_path / "index", fake.api_url, knowledge_dir=knowledge,
                             slack_app_token=APP_TOKEN, admin_user_ids=[ADMIN], health_port=0)
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(
        runner.run_socket_mode(settings, stop, embedder_factory=FakeEmbedder)))
    thread.start()
    n = iter(range(100))

    def ask(text: str) -> str:
        i = next(n)
        server.push({"envelope_id": f"e{i}", "type": "slash_commands",
                     "accepts_response_payload": True,
                     "payload": {"team_id": "T1", "channel_id": "C1", "user_id": MEMBER,
                                 "command": "/privacy", "text": text, "api_app_id": "A1",
                                 "response_url": fake.response_url(f"sm{i}"),
                                 "trigger_id": "1"}})
        return fake.wait_response(f"sm{i}")[0].data["text"]

    try:
        assert server.connected.wait(10)
        assert any(t.name == "faqbot-reload" for t in threading.enumerate())
        assert "not trained" in ask(TRAINED)
        time.sleep(0.3)
        (knowledge / "parking.md").write_text(PARKING.format(when="seven"), "utf-8")
        wait_until(lambda: "opens at seven" in ask(ZEBRA), timeout=10, step=0.1)
    finally:
        stop.set()
        thread.join(15)
        server.close()
    assert result == [0]
    assert not any(t.name == "faqbot-reload" for t in threading.enumerate())
