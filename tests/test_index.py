"""The index on disk: exact search, incremental builds, crash safety, corruption, rollback."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from faqbot import index as index_module
from faqbot import index_build, vector_index
from faqbot.errors import KnowledgeError, StoreError, StoreLockedError
from faqbot.index import IndexStore, make_faiss_index
from faqbot.sources import load_knowledge
from tests.fakes import FakeEmbedder, FakeTokenEmbedder


def build(knowledge: Path, root: Path, embedder: FakeEmbedder, **kw):  # type: ignore[no-untyped-def]
    return IndexStore(root).build(load_knowledge(knowledge), embedder, **kw)


@pytest.mark.parametrize("storage", ["fp32", "fp16"])
@pytest.mark.parametrize("hnsw_from", [10**9, 1])
def test_faiss_matches_brute_force(hnsw_from: int, storage: str) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(500, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[:20] + 0.05 * rng.normal(size=(20, 32)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    index = make_faiss_index(vectors, hnsw_from=hnsw_from, storage=storage)
    scores, rows = index.search(queries, 10)
    exact = queries @ vectors.T
    expected_rows = np.argsort(-exact, axis=1)[:, :10]
    recall = np.mean([len(set(r) & set(e)) / 10 for r, e in zip(rows, expected_rows, strict=True)])
    if hnsw_from == 1:  # approximate: high recall, exact scores for what it returns
        assert recall >= 0.9
    elif storage == "fp16":  # float16 vectors: near-ties may swap, nothing else
        assert recall >= 0.99 and (rows[:, 0] == expected_rows[:, 0]).all()
    else:
        assert (rows == expected_rows).all()
    tolerance = {"rtol": 1e-5} if storage == "fp32" else {"atol": 1e-3}
    np.testing.assert_allclose(scores, np.take_along_axis(exact, rows, axis=1), **tolerance)
    stored = index.reconstruct_n(0, index.ntotal)
    np.testing.assert_allclose(stored, vectors, **tolerance)


def test_old_hnsw_index_gets_todays_ef_search() -> None:
    vectors = np.eye(8, dtype=np.float32)
    index = make_faiss_index(vectors, hnsw_from=1)
    index.hnsw.efSearch = 16
    assert vector_index.tune_loaded_index(index).hnsw.efSearch == vector_index.HNSW_EF_SEARCH
    flat = make_faiss_index(vectors)
    assert vector_index.tune_loaded_index(flat) is flat


def test_build_writes_json_faiss_and_manifest(knowledge: Path, tmp_path: Path) -> None:
    report = build(knowledge, tmp_path / "ix", FakeEmbedder())
    store = IndexStore(tmp_path / "ix")
    folder = store.versions / store.current_name()
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["faq.faiss", "faq.jsonl", "knowledge.json", "manifest.json",
                     "passage_offsets.npy", "passage_texts.utf8", "passages.faiss",
                     "passages.jsonl"]
    assert not list(folder.glob("*.pkl")) and not list(folder.glob("*.pickle"))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model_id"] == "fake/bag-of-words" and manifest["dim"] == 64
    assert manifest["format"] == index_module.FORMAT_VERSION
    assert set(manifest["files"]) == {"faq.yml", "opt-out.yml", "policies/sample-policy.md"}
    snapshot = store.load()
    assert len(snapshot.passages) == report.passages == manifest["counts"]["passages"]
    assert snapshot.opt_out is not None and len(snapshot.faq) == 2
    assert "Café" in snapshot.passages[0].title  # non-ASCII survives the JSON round trip


def test_incremental_build_embeds_only_what_changed(knowledge: Path, tmp_path: Path) -> None:
    first = FakeEmbedder()
    build(knowledge, tmp_path / "ix", first)
    assert first.embedded  # everything, the first time

    unchanged = FakeEmbedder()
    report = build(knowledge, tmp_path / "ix", unchanged)
    assert unchanged.embedded == [] and report.changed == 0 and report.embedded == 0

    doc = knowledge / "policies" / "sample-policy.md"
    doc.write_text(doc.read_text().replace("Deleted messages are removed from the workspace.",
                                           "Deleted messages are purged within 30 days."))
    (knowledge / "extra.md").write_text("---\ntitle: Extra\nurl: https://x\n---\nNew words.\n")
    edited = FakeEmbedder()
    report = build(knowledge, tmp_path / "ix", edited)
    assert report.changed == 1 and report.added == 1 and report.removed == 0
    assert len(edited.embedded) == 2  # the edited passage and the new file's one passage
    assert any("purged within 30 days" in t for t in edited.embedded)
    assert any("New words." in t for t in edited.embedded)

    (knowledge / "extra.md").unlink()
    removed = FakeEmbedder()
    report = build(knowledge, tmp_path / "ix", removed)
    assert report.removed == 1 and removed.embedded == []
    snapshot = IndexStore(tmp_path / "ix").load()
    assert all(p.doc != "extra.md" for p in snapshot.passages)
    # reused vectors are the ones a full build would compute
    fresh = FakeEmbedder()
    vectors = snapshot.passage_index.reconstruct_n(0, snapshot.passage_index.ntotal)
    from faqbot.chunking import embedding_text

    np.testing.assert_allclose(vectors, fresh.embed([embedding_text(p) for p in snapshot.passages]),
                               atol=1e-3)  # passage vectors are stored as float16


def test_crash_mid_build_keeps_previous_index(knowledge: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    build(knowledge, tmp_path / "ix", FakeEmbedder())
    store = IndexStore(tmp_path / "ix")
    before = store.current_name()
    (knowledge / "extra.md").write_text("---\ntitle: Extra\n---\nNew words.\n")

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(index_build, "write_faiss", crash)
    with pytest.raises(OSError):
        build(knowledge, tmp_path / "ix", FakeEmbedder())
    assert store.current_name() == before
    assert all(p.doc != "extra.md" for p in store.load().passages)
    monkeypatch.undo()
    build(knowledge, tmp_path / "ix", FakeEmbedder())  # the next build sweeps the leftovers
    assert not list(store.versions.glob(".tmp-*"))
    assert any(p.doc == "extra.md" for p in store.load().passages)


def test_broken_knowledge_leaves_index_untouched(knowledge: Path, tmp_path: Path) -> None:
    build(knowledge, tmp_path / "ix", FakeEmbedder())
    before = IndexStore(tmp_path / "ix").current_name()
    (knowledge / "faq.yml").write_text("faq:\n  - id: x\n   bad: indent\n")
    with pytest.raises(KnowledgeError) as info:
        build(knowledge, tmp_path / "ix", FakeEmbedder())
    assert str(info.value).startswith("faq.yml:3: error: invalid YAML")
    assert IndexStore(tmp_path / "ix").current_name() == before


def test_other_model_triggers_full_rebuild(knowledge: Path, tmp_path: Path) -> None:
    build(knowledge, tmp_path / "ix", FakeEmbedder())
    other = FakeEmbedder(dim=32)
    other.model_id = "fake/other"
    kb = load_knowledge(knowledge)
    store = IndexStore(tmp_path / "ix")
    assert "built with model fake/bag-of-words" in (store.stale_reason(kb, "fake/other") or "")
    report = store.build(kb, other)
    assert report.rebuilt_from_scratch and "model changed" in report.reason
    assert store.load().passage_index.d == 32


@pytest.mark.parametrize("victim", ["passages.faiss", "passages.jsonl", "passage_texts.utf8",
                                    "passage_offsets.npy", "manifest.json"])
def test_corrupt_files_are_detected(knowledge: Path, tmp_path: Path, victim: str) -> None:
    build(knowledge, tmp_path / "ix", FakeEmbedder())
    store = IndexStore(tmp_path / "ix")
    path = store.versions / store.current_name() / victim
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(StoreError, match="faqbot index"):
        store.load()
    # a build recovers: it does not trust the corrupt version's vectors
    report = store.build(load_knowledge(knowledge), FakeEmbedder())
    assert report.rebuilt_from_scratch
    assert store.load().passages


def test_rollback_returns_to_previous_version(knowledge: Path, tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "ix")
    build(knowledge, tmp_path / "ix", FakeEmbedder())
    first = store.current_name()
    (knowledge / "extra.md").write_text("---\ntitle: Extra\n---\nNew words.\n")
    build(knowledge, tmp_path / "ix", FakeEmbedder())
    assert store.current_name() != first
    assert store.rollback() == first
    assert store.current_name() == first
    assert all(p.doc != "extra.md" for p in store.load().passages)
    with pytest.raises(StoreError, match="no earlier"):
        store.rollback()


def test_old_versions_are_pruned(knowledge: Path, tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "ix")
    for i in range(5):
        (knowledge / "extra.md").write_text(f"---\ntitle: Extra\n---\nVersion {i}.\n")
        build(knowledge, tmp_path / "ix", FakeEmbedder())
    assert len(store.version_names()) == index_module.KEEP_VERSIONS


class _HeldLock:
    """A shared lock that is always free (the Redis one is tested in test_state_shared)."""

    @contextlib.contextmanager
    def hold(self, wait_s: float = 0.0) -> Iterator[bool]:
        yield True


def test_a_rollback_on_a_shared_folder_renames_newer_versions_aside(
        knowledge: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = IndexStore(tmp_path / "ix", shared_lock=_HeldLock())
    build(knowledge, tmp_path / "ix", FakeEmbedder())
    first = store.current_name()
    (knowledge / "extra.md").write_text("---\ntitle: Extra\n---\nNew words.\n")
    build(knowledge, tmp_path / "ix", FakeEmbedder())
    second = store.current_name()
    reader = store.load(second)  # another replica still serving it
    assert store.rollback() == first
    assert store.version_names() == [first]  # gone from the versions...
    [retired] = store.versions.glob(f".retired-*-{second}")
    assert (retired / "manifest.json").exists()  # ...but its files are still there
    assert any(p.doc == "extra.md" for p in reader.passages)
    monkeypatch.setattr(index_module, "RETIRED_KEEP_S", -1)
    build(knowledge, tmp_path / "ix", FakeEmbedder())  # a later build deletes it
    assert not retired.exists()


def test_waiting_for_the_lock_file(knowledge: Path, tmp_path: Path) -> None:
    import threading
    import time

    store = IndexStore(tmp_path / "ix")
    held = threading.Event()

    def hold_it() -> None:
        with store.lock():
            held.set()
            time.sleep(0.5)

    holder = threading.Thread(target=hold_it)
    holder.start()
    assert held.wait(5)
    started = time.monotonic()
    report = store.build_if_stale(load_knowledge(knowledge), FakeEmbedder(), wait_s=10)
    assert report is not None and time.monotonic() - started >= 0.3
    holder.join()
    assert store.build_if_stale(load_knowledge(knowledge), FakeEmbedder()) is None  # current


def test_second_builder_is_refused(knowledge: Path, tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "ix")
    with store.lock(), pytest.raises(StoreLockedError, match="another build"):
        build(knowledge, tmp_path / "ix", FakeEmbedder())


def _fresh_tokens(snapshot):  # type: ignore[no-untyped-def]
    from faqbot.chunking import embedding_text

    _, tokens = FakeTokenEmbedder().embed_with_tokens([embedding_text(p)
                                                       for p in snapshot.passages])
    return tokens


def test_token_vectors_are_stored_and_reused(knowledge: Path, tmp_path: Path) -> None:
    first = FakeTokenEmbedder()
    build(knowledge, tmp_path / "ix", first)
    store = IndexStore(tmp_path / "ix")
    folder = store.versions / store.current_name()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["tokens"] == "content-tokens-v1"
    assert {"tokens.f16", "token_offsets.npy", "token_ids.npy"} <= set(manifest["checksums"])
    snapshot = store.load()
    assert snapshot.tokens is not None and len(snapshot.tokens) == len(snapshot.passages)

    doc = knowledge / "policies" / "sample-policy.md"
    doc.write_text(doc.read_text().replace("Deleted messages are removed from the workspace.",
                                           "Deleted messages are purged within 30 days."))
    edited = FakeTokenEmbedder()
    report = build(knowledge, tmp_path / "ix", edited)
    assert report.embedded == 1 and len(edited.embedded) == 1  # only the edited passage
    snapshot = IndexStore(tmp_path / "ix").load()
    assert snapshot.tokens is not None
    rows = list(range(len(snapshot.passages)))
    for row, got, want in zip(rows, snapshot.tokens.groups(rows), _fresh_tokens(snapshot),
                              strict=True):  # reused and new tokens alike are a full build's
        np.testing.assert_allclose(got, want.vectors, atol=1e-3)
        np.testing.assert_array_equal(snapshot.tokens.token_ids(row), want.ids)


def test_index_without_token_vectors(knowledge: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    store = IndexStore(tmp_path / "ix")
    build(knowledge, tmp_path / "ix", FakeEmbedder())  # a model that gives no tokens
    kb = load_knowledge(knowledge)
    assert store.load().tokens is None and store.read_manifest()["tokens"] is False
    assert store.stale_reason(kb, FakeEmbedder.model_id) is None

    monkeypatch.setattr(index_build, "TOKENS_UP_TO", 1)  # too many passages to keep tokens
    build(knowledge, tmp_path / "ix2", FakeTokenEmbedder())
    assert IndexStore(tmp_path / "ix2").load().tokens is None

    # an index written before token vectors existed is rebuilt with them
    path = store.versions / store.current_name() / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["tokens"]
    path.write_text(json.dumps(manifest))
    assert store.stale_reason(kb, FakeEmbedder.model_id) == "token vectors missing or changed"


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_unusable_token_files_leave_the_index_serving(
        knowledge: Path, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    build(knowledge, tmp_path / "ix", FakeTokenEmbedder())
    store = IndexStore(tmp_path / "ix")
    path = store.versions / store.current_name() / "tokens.f16"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:-2])
    else:
        path.unlink()
    snapshot = store.load()  # everything else is whole: it loads, without late interaction
    assert snapshot.tokens is None and snapshot.passages
    assert "token vectors unusable" in caplog.text and "faqbot index --rebuild" in caplog.text
    report = store.build(load_knowledge(knowledge), FakeTokenEmbedder())
    assert report.embedded == len(snapshot.passages)  # the next build makes them again
    assert store.load().tokens is not None


def test_token_vectors_may_be_narrower_than_sentence_vectors(knowledge: Path,
                                                             tmp_path: Path) -> None:
    """A model with a projection layer: its token vectors have their own width."""

    class Projected(FakeTokenEmbedder):
        def embed_with_tokens(self, texts):  # type: ignore[no-untyped-def]
            pooled, tokens = super().embed_with_tokens(texts)
            return pooled, [type(t)(t.vectors[:, :16], t.ids) for t in tokens]

    build(knowledge, tmp_path / "ix", Projected())
    store = IndexStore(tmp_path / "ix")
    snapshot = store.load()
    assert snapshot.tokens is not None and snapshot.tokens.dim == 16
    assert store.read_manifest()["token_dim"] == 16
    assert not list((store.versions / snapshot.name).glob("*.spool"))
