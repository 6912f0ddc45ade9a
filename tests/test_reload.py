"""Hot reload: edits are served within seconds, failures keep the last good index."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from faqbot.reload import Reloader
from faqbot.search import Engine
from faqbot.settings import Settings

NEW_DOC = "---\ntitle: Parking\nurl: https://intranet/parking\nkind: internal\n---\n" \
          "## Parking\n\nThe zebra garage opens at seven.\n"


@pytest.fixture
def reloader(settings: Settings, engine: Engine) -> Iterator[Reloader]:
    notes: list[str] = []
    reloader = Reloader(settings, engine, notify=notes.append, debounce_ms=200)
    reloader.notes = notes  # type: ignore[attr-defined]
    yield reloader
    reloader.stop()


def test_reload_serves_new_content_and_keeps_old_on_error(knowledge: Path, engine: Engine,
                                                          reloader: Reloader) -> None:
    assert reloader.reload().result == "unchanged"
    (knowledge / "parking.md").write_text(NEW_DOC)
    assert reloader.reload().result == "ok"
    assert engine.answer("zebra garage").hits[0].passage.doc == "parking.md"
    good = engine.snapshot.name

    (knowledge / "faq.yml").write_text("faq:\n  - id: x\n   bad: indent\n")
    status = reloader.reload()
    assert status.result == "failed" and status.error is not None
    assert status.error.startswith("faq.yml:3: error: invalid YAML")
    assert engine.snapshot.name == good  # still serving the last good index
    assert engine.answer("zebra garage").hits[0].passage.doc == "parking.md"
    assert "faq.yml:3" in reloader.notes[-1]  # type: ignore[attr-defined]


def test_admins_are_told_once_per_failure_and_when_it_is_gone(knowledge: Path,
                                                              reloader: Reloader) -> None:
    notes = reloader.notes  # type: ignore[attr-defined]
    faq = knowledge / "faq.yml"
    good = faq.read_text()
    faq.write_text("faq:\n  - id: x\n   bad: indent\n")
    for _ in range(3):  # an editor saving the same broken file again and again
        assert reloader.reload().result == "failed"
    assert len(notes) == 1 and "faq.yml:3" in notes[0]
    faq.write_text("faq: [\n")  # a different problem is news
    assert reloader.reload().result == "failed"
    assert len(notes) == 2 and "faq.yml" in notes[1]
    faq.write_text(good)
    assert reloader.reload().result == "ok"
    assert len(notes) == 3 and "problem is gone" in notes[2]
    assert reloader.reload().result == "unchanged"
    assert len(notes) == 3
    faq.write_text("faq:\n  - id: x\n   bad: indent\n")  # the first problem, back again
    assert reloader.reload().result == "failed"
    assert len(notes) == 4


def test_rollback_swaps_previous_version_in(knowledge: Path, engine: Engine,
                                           reloader: Reloader) -> None:
    first = engine.snapshot.name
    (knowledge / "parking.md").write_text(NEW_DOC)
    reloader.reload()
    assert reloader.rollback().result == "rolled back"
    assert engine.snapshot.name == first
    assert all(p.doc != "parking.md" for p in engine.snapshot.passages)


def _wait_for(predicate, timeout: float = 10.0) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if predicate():
            return time.perf_counter() - started
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_watcher_picks_up_add_edit_delete(knowledge: Path, engine: Engine,
                                          reloader: Reloader) -> None:
    reloader.start()
    assert reloader.watching.wait(10)  # edits from now on are seen
    path = knowledge / "parking.md"
    path.write_text(NEW_DOC)
    _wait_for(lambda: any(p.doc == "parking.md" for p in engine.snapshot.passages))
    path.write_text(NEW_DOC.replace("seven", "nine sharp"))
    _wait_for(lambda: any("nine sharp" in p.text for p in engine.snapshot.passages))
    path.unlink()
    _wait_for(lambda: all(p.doc != "parking.md" for p in engine.snapshot.passages))
    # a broken edit is reported and the fixed one recovers without a restart
    (knowledge / "faq.yml").write_text("faq: [")
    _wait_for(lambda: reloader.status.result == "failed")
    (knowledge / "faq.yml").write_text((Path(__file__).parent / "data/knowledge/faq.yml")
                                       .read_text())
    _wait_for(lambda: reloader.status.result == "ok")


def _replica(settings: Settings, **options: object) -> tuple[Reloader, list[str]]:
    """Another process's engine and reloader on the same knowledge and index folders."""
    from faqbot.service import open_engine
    from tests.fakes import FakeEmbedder

    notes: list[str] = []
    own = settings.model_copy(update=options)
    return Reloader(own, open_engine(own, FakeEmbedder()), notify=notes.append,
                    debounce_ms=200), notes


def test_the_replica_that_loses_the_build_race_serves_the_winner_s_build(
        knowledge: Path, settings: Settings, engine: Engine, reloader: Reloader,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from faqbot.index import IndexStore

    reloader.settings = settings = settings.model_copy(update={"follow_index": True})
    other, other_notes = _replica(settings)
    real = IndexStore._build_locked
    building = threading.Event()

    def slow_build(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        building.set()
        time.sleep(1.0)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(IndexStore, "_build_locked", slow_build)
    before = reloader.store.version_names()
    (knowledge / "parking.md").write_text(NEW_DOC)
    winner = threading.Thread(target=reloader.reload)
    winner.start()
    assert building.wait(5)
    status = other.reload()  # the lock is held: it waits, then finds the folder built
    winner.join(10)
    assert status.result == "ok" and status.error is None
    assert reloader.status.result == "ok"
    assert len(reloader.store.version_names()) == len(before) + 1  # one build
    assert other.engine.snapshot.name == engine.snapshot.name == reloader.store.current_name()
    assert other_notes == [] and reloader.notes == []  # type: ignore[attr-defined]


def test_a_replica_following_current_serves_a_rollback_made_elsewhere(
        knowledge: Path, settings: Settings, engine: Engine, reloader: Reloader) -> None:
    first = engine.snapshot.name
    (knowledge / "parking.md").write_text(NEW_DOC)
    reloader.reload()
    other, _ = _replica(settings, follow_index=True)
    assert other.engine.snapshot.name == engine.snapshot.name != first
    other.start()
    try:
        reloader.rollback()
        _wait_for(lambda: other.engine.snapshot.name == first, timeout=5)
        assert all(p.doc != "parking.md" for p in other.engine.snapshot.passages)
        assert other.follow_once() is None  # nothing new to follow
    finally:
        other.stop()


def test_a_version_current_names_that_does_not_load_keeps_the_one_in_service(
        settings: Settings, engine: Engine, reloader: Reloader,
        caplog: pytest.LogCaptureFixture) -> None:
    import logging

    serving = engine.snapshot.name
    store = reloader.store
    (store.versions / "20990101T000000Z-broken").mkdir()
    store._point_current("20990101T000000Z-broken")
    with caplog.at_level(logging.WARNING, "faqbot.reload"):
        assert reloader.follow_once() is None
        assert reloader.follow_once() is None  # not tried again at once, nor told twice
    assert engine.snapshot.name == serving
    assert caplog.text.count("cannot serve index version 20990101T000000Z-broken") == 1


def test_following_is_off_unless_configured(settings: Settings) -> None:
    from pydantic import SecretStr

    assert not settings.follows_index  # one process: as before
    assert settings.model_copy(update={"redis_url": SecretStr("redis://x")}).follows_index
    assert not settings.model_copy(update={"redis_url": SecretStr("redis://x"),
                                           "follow_index": False}).follows_index


def test_a_polling_watch_sees_edits(knowledge: Path, settings: Settings,
                                    caplog: pytest.LogCaptureFixture) -> None:
    import logging

    reloader, _ = _replica(settings, watch_polling=True)
    with caplog.at_level(logging.INFO, "faqbot.reload"):
        reloader.start()
        assert reloader.watching.wait(10)
    assert "(polling: FAQBOT_WATCH_POLLING)" in caplog.text
    try:
        (knowledge / "parking.md").write_text(NEW_DOC)
        _wait_for(lambda: any(p.doc == "parking.md" for p in reloader.engine.snapshot.passages))
    finally:
        reloader.stop()


def test_a_repair_while_another_replica_rebuilds_serves_that_rebuild(
        knowledge: Path, settings: Settings, engine: Engine, reloader: Reloader) -> None:
    import threading

    from faqbot.sources import load_knowledge
    from tests.fakes import FakeEmbedder

    reloader.settings = settings.model_copy(update={"follow_index": True})  # replicas
    store = reloader.store
    held = threading.Event()

    def other_replica_rebuilds() -> None:
        with store.lock():
            held.set()
            time.sleep(0.5)
            store._build_locked(load_knowledge(knowledge), FakeEmbedder(), rebuild=True,
                                progress=None, hnsw_from=10_000)

    other = threading.Thread(target=other_replica_rebuilds)
    other.start()
    assert held.wait(5)
    before = store.version_names()
    status = reloader.repair("index file passages.faiss is missing or corrupt")
    other.join(10)
    assert status.result == "ok", status
    assert engine.snapshot.name == store.current_name() and engine.snapshot.name not in before
    assert len(store.version_names()) == len(before) + 1  # its rebuild only
    notes = reloader.notes  # type: ignore[attr-defined]
    assert len(notes) == 2 and "damaged" in notes[0] and "problem is gone" in notes[1]


def test_a_single_process_reports_a_held_lock_at_once_as_before(
        knowledge: Path, reloader: Reloader) -> None:
    (knowledge / "parking.md").write_text(NEW_DOC)
    started = time.monotonic()
    with reloader.store.lock():  # `faqbot index` running meanwhile
        status = reloader.reload()
    assert status.result == "failed" and "another build" in (status.error or "")
    assert time.monotonic() - started < 2
