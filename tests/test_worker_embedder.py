"""The server's embedder that embeds in the answer worker: the same vectors as the model in
process, an index built through it identical to one built in process; a real spawned worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from faqbot.answerer import ProcessAnswerer, WorkerConfig
from faqbot.embedding import TokenEmbedder
from faqbot.index import IndexStore
from faqbot.sources import load_knowledge
from faqbot.worker_embedder import WorkerEmbedder
from tests.fakes import FakeEmbedder, FakeTokenEmbedder

TEXTS = ["Are language models trained on my messages?", "office wifi", "opt out of training"]


def worker(index: Path, factory: type[FakeEmbedder]) -> ProcessAnswerer:
    return ProcessAnswerer(WorkerConfig(embedding_model="unused", index_dir=index,
                                        log_level="INFO", embedder_factory=factory))


@pytest.fixture
def token_worker(tmp_path: Path) -> Iterator[ProcessAnswerer]:
    answerer = worker(tmp_path / "index", FakeTokenEmbedder)
    yield answerer
    answerer.close()


def test_the_worker_embeds_as_the_model_in_process(token_worker: ProcessAnswerer) -> None:
    embedder = token_worker.embedder()  # no index yet: the model loads on its own
    local = FakeTokenEmbedder()
    assert (embedder.model_id, embedder.dim) == (local.model_id, local.dim)
    assert isinstance(embedder, TokenEmbedder)
    np.testing.assert_array_equal(embedder.embed(TEXTS), local.embed(TEXTS))
    vectors, tokens = embedder.embed_with_tokens(TEXTS)
    expected, expected_tokens = local.embed_with_tokens(TEXTS)
    np.testing.assert_array_equal(vectors, expected)
    for got, want in zip(tokens, expected_tokens, strict=True):
        np.testing.assert_array_equal(got.vectors, want.vectors)
        np.testing.assert_array_equal(got.ids, want.ids)
    assert embedder.embed([]).shape == (0, local.dim)


def test_a_model_without_tokens_gets_the_plain_embedder(tmp_path: Path) -> None:
    answerer = worker(tmp_path / "index", FakeEmbedder)
    try:
        embedder = answerer.embedder()
        assert type(embedder) is WorkerEmbedder and not isinstance(embedder, TokenEmbedder)
    finally:
        answerer.close()


def test_an_index_built_through_the_worker_is_the_one_built_in_process(
        token_worker: ProcessAnswerer, knowledge: Path, tmp_path: Path) -> None:
    kb = load_knowledge(knowledge)
    remote = IndexStore(tmp_path / "index").build(kb, token_worker.embedder())
    local = IndexStore(tmp_path / "local").build(kb, FakeTokenEmbedder())
    assert remote.embedded == local.embedded > 0
    a, b = (IndexStore(tmp_path / d).load() for d in ("index", "local"))
    assert a.manifest["checksums"] == b.manifest["checksums"]  # every file byte for byte


def test_a_worker_that_cannot_load_the_model_says_why(tmp_path: Path) -> None:
    answerer = ProcessAnswerer(WorkerConfig(embedding_model=str(tmp_path / "no-such-model"),
                                            index_dir=tmp_path / "index", log_level="INFO"))
    try:
        with pytest.raises(Exception, match="could not load the model: cannot load embedding"):
            answerer.embedder()
    finally:
        answerer.close()
