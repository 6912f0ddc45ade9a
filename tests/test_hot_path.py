"""The answering hot path's shortcuts give the same results as the plain way they replace."""

from __future__ import annotations

import numpy as np
import pytest

from faqbot.chunking import embedding_text
from faqbot.keyword import KeywordIndex, top_k
from faqbot.memory import release_free_memory
from faqbot.passages import PassageTable, find_passage
from faqbot.search import Engine, cover_parts, prepare, query_text, question_parts, rank
from tests.fakes import FakeEmbedder

TRICKY = [
    "", "   ", "Opt-out of feedback@example.com!", "DON'T  share   data_sets? 42 a b",
    "Café naïve résumé — “quoted” ‘text’", "the and of to", "x" * 300, "e.g. i.e. U.S. 2.5 mm",
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 5, 50, 200])
def test_top_k_equals_a_stable_full_sort(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 150))
    # few distinct values: many ties, including at the cut
    scores = rng.integers(0, 4, size=n).astype(np.float32) * (seed % 2 or 0.5)
    expected = np.argsort(-scores, kind="stable")[:k]
    assert top_k(scores, k).tolist() == expected.tolist()


def test_top_k_of_nothing() -> None:
    assert top_k(np.zeros(0, dtype=np.float32), 5).tolist() == []
    assert top_k(np.ones(3, dtype=np.float32), 0).tolist() == []


def test_tokens_match_bm25s_tokenize(engine: Engine) -> None:
    import bm25s

    keyword = prepare(engine.snapshot).keyword
    texts = [embedding_text(p) for p in engine.snapshot.passages] + TRICKY
    for text in texts:
        expected = bm25s.tokenize([keyword._prepare(text)], stopwords="en",
                                  stemmer=keyword._stemmer, return_ids=False,
                                  show_progress=False)[0]
        assert keyword.tokens(text) == expected
        assert keyword.stems(text) == set(expected)


def test_scores_match_bm25s(engine: Engine) -> None:
    keyword = prepare(engine.snapshot).keyword
    retriever = keyword._retriever
    for query in ["opt out email", "data data retention", "feedback@example.com", *TRICKY]:
        tokens = [t for t in keyword.tokens(query) if t in retriever.vocab_dict]
        expected = (retriever.get_scores(tokens) if tokens
                    else np.zeros(keyword.size, dtype=np.float32))
        np.testing.assert_array_equal(keyword.scores(query), expected)


def test_empty_keyword_index() -> None:
    index = KeywordIndex([])
    assert index.scores("anything").shape == (0,)


def _unbatched(engine: Engine, question: str, top: int = 3) -> list[str]:
    """The path before batching: one embedding per rank call."""
    snapshot, config = engine.snapshot, engine.config
    ranked = rank(snapshot, engine.embedder, question, config)
    parts = question_parts(question)
    if len(parts) > 1:
        ranked = cover_parts(ranked, [rank(snapshot, engine.embedder, part, config)
                                      for part in parts])
    return [h.passage.id for h in ranked.top(top)]


@pytest.mark.parametrize("question", [
    "opt out owners email feedback workspace URL subject line? how long is data kept",
    "who can opt out and what email do they use",
    "Are large language models trained on customer messages?",
    "how do i opt out and also when was it updated",
])
def test_one_embedding_call_per_question_same_ranking(engine: Engine, question: str) -> None:
    embedder = engine.embedder
    assert isinstance(embedder, FakeEmbedder)
    embedder.calls.clear()
    answer = engine.answer(question)
    assert len(embedder.calls) == 1  # the whole question and its parts, in one call
    parts = question_parts(question)
    asked = [question, *parts] if len(parts) > 1 else [question]
    assert embedder.calls[0] == [query_text(engine.snapshot, q, engine.config) for q in asked]
    assert [h.passage.id for h in answer.hits] == _unbatched(engine, question)


def test_passage_table_round_trips(engine: Engine) -> None:
    passages = list(engine.snapshot.passages)
    table = PassageTable(passages)
    assert len(table) == len(passages) and list(table) == passages
    assert table[-1] == passages[-1] and table[1:3] == passages[1:3]
    assert [table.text(i) for i in range(len(table))] == [p.text for p in passages]
    with pytest.raises(IndexError):
        table[len(passages)]
    for p in passages:
        assert table.find(p.id) == p
        assert find_passage(passages, p.id) == p
    assert table.find("0" * 16) is None and table.find("0" * 40) is None
    assert find_passage(passages, "nope") is None
    by_doc = table.rows_by_doc()
    assert sorted(r for rows in by_doc.values() for r in rows) == list(range(len(passages)))
    assert all(table[r].doc == doc for doc, rows in by_doc.items() for r in rows)
    assert len(PassageTable()) == 0 and PassageTable().find("x") is None


def test_loaded_snapshot_holds_a_table(engine: Engine) -> None:
    assert isinstance(engine.snapshot.passages, PassageTable)
    assert engine.snapshot.passages.nbytes() > 0


def test_release_free_memory_trims_where_there_is_glibc() -> None:
    import platform

    # True exactly where glibc (malloc_trim) is there, and calling it twice is harmless
    has_glibc = platform.libc_ver()[0] == "glibc"
    assert release_free_memory() is has_glibc
    assert release_free_memory() is has_glibc


def test_loaded_texts_come_from_the_mapped_file(engine: Engine) -> None:
    table = engine.snapshot.passages
    assert isinstance(table, PassageTable) and table._mapped
    passages = list(table)
    assert [p.model_dump() for p in passages] == [
        type(p).model_validate(p.model_dump()).model_dump() for p in passages]
    table.drop_pages()  # pages come back on access
    assert [table.text(i) for i in range(len(table))] == [p.text for p in passages]


def test_passage_files_round_trip_any_text(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from faqbot.passages import OFFSETS_FILE, TEXTS_FILE, write_passages

    base = engine.snapshot.passages[0]
    texts = ['plain', 'a "quoted" word', "back\\slash", "two\nlines\ttab", "Café — ‘x’ 🙂",
             '"text": "fake key"', "\u2028 separators \x7f", "", "\x00 nul"]
    passages = [base.model_copy(update={"text": t, "id": f"p{i:015d}"})
                for i, t in enumerate(texts)]
    write_passages(tmp_path, passages, [f"k{i}" for i in range(len(texts))])
    table = PassageTable.open(tmp_path)
    assert table._mapped and [table.text(i) for i in range(len(texts))] == texts
    assert list(table) == passages and table.find("p000000000000004") == passages[4]
    # the blob is the texts' UTF-8 back to back; the metadata rows carry no text
    assert (tmp_path / TEXTS_FILE).read_bytes() == "".join(texts).encode()
    rows = [json.loads(line) for line in (tmp_path / "passages.jsonl").read_text().splitlines()]
    assert all("text" not in r for r in rows) and [r["vkey"] for r in rows][:2] == ["k0", "k1"]
    offsets = np.load(tmp_path / OFFSETS_FILE)
    assert offsets.dtype == np.int64 and offsets[-1] == len("".join(texts).encode())


@pytest.mark.parametrize("damage", ["short blob", "offsets of another table"])
def test_passage_files_that_do_not_fit_are_refused(engine: Engine, tmp_path, damage) -> None:  # type: ignore[no-untyped-def]
    from faqbot.passages import OFFSETS_FILE, TEXTS_FILE, write_passages

    passages = list(engine.snapshot.passages)[:3]
    write_passages(tmp_path, passages, ["k"] * 3)
    if damage == "short blob":
        blob = tmp_path / TEXTS_FILE
        blob.write_bytes(blob.read_bytes()[:-1])
    else:
        np.save(tmp_path / OFFSETS_FILE, np.array([0, 1], dtype=np.int64))
    with pytest.raises(ValueError, match="does not fit"):
        PassageTable.open(tmp_path)


def test_an_empty_table_opens(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from faqbot.passages import write_passages

    write_passages(tmp_path, [], [])
    table = PassageTable.open(tmp_path)
    assert len(table) == 0 and table.find("x") is None and list(table) == []


def test_search_one_query_matches_search_and_restores_the_thread_count() -> None:
    import faiss

    from faqbot.index import make_faiss_index, search_one_query

    rng = np.random.default_rng(0)
    index = make_faiss_index(rng.random((200, 16), dtype=np.float32))
    query = rng.random((1, 16), dtype=np.float32)
    before = faiss.omp_get_max_threads()
    scores, rows = search_one_query(index, query, 5)
    expected_scores, expected_rows = index.search(query, 5)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_array_equal(scores, expected_scores)
    assert faiss.omp_get_max_threads() == before  # torch shares it: encoding keeps its cores
