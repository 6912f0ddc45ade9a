"""The reload watcher survives any failure of a build, a real full disk included, reports it,
and keeps watching; a thread's exception goes through the privacy filter (issue 16, item 6)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from faqbot.index import IndexStore
from faqbot.reload import Reloader
from faqbot.service import open_engine
from faqbot.settings import load_settings
from tests.fakes import FakeEmbedder
from tests.slack.slack_fakes import restore_logging  # noqa: F401

DOC = "---\ntitle: Parking\nurl: https://intranet/parking\nkind: internal\n---\n" \
      "## Parking\n\nThe zebra garage opens at {}.\n"


def _wait_for(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"a full disk needs a tmpfs mount (root): {done.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_watcher_survives_a_full_disk_and_recovers(knowledge: Path, small_disk: Path) -> None:
    settings = load_settings(knowledge_dir=knowledge, index_dir=small_disk / "index")
    engine = open_engine(settings, FakeEmbedder())
    notes: list[str] = []
    reloader = Reloader(settings, engine, notify=notes.append, debounce_ms=100)
    reloader.start()
    filler = small_disk / "filler"
    try:
        assert reloader.watching.wait(10)
        good = engine.snapshot.name
        # fill the disk to the last block, then edit: the build cannot be written
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True)
        (knowledge / "parking.md").write_text(DOC.format("seven"))
        _wait_for(lambda: reloader.status.result == "failed")
        assert engine.snapshot.name == good and len(notes) == 1
        assert "could not reload" in notes[0]
        filler.unlink()  # space again: the next edit is served, no restart
        (knowledge / "parking.md").write_text(DOC.format("nine sharp"))
        _wait_for(lambda: reloader.status.result == "ok")
        assert any("nine sharp" in p.text for p in engine.snapshot.passages)
        assert "problem is gone" in notes[-1]
    finally:
        reloader.stop()


def test_watcher_survives_a_runtime_error_in_a_build(knowledge: Path, settings, engine,
                                                     monkeypatch) -> None:
    notes: list[str] = []
    reloader = Reloader(settings, engine, notify=notes.append, debounce_ms=100)
    # every build (a reload builds through build_if_stale) writes in _build_locked
    real_build = IndexStore._build_locked
    calls = {"n": 0}

    def flaky_build(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("Error in faiss::FileIOWriter: No space left on device")
        return real_build(self, *args, **kwargs)

    monkeypatch.setattr(IndexStore, "_build_locked", flaky_build)
    reloader.start()
    try:
        assert reloader.watching.wait(10)
        (knowledge / "parking.md").write_text(DOC.format("seven"))
        _wait_for(lambda: reloader.status.result == "failed")  # before: the thread died here
        assert reloader.status.error and "RuntimeError" in reloader.status.error
        assert notes and "RuntimeError" in notes[0]
        (knowledge / "parking.md").write_text(DOC.format("nine sharp"))
        _wait_for(lambda: reloader.status.result == "ok")
    finally:
        reloader.stop()


def test_watch_failure_itself_restarts_the_watch(knowledge: Path, settings, engine,
                                                 monkeypatch) -> None:
    import faqbot.reload as reload_module

    monkeypatch.setattr(reload_module, "WATCH_RESTART_S", 0.05)
    reloader = Reloader(settings, engine, debounce_ms=100)
    real = Reloader._watch_until_stopped
    calls = {"n": 0}

    def once_broken(self):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("watch setup failed")
        return real(self)

    monkeypatch.setattr(Reloader, "_watch_until_stopped", once_broken)
    reloader.start()
    try:
        assert reloader.watching.wait(10) and calls["n"] == 2
    finally:
        reloader.stop()


def test_a_thread_exception_goes_through_the_privacy_filter(capfd, restore_logging) -> None:  # noqa: F811
    from faqbot.privacy import configure_logging

    configure_logging("INFO")
    canary = "zx-thread-canary-4417"

    def boom() -> None:
        raise ValueError(f"question was {canary}")

    thread = threading.Thread(target=boom, name="faqbot-test-thread")
    thread.start()
    thread.join()
    err = capfd.readouterr().err
    assert "uncaught exception ended thread faqbot-test-thread" in err
    assert "ValueError (message withheld by faqbot)" in err
    assert canary not in err  # before: the stock hook printed the message to stderr
