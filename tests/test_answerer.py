"""The answer worker process: same answers as in process, follows CURRENT, survives a crash.

The worker is a real spawned process with real FAISS files on disk; it builds the fake model
(``embedder_factory``), as the real one would make these tests slow.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from faqbot.answerer import AnswerWorkerError, LocalAnswerer, ProcessAnswerer, WorkerConfig
from faqbot.index import IndexStore
from faqbot.search import Engine
from faqbot.sources import load_knowledge
from tests.fakes import FakeEmbedder

QUESTIONS = [
    "Are language models trained on my messages?",
    "how do I opt out",
    "what happens to my data after I delete it",
    "office wifi password",
]
CANARY = "zq-canary-worker-5521"


class ExplodingEmbedder(FakeEmbedder):
    """Fails on questions with the canary in an error message that quotes them."""

    def embed(self, texts: list[str]) -> np.ndarray:
        for text in texts:
            if CANARY in text:
                raise ValueError(f"cannot embed {text!r}")
        return super().embed(texts)


@pytest.fixture
def store(tmp_path: Path, knowledge: Path) -> IndexStore:
    store = IndexStore(tmp_path / "index")
    store.build(load_knowledge(knowledge), FakeEmbedder())
    return store


def config(store: IndexStore, factory: type[FakeEmbedder] = FakeEmbedder,
           niceness: int = 10) -> WorkerConfig:
    return WorkerConfig(embedding_model="unused", index_dir=store.root, log_level="INFO",
                        niceness=niceness, embedder_factory=factory)


@pytest.fixture
def worker(store: IndexStore) -> Iterator[ProcessAnswerer]:
    answerer = ProcessAnswerer(config(store))
    answerer.start()
    yield answerer
    answerer.close()


def summary(answer) -> tuple:  # type: ignore[no-untyped-def]
    return (answer.answered, round(answer.confidence, 6), answer.faq.id if answer.faq else None,
            [h.passage.id for h in answer.hits])


def test_worker_answers_exactly_as_in_process(worker: ProcessAnswerer,
                                              store: IndexStore) -> None:
    local = LocalAnswerer(Engine(embedder=FakeEmbedder(), snapshot=store.load()))
    for question in QUESTIONS:
        assert summary(worker.answer(question, 3)) == summary(local.answer(question, 3))
    assert summary(worker.answer("Are language models trained on my messages?", 3))[0]


def niceness(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])  # field 19 of proc(5)


def test_worker_runs_at_lower_priority(worker: ProcessAnswerer) -> None:
    assert niceness(worker.worker_pid()) == min(19, os.nice(0) + 10)


def test_worker_follows_the_current_version(worker: ProcessAnswerer, store: IndexStore,
                                            tmp_path: Path) -> None:
    folder = tmp_path / "knowledge"
    before = summary(worker.answer("quokka habitat rules", 3))
    (folder / "quokka.md").write_text(
        "---\ntitle: Quokka habitat rules\nurl: https://example.com/quokka\nkind: policy\n"
        "date: 2024-06-01\n---\n\n# Quokka habitat rules\n\nQuokka habitat rules say quokkas "
        "live on Rottnest Island and quokka habitat is protected.\n", encoding="utf-8")
    store.build(load_knowledge(folder), FakeEmbedder())
    after = worker.answer("quokka habitat rules", 3)
    assert summary(after) != before
    assert after.hits[0].passage.doc == "quokka.md"
    # a rollback is followed too
    store.rollback()
    assert all(h.passage.doc != "quokka.md" for h in worker.answer("quokka habitat rules",
                                                                    3).hits)


def test_a_killed_worker_is_replaced(worker: ProcessAnswerer) -> None:
    first = summary(worker.answer(QUESTIONS[0], 3))
    os.kill(worker.worker_pid(), signal.SIGKILL)
    time.sleep(0.2)
    assert summary(worker.answer(QUESTIONS[0], 3)) == first
    assert worker.restarts == 1
    # a replacement loads beside a serving server: at the lower priority from the start
    assert niceness(worker.worker_pid()) == min(19, os.nice(0) + 10)


def test_a_failure_in_the_worker_carries_no_question_text(store: IndexStore) -> None:
    answerer = ProcessAnswerer(config(store, ExplodingEmbedder))
    answerer.start()
    try:
        with pytest.raises(AnswerWorkerError) as caught:
            answerer.answer(f"is {CANARY} in my data?", 3)
        assert "ValueError" in str(caught.value)
        seen = [str(caught.value), repr(caught.value.__cause__), repr(caught.value.__context__)]
        assert all(CANARY not in text for text in seen)
        assert answerer.answer(QUESTIONS[0], 3).answered  # the worker is still fine
    finally:
        answerer.close()


def test_start_fails_clearly_without_an_index(tmp_path: Path) -> None:
    answerer = ProcessAnswerer(WorkerConfig(
        embedding_model="unused", index_dir=tmp_path / "nothing", log_level="INFO",
        embedder_factory=FakeEmbedder))
    try:
        with pytest.raises(AnswerWorkerError, match="StoreError"):
            answerer.start()
    finally:
        answerer.close()


def test_closed_answerer_refuses(worker: ProcessAnswerer) -> None:
    worker.close()
    with pytest.raises(AnswerWorkerError, match="closed"):
        worker.answer(QUESTIONS[0], 3)
