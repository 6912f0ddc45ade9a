"""Two replicas in HTTP mode (each the real server, gunicorn and its answer worker, on its own
127.0.0.1 port) sharing one real redis-server and one index folder, against the fake Slack
(issue 17): an event delivered to both is answered once, counters add up, one build serves
both, a rollback reaches both, kill -9 of one loses nothing sent to the other, and a Redis
restart costs no answer. No question text reaches Redis or either replica's log.

The replicas start once for the module (start-up costs seconds); the tests run in file order
and the last ones stop Redis and kill a replica.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faqbot.index import IndexStore
from faqbot.state.shared import PREFIX, connect
from tests.redis_server import RedisServer
from tests.redis_server import redis_server as redis_server  # the session fixture
from tests.slack.serving import Server, start_server
from tests.slack.slack_fakes import KNOWLEDGE, OWNER, FakeSlack, dm

CANARY = "zqreplicacanary52"
PARKING = ("---\ntitle: Parking\nurl: https://intranet/parking\nkind: internal\n---\n"
           "## Parking\n\nThe zebra garage opens at seven.\n")
HELPFUL = json.dumps({"f": "llm-training", "p": []})
#: Every build takes this much longer, so the replicas' builds (at start-up, after an edit)
#: overlap and the race for the build lock is really run.
BUILD_DELAY = 4.0


@dataclass
class Replicas:
    a: Server
    b: Server
    index_dir: Path
    knowledge: Path
    redis: RedisServer

    def both(self) -> tuple[Server, Server]:
        return self.a, self.b


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack,
             redis_server: RedisServer) -> Iterator[Replicas]:
    root = tmp_path_factory.mktemp("replicas")
    knowledge = root / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    index_dir = root / "index"
    connect(redis_server.url).flushdb()
    fake_slack.reset()
    servers: list[Server] = []
    try:
        for name, polling in (("a", False), ("b", True)):  # B watches by polling
            folder = root / name
            folder.mkdir()
            servers.append(start_server(
                folder, fake_slack, knowledge_dir=str(knowledge), index_dir=str(index_dir),
                redis_url=redis_server.url, admin_user_ids=[OWNER],
                state_dir=str(folder / "state"), watch_polling=polling,
                build_delay=BUILD_DELAY))
        for server in servers:  # both start on an empty index folder at once
            server.wait_ready(120)
            server.wait_log("watching")
        yield Replicas(servers[0], servers[1], index_dir, knowledge, redis_server)
    finally:
        for server in servers:
            try:
                server.stop()
            finally:
                server.kill_group()
        connect(redis_server.url).flushdb()


def _wait(check: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"not within {timeout} s: {what}"
        time.sleep(0.1)
    return time.monotonic() - started


def _posts_to(fake: FakeSlack, channel: str) -> list[Any]:
    return [c for c in fake.api_calls("chat.postMessage") if c.data.get("channel") == channel]


def _admin(server: Server, fake: FakeSlack, action: str, key: str) -> str:
    assert server.sender.command(f"admin {action}", user_id=OWNER, key=key).status == 200
    return fake.wait_response(key, timeout=30)[-1].text


def _version(server: Server, fake: FakeSlack, key: str) -> str:
    return _admin(server, fake, "status", key)


def test_replicas_started_together_built_the_index_once(replicas: Replicas) -> None:
    versions = IndexStore(replicas.index_dir).version_names()
    assert len(versions) == 1, versions
    built = [s for s in replicas.both() if "full build" in s.logs()]
    assert len(built) == 1, "each replica built the index"
    waited = [s for s in replicas.both() if "built by another process meanwhile" in s.logs()]
    assert len(waited) == 1 and waited != built  # the other waited for it, then used it


def test_an_event_delivered_to_both_gets_one_answer(replicas: Replicas, fake: FakeSlack) -> None:
    count = 6
    barrier = threading.Barrier(2)

    def deliver(args: tuple[Server, int, int | None]) -> int:
        server, i, retry = args
        event = dm(f"are my messages used to train models? {CANARY}", channel=f"DE{i}")
        barrier.wait(5)  # the first delivery and the retry arrive together
        return server.sender.event(event, event_id=f"EvRep{i}", retry_num=retry).status

    with ThreadPoolExecutor(2) as pool:
        for i in range(count):
            first, retry = (replicas.a, replicas.b) if i % 2 else (replicas.b, replicas.a)
            statuses = list(pool.map(deliver, [(first, i, None), (retry, i, 1)]))
            assert statuses == [200, 200]
    _wait(lambda: all(_posts_to(fake, f"DE{i}") for i in range(count)), 30, "every answer")
    time.sleep(1.5)  # a second answer would have come by now
    assert [len(_posts_to(fake, f"DE{i}")) for i in range(count)] == [1] * count


def test_helpful_clicks_on_both_add_up_on_either(replicas: Replicas, fake: FakeSlack) -> None:
    for n, server in enumerate([replicas.a, replicas.a, replicas.b, replicas.b, replicas.b]):
        assert server.sender.action("feedback_helpful", HELPFUL, key=f"fb{n}").status == 200
        fake.wait_response(f"fb{n}", timeout=10)
    for server in replicas.both():
        status = _admin(server, fake, "status", f"status-{server.port}")
        assert "`faq:llm-training`: 5 / 0" in status, status


def test_a_knowledge_edit_is_served_by_both_with_one_build(replicas: Replicas,
                                                           fake: FakeSlack) -> None:
    store = IndexStore(replicas.index_dir)
    before = store.version_names()
    (replicas.knowledge / "parking.md").write_text(PARKING, "utf-8")
    seconds = _wait(lambda: len(store.version_names()) == len(before) + 1, 30, "the build")
    new = store.current_name()
    assert new is not None and new not in before
    for server in replicas.both():  # each serves it: the status says so, answers quote it
        _wait(lambda s=server: new in _version(s, fake, f"v-{s.port}-{time.monotonic_ns()}"),
              10, "the new version in service")
        assert _answer(server, fake, "What time does the zebra garage open for parking?", "zebra").count(
            "zebra garage opens at seven") >= 1
    time.sleep(2)  # the slower watcher has had its turn too
    story = _reload_lines(replicas)
    assert store.version_names() == [*before, new], story  # exactly one build
    assert story.count("reloaded index version=") == 1, story
    # the other replica's watcher saw the edit during that build, waited and served it; on a
    # loaded machine it may only look once the build is done, and then finds nothing to do
    assert story.count("was built by another process; serving it") <= 1, story
    assert not _posts_to(fake, OWNER), story  # no failure notice
    print(f"edit served by the first replica's build after {seconds:.1f} s")


def _reload_lines(replicas: Replicas) -> str:
    """What each replica's reloader logged (for a failure message)."""
    words = ("reload", "index version", "CURRENT", "watching", "admin")
    return "\n".join(f"{name}: {line}" for name, server in zip("AB", replicas.both(), strict=True)
                     for line in server.logs().splitlines() if any(w in line for w in words))


def _answer(server: Server, fake: FakeSlack, question: str, key: str) -> str:
    key = f"{key}-{server.port}-{time.monotonic_ns()}"
    assert server.sender.command(f"{question} {CANARY}", key=key).status == 200
    return fake.wait_response(key, timeout=30)[0].text


def test_a_rollback_sent_to_a_is_served_by_b(replicas: Replicas, fake: FakeSlack) -> None:
    store = IndexStore(replicas.index_dir)
    previous = store.version_names()[-2]
    reply = _admin(replicas.a, fake, "rollback", "rollback")
    assert previous in reply, reply
    assert store.current_name() == previous
    _wait(lambda: previous in _version(replicas.b, fake, f"vb-{time.monotonic_ns()}"), 10,
          "B on the rolled-back version")
    answer = _answer(replicas.b, fake, "What time does the zebra garage open for parking?", "zebra")
    assert "zebra garage opens at seven" not in answer
    assert not _posts_to(fake, OWNER)


def test_a_broken_edit_and_its_fix_are_told_to_admins_once(replicas: Replicas,
                                                           fake: FakeSlack) -> None:
    faq = replicas.knowledge / "faq.yml"
    good = faq.read_text("utf-8")
    faq.write_text("faq:\n  - id: x\n   bad: indent\n", "utf-8")
    for server in replicas.both():  # both replicas saw it fail...
        server.wait_log("reload failed", timeout=15)
    time.sleep(1)
    told = _posts_to(fake, OWNER)
    assert len(told) == 1 and "faq.yml:3" in told[0].text  # ...the admin is told once
    faq.write_text(good, "utf-8")
    _wait(lambda: len(_posts_to(fake, OWNER)) == 2, 20, "the recovery notice")
    time.sleep(2)
    told = _posts_to(fake, OWNER)
    assert len(told) == 2 and "problem is gone" in told[1].text
    logs = replicas.a.logs() + replicas.b.logs()  # each notice: sent by one, held by one
    assert logs.count("admin notified of a reload result") == 2
    assert logs.count("already sent by another replica") == 2


def _question_events(count: int, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    return [(f"Ev{prefix}{i}", dm(f"can we opt out of training? {CANARY}",
                                  channel=f"D{prefix}{i}")) for i in range(count)]


def test_questions_while_redis_stops_and_restarts_all_get_answers(replicas: Replicas,
                                                                  fake: FakeSlack) -> None:
    count = 40
    events = _question_events(count, "R")
    statuses: list[int] = []

    def send(i: int) -> None:
        event_id, event = events[i]
        server = replicas.both()[i % 2]
        if i % 4 < 2:
            statuses.append(server.sender.event(event, event_id=event_id).status)
        else:  # a slash command, answered through its response_url
            statuses.append(server.sender.command(f"can we opt out of training? {CANARY}",
                                                  key=event["channel"]).status)

    for i in range(count):
        if i == 10:
            replicas.redis.stop()
        if i == 25:
            replicas.redis.start()
        send(i)
        time.sleep(0.05)
    assert statuses == [200] * count

    def answers(i: int) -> int:
        channel = events[i][1]["channel"]
        if i % 4 < 2:
            return len(_posts_to(fake, channel))
        return len([c for c in fake.calls if c.kind == "response" and c.name == channel])

    _wait(lambda: all(answers(i) for i in range(count)), 60, "every answer")
    time.sleep(1)
    assert [answers(i) for i in range(count)] == [1] * count
    for server in replicas.both():
        logs = server.logs()
        assert "redis unavailable" in logs and "redis is back" in logs


def test_kill_9_of_one_replica_mid_burst_loses_nothing_sent_to_the_other(
        replicas: Replicas, fake: FakeSlack) -> None:
    count = 40
    events = _question_events(count, "K")
    outcome: dict[int, str] = {}
    lock = threading.Lock()

    def send(i: int) -> None:
        event_id, event = events[i]
        server = replicas.both()[i % 2]
        try:
            status = server.sender.event(event, event_id=event_id).status
            where = "a" if server is replicas.a else "b"
        except (OSError, http.client.HTTPException):  # refused, reset, cut short
            # the load balancer's part: what A cannot take goes to B (Slack's retry header)
            status = replicas.b.sender.event(event, event_id=event_id, retry_num=1).status
            where = "a->b"
        assert status == 200
        with lock:
            outcome[i] = where

    with ThreadPoolExecutor(6) as pool:
        futures = []
        for i in range(count):
            if i == 14:
                os.killpg(replicas.a.proc.pid, signal.SIGKILL)
            futures.append(pool.submit(send, i))
            time.sleep(0.03)
        for future in futures:
            future.result()
    replicas.a.proc.wait(10)

    def posts(i: int) -> int:
        return len(_posts_to(fake, events[i][1]["channel"]))

    to_b = [i for i, where in outcome.items() if where in ("b", "a->b")]
    assert to_b and any(where == "a->b" for where in outcome.values()), outcome
    _wait(lambda: all(posts(i) for i in to_b if outcome[i] == "b"), 60, "B's answers")
    time.sleep(2)
    assert all(posts(i) == 1 for i in to_b if outcome[i] == "b"), outcome  # all of B's
    assert all(posts(i) <= 1 for i in range(count))  # nothing answered twice
    answered_for_a = sum(posts(i) for i, w in outcome.items() if w == "a->b")
    print(f"sent to A then B after the kill: {sum(w == 'a->b' for w in outcome.values())}, "
          f"answered {answered_for_a}; acked by A before: {sum(w == 'a' for w in outcome.values())}")


def test_no_question_text_in_redis_or_either_log(replicas: Replicas) -> None:
    client = connect(replicas.redis.url)
    keys = client.keys("*")
    assert keys  # counters, event ids, notices were written
    for key in keys:
        assert key.startswith(PREFIX.encode()), key
        kind = client.type(key)
        value = (client.hgetall(key) if kind == b"hash" else
                 client.lrange(key, 0, -1) if kind == b"list" else
                 client.smembers(key) if kind == b"set" else
                 client.zrange(key, 0, -1) if kind == b"zset" else client.get(key))
        dump = repr(key) + repr(value)
        for word in (CANARY, "zebra", "garage", "opt out of", "messages used"):
            assert word not in dump, dump
    for server in replicas.both():
        logs = server.logs()
        assert CANARY not in logs and "zebra garage" not in logs
