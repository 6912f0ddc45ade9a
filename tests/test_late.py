"""Late interaction: content tokens, the token store on disk, IDF and MaxSim."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faqbot.late import TextTokens, TokenStore, TokenWriter, content_mask, maxsim, write_tokens


def _tokens(rng: np.random.Generator, n: int, dim: int = 8) -> TextTokens:
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return TextTokens(vectors, rng.integers(0, 50, size=n).astype(np.int32))


def test_content_mask_drops_function_words_punctuation_and_special_tokens() -> None:
    pieces = ["[CLS]", "how", "do", "i", "opt", "out", "of", "advert", "##ising", "?", "2024",
              "[SEP]"]
    kept = [p for p, keep in zip(pieces, content_mask(pieces), strict=True) if keep]
    assert kept == ["opt", "out", "advert", "##ising", "2024"]  # "out" is a topic word here
    sentencepiece = ["<s>", "\u2581How", "\u2581do", "\u2581opt", "\u2581out", "ing", "?", "</s>"]
    assert content_mask(sentencepiece).tolist() == [False, False, False, True, True, True,
                                                    False, False]
    assert content_mask(["\u0120the", "\u0120retention"]).tolist() == [False, True]


def test_store_on_disk_reads_back_what_was_written(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    groups = [_tokens(rng, 4), _tokens(rng, 0), _tokens(rng, 7)]
    write_tokens(tmp_path, iter(groups), dim=8)  # written from a generator, one at a time
    on_disk = TokenStore.open(tmp_path, dim=8)
    in_memory = TokenStore.from_tokens(groups, dim=8)
    assert len(on_disk) == len(in_memory) == 3
    for store in (on_disk, in_memory):
        read = store.groups([2, 0, 1])
        np.testing.assert_allclose(read[0], groups[2].vectors, atol=1e-3)  # float16
        np.testing.assert_allclose(read[1], groups[0].vectors, atol=1e-3)
        assert read[2].shape == (0, 8)
        np.testing.assert_array_equal(store.token_ids(2), groups[2].ids)


def test_store_refuses_files_that_disagree(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    write_tokens(tmp_path, [_tokens(rng, 3), _tokens(rng, 2)], dim=8)
    data = tmp_path / "tokens.f16"
    data.write_bytes(data.read_bytes()[:-16])  # one token vector short
    with pytest.raises(ValueError, match="token vectors"):
        TokenStore.open(tmp_path, dim=8)
    write_tokens(tmp_path, [_tokens(rng, 3), _tokens(rng, 2)], dim=8)
    store = TokenStore.open(tmp_path, dim=8)
    data.write_bytes(data.read_bytes()[:-16])  # shortened after opening: a read says so
    with pytest.raises(OSError, match="shorter"):
        store.groups([1])
    with pytest.raises(ValueError, match="increasing"):
        TokenStore(np.zeros((2, 8), np.float16), np.array([0, 3, 2]), np.zeros(2, np.int32), 8)


def test_idf_counts_each_passage_once() -> None:
    def text(ids: list[int]) -> TextTokens:
        return TextTokens(np.eye(len(ids), 8, dtype=np.float32), np.array(ids, dtype=np.int32))

    store = TokenStore.from_tokens([text([1, 1, 2]), text([1]), text([3])], dim=8)
    idf = store.idf()
    n = 3
    expected = {1: np.log1p((n - 2 + 0.5) / 2.5), 2: np.log1p((n - 1 + 0.5) / 1.5),
                7: np.log1p((n + 0.5) / 0.5), 99: np.log1p((n + 0.5) / 0.5)}  # 7, 99: unseen
    np.testing.assert_allclose(idf(np.array(list(expected))), list(expected.values()), rtol=1e-6)


def test_maxsim_is_the_idf_weighted_mean_of_best_token_cosines() -> None:
    eye = np.eye(4, dtype=np.float32)
    store = TokenStore.from_tokens([
        TextTokens(eye[[0, 1]], np.array([10, 11], np.int32)),  # has both question words
        TextTokens(eye[[0, 2, 3]], np.array([10, 12, 13], np.int32)),  # only the common one
        TextTokens(eye[:0], np.zeros(0, np.int32)),  # no content tokens at all
    ], dim=4)
    idf = store.idf()
    question = TextTokens(eye[[0, 1]], np.array([10, 11], np.int32))
    scores = maxsim(question, store.groups([0, 1, 2]), idf)
    w = idf(np.array([10, 11]))
    np.testing.assert_allclose(scores, [1.0, w[0] / w.sum(), 0.0], rtol=1e-3)
    empty = TextTokens(eye[:0], np.zeros(0, np.int32))
    assert maxsim(empty, store.groups([0, 1]), idf).tolist() == [0.0, 0.0]


def test_writer_takes_the_width_of_the_tokens_and_refuses_a_mix(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    writer = TokenWriter(tmp_path / "t.f16", dim=8)
    assert writer.add(_tokens(rng, 0, dim=4)) == 0
    assert writer.add(_tokens(rng, 3, dim=4)) == 1
    with pytest.raises(ValueError, match="width"):
        writer.add(_tokens(rng, 2, dim=6))
    with pytest.raises(ValueError, match="token ids"):
        writer.add(TextTokens(np.zeros((2, 4), np.float32), np.zeros(1, np.int32)))
    store = writer.finish()
    assert store.dim == 4 and len(store) == 2 and store.text_tokens(1).vectors.shape == (3, 4)
