"""Answer latency in process, next to the floor, exact vs HNSW search, and where time goes.

For each corpus size: build the corpus in a child process (faqbot's IndexStore, vectors from
the cache), load it here, then for every bench question time ``Engine.answer`` and the floor
(encode the question with the same model + one bare FAISS search over the same vectors),
interleaved so both see the same machine. Done once with exact search (IndexFlatIP) and once
with HNSW (faqbot's own ``make_faiss_index`` settings), with HNSW's recall@10 against exact.
"""

from __future__ import annotations

import cProfile
import gc
import io
import json
import pstats
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    MODEL_SPEC,
    CpuMeter,
    proc_status_mb,
    subprocess_env,
    summary_ms,
)
from bench.corpus import BUNDLED
from faqbot.embedding import Embedder
from faqbot.index import HNSW_FROM, IndexStore, Snapshot, make_faiss_index, search_one_query
from faqbot.memory import release_free_memory
from faqbot.ranking import _faq_scores, embedder_with_tokens, word_query
from faqbot.search import (
    Engine,
    RankingConfig,
    prepare,
    query_text,
    question_parts,
    rank,
    shape_answer,
)

EXACT = 10**12  # an hnsw_from no corpus reaches
#: Exact search is fine while it costs less than this share of encoding the question.
SWITCH_SHARE = 0.10


@dataclass
class LatencyOptions:
    sizes: Sequence[int]
    workdir: Path
    cache: Path | None
    embedder_spec: str = MODEL_SPEC
    base: Path = BUNDLED
    profile_questions: int = 100
    build_timeout: float = 4 * 3600


def build_corpus(size: int, options: LatencyOptions) -> tuple[Path, Path, dict[str, Any]]:
    """Generate and index a corpus in a child process; (knowledge dir, index dir, its report)."""
    knowledge = options.workdir / f"corpus-{size}" / "knowledge"
    index = options.workdir / f"corpus-{size}" / "index"
    cmd = [sys.executable, "-m", "bench.corpus", "--passages", str(size), "--knowledge",
           str(knowledge), "--index", str(index), "--embedder", options.embedder_spec,
           "--base", str(options.base), "--hnsw-from", str(HNSW_FROM)]
    if options.cache is not None:
        cmd += ["--cache", str(options.cache)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(),
                          timeout=options.build_timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"corpus build failed ({done.returncode}): {done.stderr[-2000:]}")
    return knowledge, index, json.loads(done.stdout.strip().splitlines()[-1])


def _floor(embedder: Embedder, index: Any, question: str, k: int) -> float:
    started = time.perf_counter()
    vector = embedder.embed([question])
    search_one_query(index, np.ascontiguousarray(vector, dtype=np.float32), k)  # as faqbot
    return time.perf_counter() - started


def _answer(engine: Engine, question: str) -> float:
    started = time.perf_counter()
    engine.answer(question)
    return time.perf_counter() - started


def time_engine(engine: Engine, questions: Sequence[str]) -> dict[str, Any]:
    """faqbot's answer time and the floor per question, interleaved (order alternating)."""
    index = engine.snapshot.passage_index
    k = min(engine.config.candidates, max(1, index.ntotal))
    for question in questions[:5]:  # warm-up: first calls allocate
        _answer(engine, question)
        _floor(engine.embedder, index, question, k)
    answers, floors = [], []
    for i, question in enumerate(questions):
        if i % 2:
            floors.append(_floor(engine.embedder, index, question, k))
            answers.append(_answer(engine, question))
        else:
            answers.append(_answer(engine, question))
            floors.append(_floor(engine.embedder, index, question, k))
    answer, floor = summary_ms(answers), summary_ms(floors)
    # a question with several parts ranks each part too (faqbot.search.Engine._rank_parts)
    several = [len(question_parts(q)) > 1 for q in questions]
    single = [i for i, many in enumerate(several) if not many]
    multi = [i for i, many in enumerate(several) if many]
    by_parts = {}
    for name, rows in (("single_part", single), ("multi_part", multi)):
        if rows:
            a, f = summary_ms([answers[i] for i in rows]), summary_ms([floors[i] for i in rows])
            by_parts[name] = {"questions": len(rows), "answer": a, "floor": f,
                              "ratio_p95": a["p95"] / f["p95"]}
    return {"answer": answer, "floor": floor,
            "ratio_median": answer["median"] / floor["median"],
            "ratio_p95": answer["p95"] / floor["p95"], **by_parts}


def time_search(index: Any, vectors: np.ndarray, k: int, repeats: int = 3) -> dict[str, float]:
    """Bare FAISS search, one query at a time, as faqbot does."""
    times = []
    for _ in range(repeats):
        for row in vectors:
            started = time.perf_counter()
            search_one_query(index, row.reshape(1, -1), k)
            times.append(time.perf_counter() - started)
    return summary_ms(times)


def recall_at(exact: Any, approx: Any, vectors: np.ndarray, k: int = 10) -> float:
    """Mean share of exact search's top k that the approximate index also returns."""
    k = min(k, exact.ntotal)
    _, truth = exact.search(vectors, k)
    _, found = approx.search(vectors, k)
    return float(np.mean([len(set(t) & set(f)) / k for t, f in zip(truth, found, strict=True)]))


def ef_sweep(flat: Any, hnsw: Any, vectors: np.ndarray, k: int,
             values: Sequence[int] = (16, 32, 64, 128, 256, 512)) -> list[dict[str, float]]:
    """HNSW recall@10 and bare search time for several efSearch values (restored after)."""
    saved = hnsw.hnsw.efSearch
    rows = []
    try:
        for ef in values:
            hnsw.hnsw.efSearch = ef
            rows.append({"ef_search": ef, "recall_at_10": recall_at(flat, hnsw, vectors),
                         "search_median_ms": time_search(hnsw, vectors, k, 1)["median"]})
    finally:
        hnsw.hnsw.efSearch = saved
    return rows


def components(engine: Engine, questions: Sequence[str],
               vectors: np.ndarray) -> dict[str, dict[str, float]]:
    """Time each step of an answer separately (the question vector given, so no encoding).

    Where the index has token vectors, ranking is timed again with the question's tokens
    given too: the late-interaction rerank, which runs when no FAQ entry lends weight. The
    model call is timed twice per question, as the floor makes it (the question alone, its
    vector only) and as faqbot makes it (the question and, when it names a company the
    documents are about, its words without the name, in one batch, with their tokens): the
    difference is what reading the question without the names costs.
    """
    snapshot, config, embedder = engine.snapshot, engine.config, engine.embedder
    prepared = prepare(snapshot, embedder)
    tokens: list[Any] = [None] * len(questions)
    with_tokens = embedder_with_tokens(snapshot, embedder, config)  # as the engine decides
    if with_tokens is not None:
        _, found = with_tokens.embed_with_tokens([query_text(snapshot, q, config, embedder)
                                                  for q in questions])
        tokens = list(found)
    steps: dict[str, list[float]] = {name: [] for name in (
        "query_text (spelling, synonyms)", "bm25 keyword scores", "faiss passage search",
        "faq search", "rank without encoding", "rank without encoding, tokens given",
        "shape answer", "encode: the question alone (as the floor)",
        "encode: with its words without names, and tokens (as faqbot)")}

    def timed(name: str, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        out = call()
        steps[name].append(time.perf_counter() - started)
        return out

    k = min(config.candidates, max(1, snapshot.passage_index.ntotal))
    for question, vector, question_tokens in zip(questions, vectors, tokens, strict=True):
        row = vector.reshape(1, -1)
        query = timed("query_text (spelling, synonyms)",
                      lambda q=question: query_text(snapshot, q, config, embedder))
        timed("bm25 keyword scores", lambda q=query: prepared.keyword.scores(q))
        timed("faiss passage search", lambda r=row: snapshot.passage_index.search(r, k))
        timed("faq search", lambda r=row: _faq_scores(snapshot, prepared, r))
        ranked = timed("rank without encoding",
                       lambda q=question, v=vector: rank(snapshot, embedder, q, config,
                                                         query_vector=v))
        if question_tokens is not None:
            timed("rank without encoding, tokens given",
                  lambda q=question, v=vector, t=question_tokens:
                  rank(snapshot, embedder, q, config, query_vector=v, query_tokens=t))
        timed("shape answer", lambda r=ranked: shape_answer(snapshot, r, config, 3))
        timed("encode: the question alone (as the floor)",
              lambda q=question: embedder.embed([q]))
        if with_tokens is not None:
            words = word_query(snapshot, embedder, question, query)
            texts = [query] if words == query else [query, words]
            timed("encode: with its words without names, and tokens (as faqbot)",
                  lambda t=texts, m=with_tokens: m.embed_with_tokens(t))
    return {name: summary_ms(values) for name, values in steps.items() if values}


def profile_calls(calls: Sequence[Callable[[], Any]], top: int = 15) -> list[dict[str, Any]]:
    """cProfile over ``calls``: the functions with the most time of their own, per call."""
    profiler = cProfile.Profile()
    profiler.enable()
    for call in calls:
        call()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for (path, line, func), (_, calls_n, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        short = path.split("site-packages/")[-1].split("/work/main/")[-1]
        rows.append({"function": f"{short}:{line}({func})", "calls": calls_n,
                     "tottime_ms_per_q": tottime * 1000 / len(calls),
                     "cumtime_ms_per_q": cumtime * 1000 / len(calls)})
    rows.sort(key=lambda r: -r["tottime_ms_per_q"])
    return rows[:top]


def profile_answers(engine: Engine, questions: Sequence[str],
                    vectors: np.ndarray) -> dict[str, list[dict[str, Any]]]:
    """Two profiles: whole answers, and answers with the question vector given (above floor)."""
    snapshot, config, embedder = engine.snapshot, engine.config, engine.embedder
    whole = [lambda q=q: engine.answer(q) for q in questions]
    above = [lambda q=q, v=v: shape_answer(snapshot, rank(snapshot, embedder, q, config,
                                                          query_vector=v), config, 3)
             for q, v in zip(questions, vectors, strict=True)]
    return {"answer": profile_calls(whole, 10), "above_floor": profile_calls(above, 15)}


def thread_probe(embedder: Embedder, questions: Sequence[str]) -> dict[str, Any]:
    """Question encoding with torch's default thread count vs one thread (blocks alternate)."""
    import torch

    default = torch.get_num_threads()
    times: dict[int, list[float]] = {default: [], 1: []}
    try:
        for block in range(4):
            threads = default if block % 2 == 0 else 1
            torch.set_num_threads(threads)
            for question in questions:
                started = time.perf_counter()
                embedder.embed([question])
                times[threads].append(time.perf_counter() - started)
    finally:
        torch.set_num_threads(default)
    return {"default_threads": default,
            "encode_default": summary_ms(times[default]), "encode_1_thread": summary_ms(times[1])}


def measure_size(size: int, embedder: Embedder, questions: Sequence[str],
                 options: LatencyOptions, profile: bool) -> dict[str, Any]:
    """Everything for one corpus size (the corpus folder is left for the start-up bench)."""
    meter = CpuMeter()
    knowledge, index_dir, built = build_corpus(size, options)
    release_free_memory()  # what earlier sizes freed, so this size's reading is its own
    rss0 = proc_status_mb()
    started = time.perf_counter()
    snapshot = IndexStore(index_dir).load()
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    prepare(snapshot, embedder)
    prepare_s = time.perf_counter() - started
    release_free_memory()
    rss1 = proc_status_mb()
    n = len(snapshot.passages)
    uses = "hnsw" if n >= HNSW_FROM else "flat"  # what faqbot's build wrote
    matrix = snapshot.passage_index.reconstruct_n(0, n)
    started = time.perf_counter()
    other = make_faiss_index(matrix, hnsw_from=EXACT if uses == "hnsw" else 0)
    other_build_s = time.perf_counter() - started
    # the other variant shares the snapshot's extras: the same keyword index and speller
    variants: dict[str, Snapshot] = {uses: snapshot,
                                     ("flat" if uses == "hnsw" else "hnsw"):
                                     replace(snapshot, passage_index=other)}
    flat_index, hnsw_index = variants["flat"].passage_index, variants["hnsw"].passage_index
    vectors = np.ascontiguousarray(embedder.embed(list(questions)), dtype=np.float32)
    k = min(RankingConfig().candidates, n)
    out: dict[str, Any] = {
        "passages": n, "knowledge": str(knowledge), "index": str(index_dir), "build": built,
        "index_load_s": load_s, "prepare_s": prepare_s,
        "rss_index_and_prepared_mb": rss1 - rss0, "faqbot_uses": uses,
        "other_index": "flat" if uses == "hnsw" else "hnsw", "other_index_build_s": other_build_s,
    }
    engines = {name: Engine(embedder=embedder, snapshot=snap) for name, snap in variants.items()}
    for name, engine in engines.items():
        out[name] = time_engine(engine, questions)
        out[name]["search"] = time_search(engine.snapshot.passage_index, vectors, k)
    out["hnsw"]["recall_at_10"] = recall_at(flat_index, hnsw_index, vectors)
    out["hnsw"]["ef_search"] = hnsw_index.hnsw.efSearch
    out["hnsw"]["ef_sweep"] = ef_sweep(flat_index, hnsw_index, vectors, k)
    out["hnsw"]["top3_same_as_flat"] = float(np.mean([
        [h.passage.id for h in engines["flat"].answer(q).hits]
        == [h.passage.id for h in engines["hnsw"].answer(q).hits] for q in questions]))
    used = engines[out["faqbot_uses"]]
    out["components"] = components(used, questions, vectors)
    if profile:
        count = options.profile_questions
        out["profile"] = profile_answers(used, questions[:count], vectors[:count])
    out["cpu"] = meter.read()
    del engines, variants, snapshot, other, flat_index, hnsw_index, matrix
    gc.collect()
    return out


def switch_advice(sizes: list[dict[str, Any]]) -> dict[str, Any]:
    """Where exact search stops being cheap: fit its cost per passage, compare with encoding.

    Rule: keep exact search (recall 1.0) while one search costs under SWITCH_SHARE of the
    median question encoding; past that HNSW, if its recall@10 is at least 0.95.
    """
    points = [(s["passages"], s["flat"]["search"]["median"]) for s in sizes]
    encode = float(np.median([s["flat"]["floor"]["median"] for s in sizes]))
    xs = np.array([p[0] for p in points], dtype=float)
    ys = np.array([p[1] for p in points], dtype=float)
    per_passage = float(np.sum(xs * ys) / np.sum(xs * xs))  # least squares through 0
    crossover = int(SWITCH_SHARE * encode / per_passage) if per_passage > 0 else None
    recalls = {s["passages"]: s["hnsw"]["recall_at_10"] for s in sizes}
    good = [r for r in sizes[-1]["hnsw"].get("ef_sweep", []) if r["recall_at_10"] >= 0.95]
    return {"flat_ms_per_100k_passages": per_passage * 100_000, "encode_median_ms": encode,
            "rule": f"exact while a search costs < {SWITCH_SHARE:.0%} of encoding the question",
            "suggested_hnsw_from": crossover, "current_hnsw_from": HNSW_FROM,
            "hnsw_recall_at_10": recalls,
            "ef_for_recall_095_at_largest": good[0] if good else None}


def run(embedder: Embedder, questions: Sequence[str], options: LatencyOptions,
        log: Callable[[str], None] = print) -> dict[str, Any]:
    options.workdir.mkdir(parents=True, exist_ok=True)
    log(f"latency: encode threads probe ({len(questions[:50])} questions)")
    result: dict[str, Any] = {"threads": thread_probe(embedder, questions[:50]), "sizes": [],
                              "faiss_threads": 1}
    for i, size in enumerate(options.sizes):
        log(f"latency: corpus of about {size} passages")
        result["sizes"].append(measure_size(size, embedder, questions, options,
                                            profile=i == len(options.sizes) - 1))
    result["switch"] = switch_advice(result["sizes"])
    result["questions"] = len(questions)
    return result
