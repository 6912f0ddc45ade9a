"""Stops and kills against the real server (gunicorn in a subprocess, real signals): SIGTERM
drains what was acknowledged, tells the rest to ask again; kill -9 of the gunicorn worker
takes the answer worker with it (issue 16, items 4 and 5)."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

from faqbot.slack.later import RESTARTING
from tests.slack.serving import alive, children, start_server

CANARY = "zqfaultcanary71x"


def _burst(server, count: int) -> None:
    """``count`` questions at once, each with its own response_url; all must be acked."""
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(
            lambda i: server.sender.command(f"are models trained on my data? {CANARY}{i}",
                                            key=f"q{i}").status, range(count)))
    assert statuses == [200] * count


def _replies(fake, count: int) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {f"q{i}": [] for i in range(count)}
    for call in fake.calls:
        if call.kind == "response" and call.name in found:
            found[call.name].append(call.data.get("text", ""))
    return found


def test_sigterm_drains_every_acknowledged_question(tmp_path, fake):
    server = start_server(tmp_path, fake, answer_delay=0.05)
    try:
        server.wait_ready()
        _burst(server, 60)
        server.proc.send_signal(signal.SIGTERM)  # at once: most are still queued
        assert server.stop() == 0
    finally:
        server.kill_group()
    replies = _replies(fake, 60)
    lost = [k for k, texts in replies.items() if not texts]
    assert not lost, f"{len(lost)} acknowledged questions got no reply"  # before: 34 and 53
    assert all(len(texts) == 1 and RESTARTING not in texts[0] for texts in replies.values())
    assert "draining" in server.logs()
    assert CANARY not in server.logs()


def test_sigterm_past_the_grace_tells_the_rest_to_ask_again(tmp_path, fake):
    server = start_server(tmp_path, fake, answer_delay=0.25, drain_seconds=1)
    try:
        server.wait_ready()
        _burst(server, 24)  # about 6 s of answers, 1 s of grace
        stopped = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert server.stop() == 0
        assert time.monotonic() - stopped < 15
    finally:
        server.kill_group()
    replies = _replies(fake, 24)
    assert all(len(texts) == 1 for texts in replies.values()), replies  # one reply each
    told = [k for k, texts in replies.items() if RESTARTING in texts[0]]
    answered = [k for k, texts in replies.items() if RESTARTING not in texts[0]]
    assert told and answered, replies
    assert CANARY not in server.logs() and "restart notice" in server.logs()


def test_kill_9_of_the_worker_takes_the_answer_worker_with_it(tmp_path, fake):
    server = start_server(tmp_path, fake)
    try:
        server.wait_ready()
        [worker] = children(server.proc.pid, deep=False)
        helpers = children(worker)  # the answer worker and multiprocessing's resource tracker
        assert len(helpers) >= 1, helpers
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in helpers):  # before: they outlived even the master
            assert time.monotonic() < deadline, [p for p in helpers if alive(p)]
            time.sleep(0.1)
        server.wait_ready()  # the master booted a new worker
        assert server.sender.command("are models trained on my data?").status == 200
        assert fake.wait_response(timeout=20)
        descendants = children(server.proc.pid)
        assert server.stop() == 0
        assert not [p for p in descendants if alive(p)]
    finally:
        server.kill_group()
