"""Shared state for several replicas, on Redis when ``FAQBOT_REDIS_URL`` is set.

What lives here is ids and counts only: Slack event ids (to answer each event once across
replicas), counters (answered / declined, Helpful / Not helpful per FAQ or passage id, how
often each FAQ entry matched, coverage gaps per week), the hashes of admin notices already
sent (each told once, whichever replica saw it) and the index build lock (one builder at a
time). Never a question or any text someone typed: the keys are built from ids the documents
or Slack define, or from a hash.

When Redis is down, answering goes on: de-duplication falls back to the process's own memory
and counts are kept in memory until Redis is back (they are then lost, not merged). The first
failure is logged once, with its class; the first success after it says Redis is back.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any, Protocol

from faqbot.errors import StoreLockedError

log = logging.getLogger("faqbot.state")

#: Every key faqbot writes starts with this, so an operator can find (and flush) them.
PREFIX = "faqbot:"


class CounterStore(Protocol):
    """Counts of fields under named hashes: ``add("outcomes", "answered")``."""

    def add(self, name: str, field: str, amount: int = 1) -> None: ...

    def read(self, name: str) -> dict[str, int]: ...


class MemoryCounters:
    """The embedded default: counts in this process's memory, gone on restart."""

    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {}
        self._lock = threading.Lock()

    def add(self, name: str, field: str, amount: int = 1) -> None:
        with self._lock:
            self._counts.setdefault(name, Counter())[field] += amount

    def read(self, name: str) -> dict[str, int]:
        with self._lock:
            return dict(self._counts.get(name, Counter()))


class _Health:
    """Logs the first failure and the recovery, once each."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._down = False
        self._lock = threading.Lock()

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            first, self._down = not self._down, True
        if first:
            log.warning("redis unavailable for %s (%s): %s", self._what,
                        exc.__class__.__name__, DEGRADED[self._what])

    def ok(self) -> None:
        with self._lock:
            back, self._down = self._down, False
        if back:
            log.info("redis is back for %s", self._what)


DEGRADED = {
    "counters": "counts are kept in this process only until it returns",
    "dedupe": "each replica now de-duplicates Slack events on its own",
    "notices": "each replica now sends its own admin notices (admins may get one per replica)",
    "build lock": "index builds are kept to one at a time by the lock file on the index "
                  "volume only",
}


class RedisCounters:
    """Counters in Redis hashes (``HINCRBY``), shared by replicas and kept across restarts;
    in memory while Redis is down."""

    def __init__(self, client: Any) -> None:
        self._redis = client
        self._fallback = MemoryCounters()
        self._health = _Health("counters")

    def add(self, name: str, field: str, amount: int = 1) -> None:
        try:
            self._redis.hincrby(PREFIX + name, field, amount)
            self._health.ok()
        except Exception as exc:  # redis.RedisError, OSError: answering goes on
            self._health.failed(exc)
            self._fallback.add(name, field, amount)

    def read(self, name: str) -> dict[str, int]:
        try:
            found = self._redis.hgetall(PREFIX + name)
            self._health.ok()
        except Exception as exc:
            self._health.failed(exc)
            return self._fallback.read(name)
        counts = {_text(k): int(v) for k, v in found.items()}
        for field, n in self._fallback.read(name).items():  # what was counted while it was down
            counts[field] = counts.get(field, 0) + n
        return counts


class RedisSeen:
    """"Seen this id?" across replicas: ``SET faqbot:<kind>:<id> 1 NX EX ttl``. Slack event
    ids (kind ``event``) and the hashes of admin notices (kind ``notice``)."""

    def __init__(self, client: Any, ttl: float, kind: str = "event",
                 what: str = "dedupe") -> None:
        self._redis = client
        self._ttl = max(1, int(ttl))
        self._kind = kind
        self._health = _Health(what)

    def first_time(self, event_id: str) -> bool | None:
        """True the first time any replica offers the id, False after; None when Redis can't
        say (the caller then asks its own memory)."""
        try:
            created = self._redis.set(f"{PREFIX}{self._kind}:{event_id}", 1, nx=True,
                                      ex=self._ttl)
            self._health.ok()
            return bool(created)
        except Exception as exc:
            self._health.failed(exc)
            return None


#: The build lock expires this long after its holder stops renewing it (a replica killed
#: mid-build holds it no longer than this); the holder renews it every third of it.
LOCK_TTL_S = 30.0
LOCK_KEY = PREFIX + "index:build-lock"


class RedisLock:
    """One index builder at a time across replicas (``SET NX PX`` with a token, through
    redis-py's ``Lock``), renewed while the build runs.

    ``hold`` yields True while it holds the lock, False when Redis can't be asked (the caller
    then relies on the lock file alone); it raises StoreLockedError when another replica
    still holds it after ``wait_s`` seconds. The value stored is a random token.
    """

    def __init__(self, client: Any, key: str = LOCK_KEY, ttl: float = LOCK_TTL_S) -> None:
        self._redis = client
        self._key = key
        self._ttl = ttl
        self._health = _Health("build lock")

    @contextlib.contextmanager
    def hold(self, wait_s: float = 0.0) -> Iterator[bool]:
        lock = self._redis.lock(self._key, timeout=self._ttl, sleep=0.1,
                                blocking=wait_s > 0, blocking_timeout=max(wait_s, 0.01),
                                thread_local=False)
        try:
            held = lock.acquire(token=uuid.uuid4().hex)
            self._health.ok()
        except Exception as exc:  # Redis down: the lock file still keeps one build per host
            self._health.failed(exc)
            yield False
            return
        if not held:
            raise StoreLockedError("another replica is building the index; it will be "
                                   "served here when it is done")
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(lock, stop),
                                   name="faqbot-build-lock", daemon=True)
        renewer.start()
        try:
            yield True
        finally:
            stop.set()
            renewer.join(5)
            try:
                lock.release()
            except Exception as exc:  # expired while Redis was away: nothing left to free
                self._health.failed(exc)

    def _renew(self, lock: Any, stop: threading.Event) -> None:
        while not stop.wait(self._ttl / 3):
            try:
                lock.reacquire()
                self._health.ok()
            except Exception as exc:
                self._health.failed(exc)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def connect(url: str) -> Any:
    """A Redis client for ``url`` with short timeouts (a dead Redis must not hold an ack)."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5,
                                health_check_interval=30)
