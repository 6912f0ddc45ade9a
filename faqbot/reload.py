"""Hot reload: watch the knowledge folder, rebuild in the background, swap without downtime.

Questions keep being answered from the snapshot in service while a build runs; the new
snapshot is swapped in only once it is fully loaded. Any failure (a broken file, a full disk,
another build holding the lock) keeps the last good index in service and is reported.

Replicas sharing the index folder (``Settings.follows_index``) follow its CURRENT: a version
another replica built or rolled back to is loaded and swapped in within about a second. A
build another replica is running is waited for, and its version served if it matches the
folder: losing that race is not a failure.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from faqbot.errors import FaqbotError, KnowledgeError, Problem, StoreLockedError
from faqbot.index import IndexStore
from faqbot.privacy import describe_exception
from faqbot.search import Engine
from faqbot.service import BUILD_WAIT_S, index_store
from faqbot.settings import Settings
from faqbot.sources import load_knowledge
from faqbot.watching import POLL_DELAY_MS, watch_mode

log = logging.getLogger(__name__)

Notify = Callable[[str], None]

#: How long the watcher waits for changes before it says it is (still) watching, in ms.
WATCH_TICK_MS = 200
#: After the watch itself failed, it starts again after this long.
WATCH_RESTART_S = 1.0
#: How often a replica looks at CURRENT for a version another replica put in service.
FOLLOW_POLL_S = 1.0
#: A version CURRENT names that did not load is tried again after this long.
FOLLOW_RETRY_S = 30.0


def _failure_text(exc: Exception) -> str:
    """What admins are told of a failed build: the folder's problems with file and line, our
    own error's message, the system's reason; for anything else its class and place only (a
    library's message is not ours to repeat)."""
    if isinstance(exc, KnowledgeError):
        return _problems_text(exc.problems)
    if isinstance(exc, FaqbotError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.__class__.__name__}: {exc.strerror or exc}"
    return f"unexpected error: {describe_exception(exc)}"


def _problems_text(problems: Sequence[Problem]) -> str:
    return "\n".join(str(p) for p in problems)


@dataclass(frozen=True)
class ReloadStatus:
    """The outcome of the last reload, for `/privacy admin status`."""

    result: str = "none yet"  # "none yet" | "ok" | "unchanged" | "failed" | "rolled back"
    error: str | None = None
    at: str | None = None
    seconds: float | None = None


class Reloader:
    """Owns every change of the engine's snapshot: reloads, rollbacks, the folder watcher."""

    def __init__(self, settings: Settings, engine: Engine, notify: Notify | None = None,
                 debounce_ms: int = 800) -> None:
        self.settings = settings
        self.engine = engine
        self.notify = notify
        self.debounce_ms = debounce_ms
        self.status = ReloadStatus()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: set once the watcher is watching: an edit made after that is seen
        self.watching = threading.Event()
        self._told: str | None = None  # the failure admins were last told of, until it is gone
        self._swap_lock = threading.Lock()  # one load-and-swap at a time (watch, follow, admin)
        self._follower: threading.Thread | None = None
        self._store: IndexStore | None = None
        # a CURRENT the follower could not load, and when to try it again
        self._unloadable: tuple[str, float] | None = None

    @property
    def store(self) -> IndexStore:
        if self._store is None or self._store.root != self.settings.index_dir:
            self._store = index_store(self.settings)
        return self._store

    @property
    def _wait_s(self) -> float:
        """How long a build waits for another one: replicas wait (losing the race is not a
        failure); a single process reports a held lock at once, as it always did."""
        return BUILD_WAIT_S if self.settings.follows_index else 0.0

    def _serve(self, name: str | None) -> None:
        """Load version ``name`` (default: CURRENT's) and swap it in, unless it is in service."""
        store = self.store
        name = name or store.current_name()
        with self._swap_lock:
            if name is not None and name == self.engine.snapshot.name:
                return
            self.engine.swap(store.load(name))

    def reload(self) -> ReloadStatus:
        """Validate, update the index and swap it in; on any error keep serving the old one."""
        started = time.perf_counter()
        with self._lock:
            try:
                kb = load_knowledge(self.settings.knowledge_dir)
                kb.raise_for_errors()
                store = self.store
                if store.stale_reason(kb, self.engine.embedder.model_id) is None:
                    self._serve(None)
                    # after a failure, the folder being back in line is a recovery
                    recovered = self.status.result == "failed"
                    self._tell_recovered()
                    return self._record("ok" if recovered else "unchanged", None, started)
                # replicas: another one's build of the same edit is waited for, then served
                report = store.build_if_stale(kb, self.engine.embedder, wait_s=self._wait_s)
                if report is None:
                    self._serve(None)
                    log.info("index version=%s was built by another process; serving it",
                             self.engine.snapshot.name)
                else:
                    self._serve(report.version)
                    log.info("reloaded index version=%s passages=%d embedded=%d seconds=%.2f",
                             report.version, report.passages, report.embedded, report.seconds)
                self._tell_recovered()
                return self._record("ok", None, started)
            except Exception as exc:  # FAISS's RuntimeError on a full disk included
                message = _failure_text(exc)
        log.error("reload failed; still serving version %s: %s", self.engine.snapshot.name,
                  message)
        status = self._record("failed", message, started)
        if message == self._told:
            log.info("same reload failure as before: admins were already told")
        else:
            self._told = message
            self._tell(f"faqbot could not reload the knowledge folder and keeps serving the "
                       f"last good index ({self.engine.snapshot.name}).\n{message}")
        return status

    def failed_at_start(self, problems: Sequence[Problem]) -> None:
        """Start-up served without some files (``faqbot.service.StartupNotice``): the status
        says ``failed`` with those problems until a reload succeeds, and a reload that finds
        the same problems does not tell the admins again (start-up told them)."""
        message = _problems_text(problems)
        self.status = replace(self.status, result="failed", error=message,
                              at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                              seconds=None)
        # what reload() would report for the folder as it is now
        errors = load_knowledge(self.settings.knowledge_dir).errors
        self._told = _problems_text(errors) if errors else message

    def tell(self, text: str) -> None:
        """Send ``text`` to the admins (a failure to do so is logged, never raised)."""
        self._tell(text)

    def _tell_recovered(self) -> None:
        """After admins were told of a failure: tell them the folder loads again (once)."""
        if self._told is not None:
            self._told = None
            self._tell(f"faqbot reloaded the knowledge folder again; the earlier problem is "
                       f"gone. Serving index version {self.engine.snapshot.name}.")

    def _tell(self, text: str) -> None:
        if self.notify is None:
            return
        try:
            self.notify(text)
        except Exception:  # a failed notification must not stop the watcher
            log.warning("could not notify admins about a reload", exc_info=True)

    def repair(self, problem: str) -> ReloadStatus:
        """The version in service cannot be loaded (a corrupted file, seen by the answer
        worker): the status says so, the admins are told, and the index is rebuilt from the
        folder and served. Never raises: a failed rebuild is reported the same way."""
        started = time.perf_counter()
        log.error("index in service is damaged: %s; rebuilding", problem)
        self._record("failed", problem, started)
        if problem != self._told:
            self._told = problem
            self._tell(f"faqbot found the index in service damaged and is rebuilding it.\n"
                       f"{problem}")
        with self._lock:
            try:
                kb = load_knowledge(self.settings.knowledge_dir)
                kb.raise_for_errors()
                try:
                    report = self.store.build(kb, self.engine.embedder, rebuild=True)
                    self._serve(report.version)
                except StoreLockedError:
                    if not self._wait_s:
                        raise
                    # another replica is rebuilding it: wait for that build, serve its version
                    with self.store.lock(self._wait_s):
                        pass
                    self._serve(None)
                    log.info("index rebuilt by another process after damage: version=%s",
                             self.engine.snapshot.name)
                    self._tell_recovered()
                    return self._record("ok", None, started)
            except Exception as exc:
                message = _failure_text(exc)
                log.error("index rebuild failed: %s", message)
                return self._record("failed", f"{problem}\nrebuild failed: {message}", started)
        log.info("index rebuilt after damage: version=%s", report.version)
        self._tell_recovered()
        return self._record("ok", None, started)

    def rollback(self) -> ReloadStatus:
        """Return to the previous index version and serve it."""
        started = time.perf_counter()
        with self._lock:
            name = self.store.rollback()  # CURRENT: replicas that follow it roll back too
            self._serve(name)
            log.info("rolled back to index version=%s", name)
            return self._record("rolled back", None, started)

    def _record(self, result: str, error: str | None, started: float) -> ReloadStatus:
        self.status = replace(
            self.status, result=result, error=error,
            at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            seconds=round(time.perf_counter() - started, 3),
        )
        return self.status

    # -- watching --------------------------------------------------------------------------

    def start(self) -> None:
        """Watch the knowledge folder in a daemon thread; follow CURRENT in another when the
        settings say so (replicas)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self.watching.clear()
        self._thread = threading.Thread(target=self._watch, name="faqbot-reload", daemon=True)
        self._thread.start()
        if self.settings.follows_index:
            self._follower = threading.Thread(target=self._follow, name="faqbot-follow",
                                              daemon=True)
            self._follower.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in (self._thread, self._follower):
            if thread is not None:
                thread.join(timeout)
        self._thread = self._follower = None

    # -- following CURRENT -----------------------------------------------------------------

    def follow_once(self) -> str | None:
        """Serve the version CURRENT names if it is not in service; the name swapped in, or
        None. A version that does not load is reported once and the one in service kept."""
        name = self.store.current_name()
        if name is None or name == self.engine.snapshot.name:
            return None
        failed = self._unloadable
        if failed is not None and failed[0] == name and time.monotonic() < failed[1]:
            return None
        try:
            self._serve(name)
        except Exception as exc:  # a half-copied volume, a version pruned meanwhile
            self._unloadable = (name, time.monotonic() + FOLLOW_RETRY_S)
            if failed is None or failed[0] != name:
                log.warning("cannot serve index version %s named by CURRENT (%s); still "
                            "serving %s", name, _failure_text(exc), self.engine.snapshot.name)
            return None
        self._unloadable = None
        log.info("following CURRENT: serving index version=%s", name)
        return name

    def _follow(self) -> None:
        while not self._stop.wait(FOLLOW_POLL_S):
            try:
                self.follow_once()
            except Exception as exc:  # a bad mount moment: look again next second
                log.warning("could not read CURRENT (%s)", describe_exception(exc))

    def _watch(self) -> None:
        """Watch until stopped: whatever goes wrong is logged and the watch starts again (a
        watcher that died would leave the status stale and the folder unwatched)."""
        while not self._stop.is_set():
            try:
                self._watch_until_stopped()
            except Exception as exc:
                log.error("the knowledge-folder watcher failed (%s); watching again in %.1f s",
                          describe_exception(exc), WATCH_RESTART_S)
                self._stop.wait(WATCH_RESTART_S)

    def _watch_until_stopped(self) -> None:
        from watchfiles import watch

        folder = Path(self.settings.knowledge_dir)
        mode = watch_mode(folder, self.settings.watch_polling)
        log.info("watching %s for changes (%s: %s)", folder,
                 "polling" if mode.polling else "notifications", mode.reason)
        # `debounce` gathers a burst of saves into one batch, so edits settle before a build.
        # A quiet WATCH_TICK_MS yields an empty batch: the first one says the watch is set up.
        for changes in watch(folder, debounce=self.debounce_ms, step=50,
                             stop_event=self._stop, raise_interrupt=False,
                             rust_timeout=WATCH_TICK_MS, yield_on_timeout=True,
                             force_polling=mode.polling, poll_delay_ms=POLL_DELAY_MS):
            self.watching.set()
            if self._stop.is_set():
                break
            if changes:
                self.reload()
