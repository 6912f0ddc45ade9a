"""The one way the Slack layer runs work after the ack: a bounded queue on a thread pool.

Bolt's listener threads only ack and hand the work over, so a burst of questions queues
here, never in front of acks. Work that fails is logged by class and place and the user gets
the friendly sentence; when too many wait, the busy notice goes out at once instead. When
the app stops (SIGTERM: every deploy), the work in hand is drained within a grace period and
whatever cannot be answered in time gets "faqbot is restarting, please ask again".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from faqbot.slack.blocks import BUSY, FRIENDLY_ERROR, Message, notice
from faqbot.slack.delivery import DeliveryUnknown
from faqbot.slack.failures import failed

log = logging.getLogger("faqbot.slack")

#: Questions waiting for an answer beyond this many get a "busy, ask again" reply at once
#: (minutes of work at the measured answer rate; Slack's response_url lasts 30 minutes).
MAX_QUEUED = 1_000

#: What a user gets when the app stops before their question could be answered.
RESTARTING = "faqbot is restarting and couldn't answer in time. Please ask again in a minute."
#: Restart notices go out this many at a time, for at most this long in all.
NOTICE_THREADS = 8
NOTICE_TIMEOUT_S = 4.0

Send = Callable[[Message], Any]


class Later:
    """A pool of ``workers`` threads with at most ``max_queued`` jobs waiting or running."""

    def __init__(self, workers: int, *, name: str, max_queued: int = MAX_QUEUED) -> None:
        self.max_queued = max_queued
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._queued = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        #: jobs handed over and not finished: their ``send``, for the restart notice
        self._pending: dict[Future[None], tuple[str, Send, str]] = {}
        self._closing = False

    def run(self, what: str, work: Callable[[], None], send: Send, qhash: str = "-") -> None:
        """Run ``work`` on the pool; ``send`` gets the busy notice now, or the friendly
        sentence if ``work`` fails (logged as ``what`` with ``qhash``, class only); while
        the app stops, the restart notice instead."""
        with self._lock:
            closing = self._closing
            full = not closing and self._queued >= self.max_queued
            if not full and not closing:
                self._queued += 1
        if closing:
            _tell(f"{what} (restart notice)", send, notice(RESTARTING))
            return
        if full:
            log.warning("%s: %d questions queued, replying busy", what, self.max_queued)
            _tell(f"{what} (busy notice)", send, notice(BUSY))
            return
        try:
            with self._lock:
                future = self._pool.submit(self._job, what, work, send, qhash)
                self._pending[future] = (what, send, qhash)
        except RuntimeError:  # shut down meanwhile
            self._done()
            _tell(f"{what} (restart notice)", send, notice(RESTARTING))
            return
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.pop(future, None)

    def _job(self, what: str, work: Callable[[], None], send: Send, qhash: str) -> None:
        try:
            work()
        except DeliveryUnknown:
            # the reply may have arrived: a failure notice now could follow an answer
            log.warning("%s: delivery timed out, state unknown; no notice sent q=%s", what, qhash)
        except Exception as exc:
            failed(what, exc, qhash)
            _tell(f"{what} (error notice)", send, notice(FRIENDLY_ERROR))
        finally:
            self._done()

    def _done(self) -> None:
        with self._lock:
            self._queued -= 1
            if self._queued <= 0:
                self._idle.notify_all()

    @property
    def queued(self) -> int:
        """Jobs handed over and not finished yet."""
        with self._lock:
            return self._queued

    def close(self, grace: float = 0.0) -> None:
        """Stop: new work gets the restart notice at once; the work in hand has ``grace``
        seconds to finish; what has not started by then is dropped and its user gets the
        restart notice ("please ask again"). Waits for jobs already running (the answerer is
        closed after this, so they finish normally)."""
        deadline = time.monotonic() + grace
        with self._lock:
            self._closing = True
            while self._queued > 0 and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(left)
            pending = list(self._pending.items())
        dropped = [(what, send) for future, (what, send, _q) in pending if future.cancel()]
        if dropped:
            log.warning("stopping: %d job(s) not done within %.0f s get the restart notice",
                        len(dropped), grace)
            _tell_all(dropped)
        for _ in dropped:
            self._done()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _tell_all(dropped: list[tuple[str, Send]]) -> None:
    """The restart notice to every dropped job's user, a few at a time, bounded in time."""
    with ThreadPoolExecutor(max_workers=NOTICE_THREADS,
                            thread_name_prefix="faqbot-notice") as pool:
        futures = [pool.submit(_tell, f"{what} (restart notice)", send, notice(RESTARTING))
                   for what, send in dropped]
        wait(futures, timeout=NOTICE_TIMEOUT_S)
        for future in futures:
            future.cancel()


def _tell(what: str, send: Send, message: Message) -> None:
    try:
        send(message)
    except Exception as exc:
        failed(what, exc)
