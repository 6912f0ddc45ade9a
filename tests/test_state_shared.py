"""Shared state on a real Redis: event ids answered once across replicas, counters shared and
kept across restarts, answering unharmed while Redis is down, and no text in Redis."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from faqbot.settings import Settings
from faqbot.slack.dedupe import EventDeduper
from faqbot.slack.services import SlackServices, build_services
from faqbot.state.shared import PREFIX, RedisCounters, RedisSeen, connect
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
