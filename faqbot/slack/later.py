"""The one way the Slack layer runs work after the ack: a bounded queue on a thread pool.

Bolt's listener threads only ack and hand the work over, so a burst of questions queues
here, never in front of acks. Work that fails is logged by class and place and the user gets
the friendly sentence; when too many wait, the busy notice goes out at once instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from faqbot.slack.blocks import BUSY, FRIENDLY_ERROR, Message, notice
from faqbot.slack.delivery import DeliveryUnknown
from faqbot.slack.failures import failed

log = logging.getLogger("faqbot.slack")

#: Questions waiting for an answer beyond this many get a "busy, ask again" reply at once
#: (minutes of work at the measured answer rate; Slack's response_url lasts 30 minutes).
MAX_QUEUED = 1_000

Send = Callable[[Message], Any]


class Later:
    """A pool of ``workers`` threads with at most ``max_queued`` jobs waiting or running."""

    def __init__(self, workers: int, *, name: str, max_queued: int = MAX_QUEUED) -> None:
        self.max_queued = max_queued
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._queued = 0
        self._lock = threading.Lock()

    def run(self, what: str, work: Callable[[], None], send: Send, qhash: str = "-") -> None:
        """Run ``work`` on the pool; ``send`` gets the busy notice now, or the friendly
        sentence if ``work`` fails (logged as ``what`` with ``qhash``, class only)."""
        with self._lock:
            full = self._queued >= self.max_queued
            if not full:
                self._queued += 1
        if full:
            log.warning("%s: %d questions queued, replying busy", what, self.max_queued)
            _tell(f"{what} (busy notice)", send, notice(BUSY))
            return
        try:
            self._pool.submit(self._job, what, work, send, qhash)
        except RuntimeError:  # shutting down
            self._done()

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

    @property
    def queued(self) -> int:
        """Jobs handed over and not finished yet."""
        with self._lock:
            return self._queued

    def close(self) -> None:
        """Finish the jobs in hand, drop the waiting ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _tell(what: str, send: Send, message: Message) -> None:
    try:
        send(message)
    except Exception as exc:
        failed(what, exc)
