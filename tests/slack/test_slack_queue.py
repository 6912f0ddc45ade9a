"""Acks never wait for answers: questions queue after the ack, and a full queue says so.

The answerer here holds every answer until the test releases it, standing in for a worker
that is busy; the app, HTTP and Slack fakes are the real ones.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from faqbot.answerer import LocalAnswerer
from faqbot.models import Answer
from faqbot.slack.blocks import BUSY
from tests.slack.slack_fakes import SlackSender, serve_wsgi


class HeldAnswerer(LocalAnswerer):
    """Answers only once ``release`` is set; counts the questions it is holding."""

    def __init__(self, engine: Any) -> None:
        super().__init__(engine)
        self.release = threading.Event()
        self.holding = 0
        self._count = threading.Lock()

    def answer(self, question: str, top_k: int) -> Answer:
        with self._count:
            self.holding += 1
        assert self.release.wait(timeout=30)
        return super().answer(question, top_k)


@pytest.fixture
def held(slack_settings, engine, fake):  # type: ignore[no-untyped-def]
    from faqbot.slack.app import build_client, create_app
    from faqbot.slack.runner import SlackWSGI
    from faqbot.slack.services import build_services

    answerer = HeldAnswerer(engine)
    services = build_services(slack_settings, engine, answerer)
    app = create_app(slack_settings, engine, client=build_client(slack_settings), services=services)
    server, url = serve_wsgi(SlackWSGI(app))
    yield SlackSender(url, fake), answerer, services.answers
    answerer.release.set()
    server.shutdown()
    server.server_close()
    services.close()


def test_acks_go_out_while_every_answer_is_still_pending(held, fake) -> None:
    sender, answerer, answers = held
    count = 12  # more than the answer threads (4): the rest wait in the queue
    with ThreadPoolExecutor(max_workers=count) as pool:
        responses = list(pool.map(
            lambda i: sender.command("Are language models trained on my messages?",
                                     key=f"k{i}"), range(count)))
    assert [r.status for r in responses] == [200] * count
    assert not [c for c in fake.calls if c.kind == "response"]  # no answer has gone out yet
    assert answers.queued == count
    answerer.release.set()
    for i in range(count):
        data = fake.wait_response(f"k{i}", timeout=10)[0].data
        assert "not trained" in data["text"]
    deadline = time.monotonic() + 5  # the count drops just after each delivery
    while answers.queued and time.monotonic() < deadline:
        time.sleep(0.01)
    assert answers.queued == 0


def test_a_full_queue_replies_busy_at_once(held, fake) -> None:
    sender, answerer, answers = held
    answers.max_queued = 2
    for i in range(2):
        assert sender.command("how do I opt out", key=f"q{i}").status == 200
    assert sender.command("Are my DMs used for AI?", key="over").status == 200
    busy = fake.wait_response("over")[0].data
    assert busy["text"] == BUSY and busy["response_type"] == "ephemeral"
    answerer.release.set()
    for i in range(2):
        assert fake.wait_response(f"q{i}", timeout=10)
    assert answerer.holding == 2  # the busy one never reached the answerer
