"""Answer each Slack event once: remember event ids (never text) for a few minutes.

Slack redelivers an event when the first delivery was not acknowledged in 3 seconds, after
about a minute and again after about five. In Socket Mode even the first delivery carries a
retry number ("0"), so the presence of ``x-slack-retry-num`` means nothing; the event id does.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from faqbot.state.shared import RedisSeen

#: Slack's last retry comes about 5 minutes after the first delivery.
DEFAULT_TTL_SECONDS = 10 * 60
DEFAULT_MAX_IDS = 50_000


def retry_number(value: str | None) -> int:
    """The ``x-slack-retry-num`` header as a number: 0 when absent or not a number."""
    try:
        return max(0, int(str(value).strip())) if value is not None else 0
    except ValueError:
        return 0


class EventDeduper:
    """A bounded, expiring set of event ids; thread-safe."""

    def __init__(
        self,
        ttl: float = DEFAULT_TTL_SECONDS,
        max_ids: int = DEFAULT_MAX_IDS,
        clock: Callable[[], float] = time.monotonic,
        shared: RedisSeen | None = None,
    ) -> None:
        self.ttl = ttl
        self._shared = shared  # replicas' common memory (Redis), when configured
        self.max_ids = max_ids
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()  # event id -> expiry, oldest first
        self._lock = threading.Lock()

    def first_time(self, event_id: str) -> bool:
        """True the first time an id is offered within the expiry window, False after; with
        Redis, the first time any replica is offered it (this process's memory decides while
        Redis is down)."""
        local = self._first_time_here(event_id)
        if self._shared is not None:
            shared = self._shared.first_time(event_id)
            if shared is not None:
                return shared
        return local

    def _first_time_here(self, event_id: str) -> bool:
        now = self._clock()
        with self._lock:
            self._expire(now)
            if event_id in self._seen:
                return False
            self._seen[event_id] = now + self.ttl
            while len(self._seen) > self.max_ids:
                self._seen.popitem(last=False)
            return True

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._seen)

    def _expire(self, now: float) -> None:
        while self._seen:
            oldest_id, expiry = next(iter(self._seen.items()))
            if expiry > now:
                break
            del self._seen[oldest_id]
