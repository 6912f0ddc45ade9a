"""Smoke runs of every benchmark with the fake model and tiny sizes, so bench/ never rots.

Nothing is timed against a target here: these check that each code path runs end to end and
that the report holds what it should.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SAMPLE_KNOWLEDGE
from tests.fakes import FakeEmbedder

FAKE = "tests.fakes:FakeEmbedder"


def test_python_m_bench_runs_every_section_with_a_fake_model(tmp_path: Path) -> None:
    from bench.__main__ import main

    out = tmp_path / "reports"
    code = main(["--quick", "--out", str(out), "--sizes", "30,120", "--questions", "6",
                 "--embedder", FAKE, "--base", str(SAMPLE_KNOWLEDGE), "--startup-questions",
                 "5", "--indexing-files", "12", "--load-commands", "6", "--load-levels", "2,3",
                 "--replica-questions", "5",
                 "--policies", "1", "--server", "inprocess"])
    assert code == 0
    data = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    assert data["errors"] == {}
    assert data["machine"]["cores"] >= 1 and data["machine"]["cpu"]

    latency = data["latency"]
    assert len(latency["sizes"]) == 2
    for size in latency["sizes"]:
        for name in ("flat", "hnsw"):
            assert size[name]["answer"]["n"] == 6 and size[name]["floor"]["n"] == 6
        assert 0.0 <= size["hnsw"]["recall_at_10"] <= 1.0
        assert "bm25 keyword scores" in size["components"]
        assert size["components"]["encode: the question alone (as the floor)"]["n"] == 6
    assert latency["sizes"][-1]["profile"]
    assert latency["switch"]["current_hnsw_from"] > 0

    indexing = data["indexing"]
    assert indexing["full"]["full_build"] and not indexing["incremental"]["full_build"]
    assert indexing["incremental"]["changed"] == 1
    assert 0 < indexing["incremental"]["embedded"] < indexing["full"]["embedded"]
    assert indexing["incremental_top_costs"]

    for case in ("bundled", "large"):
        assert data["startup"][case]["ready_s"] > 0
        assert data["startup"][case]["rss_after_questions_mb"] > 0

    levels = data["load"]["levels"]
    assert [r["concurrency"] for r in levels] == [2, 3]
    for level in levels:
        assert level["acked"] == 6 and level["lost"] == 0 and level["duplicated"] == 0
        assert level["answer"]["n"] == 6 and level["error_answers"] == 0

    whatif = data["load"]["whatif_in_process_answers"]
    assert whatif["concurrency"] == 3 and whatif["lost"] == 0 and whatif["acked"] == 6
    sizes = data["latency"]["sizes"]
    assert any("single_part" in s[s["faqbot_uses"]] for s in sizes)
    assert data["latency"]["sizes"][0]["hnsw"]["ef_sweep"]
    assert data["startup"]["large"]["rss_model_mb"] > 0

    replica = data["replica"]
    assert replica["ready_s"] > 0 and replica["questions"] == replica["answered"] == 5
    after = replica["after_questions"]
    roles = [p["role"] for p in after["processes"]]
    assert roles[:2] == ["gunicorn master", "gunicorn worker"] and "answer worker" in roles
    assert after["total_rss_mb"] == sum(p["rss_mb"] for p in after["processes"]) > 0
    assert after["processes_with_torch"] == 0  # the stand-in model: no torch anywhere
    assert len(replica["load_avg_at_ready"]) == 3

    rankers = data["quality"]["rankers"]
    assert set(rankers) >= {"bm25", "dense", "faqbot"} and data["quality"]["policies"] == 1

    assert {t["target"] for t in data["targets"]} >= {
        "1-file update in 1,000 files < 5% of a full build",
        "PolicyQA MRR above BM25-only and dense-only",
        "one replica < 650 MB RSS (every process) after 1,000 questions",
        "one replica start → ready < 10 s (quiet machine)"}
    markdown = (out / "latest.md").read_text(encoding="utf-8")
    for heading in ("## Targets", "## 1. Answer latency", "## 2. Indexing", "## 3. Start-up",
                    "## 4. Load over HTTP", "## 5. One replica", "## 6. Retrieval quality"):
        assert heading in markdown


def test_only_selects_sections_and_rejects_unknown_ones(tmp_path: Path) -> None:
    from bench.__main__ import main

    out = tmp_path / "reports"
    assert main(["--only", "quality", "--out", str(out), "--embedder", FAKE,
                 "--policies", "1"]) == 0
    data = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    assert data["sections"] == ["quality"] and "latency" not in data
    with pytest.raises(SystemExit):
        main(["--only", "nonsense"])


def test_vector_cache_round_trip_without_pickle(tmp_path: Path) -> None:
    from bench.vectors import CachingEmbedder, VectorCache

    inner = FakeEmbedder()
    first = CachingEmbedder(inner, VectorCache(tmp_path, inner.model_id, inner.dim))
    vectors = first.embed(["alpha beta", "gamma", "alpha beta"])
    first.cache.save()
    again = CachingEmbedder(FakeEmbedder(), VectorCache(tmp_path, inner.model_id, inner.dim))
    assert np.allclose(again.embed(["gamma", "alpha beta"]), vectors[[1, 0]])
    assert again.stats()["embedded"] == 0 and again.stats()["from_cache"] == 2
    keys = next(tmp_path.glob("*.keys.npy"))
    assert np.load(keys, allow_pickle=False).shape == (2,)


def test_caching_embedder_passes_tokens_through_and_caches_their_vectors(
        tmp_path: Path) -> None:
    from bench.vectors import TokenCachingEmbedder, VectorCache, caching_embedder
    from faqbot.embedding import TokenEmbedder
    from tests.fakes import FakeTokenEmbedder

    inner = FakeTokenEmbedder()
    wrapped = caching_embedder(inner, VectorCache(tmp_path, inner.model_id, inner.dim))
    assert isinstance(wrapped, TokenCachingEmbedder) and isinstance(wrapped, TokenEmbedder)
    vectors, tokens = wrapped.embed_with_tokens(["retention period", "cookies"])
    assert [len(t.ids) for t in tokens] == [2, 1]
    assert np.allclose(wrapped.embed(["cookies"]), vectors[1])
    assert wrapped.stats()["from_cache"] == 1
    plain = caching_embedder(FakeEmbedder(), VectorCache(tmp_path, inner.model_id, inner.dim))
    assert not isinstance(plain, TokenEmbedder)


def test_generated_corpora_are_prefixes_of_each_other(tmp_path: Path) -> None:
    from bench.corpus import generated_file, write_knowledge

    assert generated_file(7) == generated_file(7)
    assert generated_file(7)[1] != generated_file(8)[1]
    small = write_knowledge(tmp_path / "a", 60, SAMPLE_KNOWLEDGE, sections=5)
    large = write_knowledge(tmp_path / "b", 200, SAMPLE_KNOWLEDGE, sections=5)
    assert small["generated_files"] < large["generated_files"]
    rel = "generated/000/doc-000000.md"
    assert (tmp_path / "a" / rel).read_text() == (tmp_path / "b" / rel).read_text()


def test_statistics_and_process_readings() -> None:
    from bench.common import percentile, proc_status_mb, process_tree_cpu_seconds, summary_ms

    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([0, 10], 95) == pytest.approx(9.5)
    stats = summary_ms([0.001, 0.002, 0.003])
    assert stats["median"] == pytest.approx(2.0) and stats["n"] == 3
    assert proc_status_mb("VmRSS") > 0
    assert process_tree_cpu_seconds(os.getpid()) > 0


def test_gunicorn_start_failure_is_reported_not_hung(tmp_path: Path) -> None:
    from bench.load import FakeSlack, start_gunicorn

    fake = FakeSlack()
    try:
        with pytest.raises(RuntimeError, match=r"exited|healthy"):
            start_gunicorn(fake, tmp_path / "no-such-knowledge", tmp_path / "index",
                           tmp_path / "server.log", timeout=60)
    finally:
        fake.close()


def test_time_command_checks_for_json_output() -> None:
    from bench.common import subprocess_env
    from bench.startup import time_command

    ok = time_command([sys.executable, "-c", "import sys; print('{\"answered\": true}')"],
                      "a question\n", subprocess_env())
    assert ok["ok"] and ok["seconds"] > 0
    bad = time_command([sys.executable, "-c", "print('not json')"], "", subprocess_env())
    assert not bad["ok"]


def test_a_falling_trend_is_not_extrapolated_to_100k() -> None:
    from bench.__main__ import extrapolate

    def size(passages: int, answer: float, floor: float) -> dict:  # type: ignore[type-arg]
        return {"passages": passages, "faqbot_uses": "flat",
                "flat": {"answer": {"p95": answer}, "floor": {"p95": floor}}}

    rising = {"sizes": [size(100, 12.0, 10.0), size(1_000, 13.0, 10.0)]}
    found = extrapolate(rising)
    assert found is not None and found[1] > 10.0
    # noise made the larger corpus faster than the floor: no trend, nothing claimed
    assert extrapolate({"sizes": [size(100, 1_000.0, 800.0), size(1_000, 240.0, 320.0)]}) is None


def test_the_confidence_is_not_fitted_on_not_covered_questions() -> None:
    from bench.tune import fit_confidence
    from faqbot.evaluation import EvalQuestion, Expected, Outcome

    def outcome(kind: str, in_scope: bool) -> Outcome:
        expected = (Expected(doc="d.md", must_contain="x"),) if in_scope else ()
        return Outcome(EvalQuestion(id=kind, question="q", kind=kind, expected=expected),
                       None, True, 0.5)

    rng = np.random.default_rng(0)
    inside = rng.uniform(0.5, 0.9, 40)
    outside = rng.uniform(0.0, 0.4, 40)
    outcomes = ([outcome("general", True)] * 40 + [outcome("out-of-scope", False)] * 40)
    features = np.c_[np.r_[inside, outside], np.zeros(80)]
    plain = fit_confidence(outcomes, features)
    # on-topic questions the documents don't answer look like in-scope ones: left out
    with_nc = fit_confidence(outcomes + [outcome("not-covered", False)] * 40,
                             np.r_[features, np.c_[inside, np.zeros(40)]])
    assert np.allclose(plain, with_nc)
    assert plain[1] > 0
