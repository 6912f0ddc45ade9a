"""Shared state on a real Redis: event ids answered once across replicas, counters shared and
kept across restarts, answering unharmed while Redis is down, and no text in Redis."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from faqbot.errors import StoreLockedError
from faqbot.index import IndexStore
from faqbot.settings import Settings
from faqbot.slack.dedupe import EventDeduper
from faqbot.slack.services import SlackServices, build_services
from faqbot.state.shared import (
    LOCK_KEY,
    PREFIX,
    RedisCounters,
    RedisLock,
    RedisSeen,
    connect,
)
from tests.redis_server import RedisServer, free_port
from tests.redis_server import redis_server as redis_server  # the session fixture

CANARY = "zq-canary-redis-8813"


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    client = connect(redis_server.url)
    client.flushdb()
    yield redis_server.url
    client.flushdb()


def replica(settings: Settings, engine, redis_url: str) -> SlackServices:  # type: ignore[no-untyped-def]
    return build_services(settings.model_copy(update={"redis_url": SecretStr(redis_url)}),
                          engine)


def test_an_event_is_answered_once_across_replicas(settings, engine, redis_url) -> None:  # type: ignore[no-untyped-def]
    a, b = replica(settings, engine, redis_url), replica(settings, engine, redis_url)
    try:
        assert a.deduper.first_time("Ev1") is True
        assert b.deduper.first_time("Ev1") is False  # the retry landed on the other replica
        assert b.deduper.first_time("Ev2") is True
    finally:
        a.close()
        b.close()


def test_counters_are_shared_and_survive_a_restart(settings, engine, redis_url) -> None:  # type: ignore[no-untyped-def]
    a, b = replica(settings, engine, redis_url), replica(settings, engine, redis_url)
    try:
        a.asker.ask(f"Are language models trained on my messages? {CANARY}", via="command")
        b.asker.ask(f"what is the capital of france {CANARY}", via="command")
        a.feedback.record("not_helpful", "llm-training", ["p1"])
        counts = b.outcomes.counts()
        assert counts["answered"] + counts["declined"] == 2
        assert b.feedback.counts()["faq:llm-training"] == {"not_helpful": 1}
    finally:
        a.close()
        b.close()
    restarted = replica(settings, engine, redis_url)
    try:
        again = restarted.outcomes.counts()
        assert again["answered"] + again["declined"] == 2  # kept across the restart
    finally:
        restarted.close()
    client = connect(redis_url)
    for key in client.keys("*"):  # ids and counts only: no question text anywhere in Redis
        assert key.startswith(PREFIX.encode())
        dump = repr(key) + repr(client.hgetall(key) if client.type(key) == b"hash"
                                else client.get(key))
        assert CANARY not in dump and "france" not in dump and "language" not in dump


def test_answering_goes_on_while_redis_is_down_and_recovers(
        redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    client = connect(redis_server.url)
    counters, seen = RedisCounters(client), RedisSeen(client, ttl=60)
    deduper = EventDeduper(shared=seen)
    redis_server.stop()
    try:
        with caplog.at_level(logging.INFO, "faqbot.state"):
            counters.add("outcomes", "answered")
            counters.add("outcomes", "answered")
            assert counters.read("outcomes") == {"answered": 2}  # kept here meanwhile
            assert deduper.first_time("EvDown") is True  # this process's memory decides
            assert deduper.first_time("EvDown") is False
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 2  # once for counters, once for de-duplication
        assert all("redis unavailable" in r.getMessage() for r in warnings)
    finally:
        redis_server.start()
    client.flushdb()
    with caplog.at_level(logging.INFO, "faqbot.state"):
        counters.add("outcomes", "declined")
        assert "redis is back for counters" in caplog.text
    assert client.hgetall(PREFIX + "outcomes") == {b"declined": b"1"}


def test_no_redis_at_all_still_answers(settings, engine) -> None:  # type: ignore[no-untyped-def]
    services = replica(settings, engine, f"redis://127.0.0.1:{free_port()}/0")
    try:
        reply = services.asker.ask("Are language models trained on my messages?", via="dm")
        assert reply.answer.answered
        assert services.deduper.first_time("EvX") and not services.deduper.first_time("EvX")
    finally:
        services.close()


def test_the_build_lock_is_held_by_one_replica_and_waited_for(redis_url: str) -> None:
    a, b = RedisLock(connect(redis_url)), RedisLock(connect(redis_url))
    with a.hold() as held:
        assert held is True
        with pytest.raises(StoreLockedError, match="another replica"), b.hold():
            pass
    started = time.monotonic()
    with b.hold(wait_s=2) as held:  # free now: taken at once
        assert held is True and time.monotonic() - started < 1
    released = threading.Event()

    def hold_a_while() -> None:
        with a.hold():
            released.wait(0.6)

    holder = threading.Thread(target=hold_a_while)
    holder.start()
    time.sleep(0.1)
    started = time.monotonic()
    with b.hold(wait_s=5) as held:  # waits for A's release, then holds it
        waited = time.monotonic() - started
        assert held is True and 0.3 < waited < 4
    holder.join()
    assert connect(redis_url).keys("*") == []  # released: nothing left behind


def test_the_build_lock_is_renewed_while_a_long_build_runs(redis_url: str) -> None:
    client = connect(redis_url)
    lock = RedisLock(client, ttl=1.0)
    with lock.hold():
        time.sleep(2.2)  # past its expiry twice over
        assert client.pttl(LOCK_KEY) > 0
        with pytest.raises(StoreLockedError), RedisLock(client, ttl=1.0).hold():
            pass
    assert not client.exists(LOCK_KEY)


def test_without_redis_the_build_lock_leaves_it_to_the_lock_file(
        caplog: pytest.LogCaptureFixture) -> None:
    lock = RedisLock(connect(f"redis://127.0.0.1:{free_port()}/0"))
    with caplog.at_level(logging.WARNING, "faqbot.state"), lock.hold(wait_s=1) as held:
        assert held is False
    assert "redis unavailable for build lock" in caplog.text


def test_two_stores_on_one_folder_build_once(settings, engine, redis_url) -> None:  # type: ignore[no-untyped-def]
    from faqbot.sources import load_knowledge

    (settings.knowledge_dir / "parking.md").write_text(
        "---\ntitle: Parking\n---\n## Parking\n\nThe zebra garage opens at seven.\n")
    kb = load_knowledge(settings.knowledge_dir)
    stores = [IndexStore(settings.index_dir, shared_lock=RedisLock(connect(redis_url)))
              for _ in range(2)]
    before = stores[0].version_names()
    reports: list[object] = []
    threads = [threading.Thread(target=lambda s=s: reports.append(
        s.build_if_stale(kb, engine.embedder, wait_s=30))) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r is None for r in reports) == [False, True]  # one built, one found it
    assert len(stores[0].version_names()) == len(before) + 1


def test_an_admin_notice_is_sent_once_across_replicas(redis_url: str) -> None:
    from faqbot.slack.admin import AdminNotifier

    class Recorder:
        def __init__(self) -> None:
            self.sent: list[dict[str, object]] = []

        def chat_postMessage(self, **kwargs: object) -> None:
            self.sent.append(kwargs)

    clients = [Recorder(), Recorder()]
    notifiers = [AdminNotifier(c, ["UADMIN1", "UADMIN2"],  # type: ignore[arg-type]
                               once=RedisSeen(connect(redis_url), 60, kind="notice"))
                 for c in clients]
    for notifier in notifiers:
        notifier("faqbot could not reload the knowledge folder.\nfaq.yml:3: error")
    assert [len(c.sent) for c in clients] == [2, 0]  # both admins, by one replica
    notifiers[1]("faqbot reloaded the knowledge folder again.")  # another event
    assert [len(c.sent) for c in clients] == [2, 2]
    plain = AdminNotifier(clients[0], ["UADMIN1"])  # type: ignore[arg-type]
    plain("faqbot reloaded the knowledge folder again.")  # no Redis: sent as before
    assert len(clients[0].sent) == 3
    keys = connect(redis_url).keys(PREFIX + "notice:*")
    assert len(keys) == 2 and all(b"faq.yml" not in k and b"reload" not in k for k in keys)
