"""Indexing: a full build's passages/s, an incremental update after one file of 1,000 changes,
and the build's peak memory.

Everything runs in one child process (``python -m bench.indexing --child ...``) so its peak
resident memory (ru_maxrss) is the build's own, not the benchmark's. Each build is what
``faqbot index`` does: read the knowledge folder, then ``IndexStore.build``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    MODEL_SPEC,
    CpuMeter,
    load_embedder,
    peak_rss_mb,
    proc_status_mb,
    subprocess_env,
)
from bench.corpus import BUNDLED, small_files
from faqbot.embedding import Embedder, TokenEmbedder
from faqbot.late import TextTokens


class TimedEmbedder:
    """Counts the texts embedded and the seconds spent in the model."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.seconds = 0.0
        self.texts = 0

    @property
    def vocabulary(self) -> frozenset[str]:
        return getattr(self.inner, "vocabulary", frozenset())  # type: ignore[no-any-return]

    def embed(self, texts: list[str]) -> np.ndarray:
        started = time.perf_counter()
        out = self.inner.embed(texts)
        self.seconds += time.perf_counter() - started
        self.texts += len(texts)
        return out


class TimedTokenEmbedder(TimedEmbedder):
    """TimedEmbedder for a model that gives tokens too: builds keep them, as faqbot's do."""

    def __init__(self, inner: TokenEmbedder) -> None:
        super().__init__(inner)
        self.token_inner = inner

    def embed_with_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[TextTokens]]:
        started = time.perf_counter()
        out = self.token_inner.embed_with_tokens(texts)
        self.seconds += time.perf_counter() - started
        self.texts += len(texts)
        return out


def timed(inner: Embedder) -> TimedEmbedder:
    return TimedTokenEmbedder(inner) if isinstance(inner, TokenEmbedder) else TimedEmbedder(inner)


def _update(knowledge: Path, index: Path, embedder: TimedEmbedder) -> dict[str, Any]:
    from faqbot.index import IndexStore
    from faqbot.sources import load_knowledge

    seconds0, texts0 = embedder.seconds, embedder.texts
    started = time.perf_counter()
    kb = load_knowledge(knowledge)
    read_s = time.perf_counter() - started
    report = IndexStore(index).build(kb, embedder)
    total = time.perf_counter() - started
    return {"seconds": total, "read_knowledge_s": read_s, "store_build_s": report.seconds,
            "embed_s": embedder.seconds - seconds0, "embedded": embedder.texts - texts0,
            "passages": report.passages, "files": report.files, "changed": report.changed,
            "full_build": report.rebuilt_from_scratch}


def _touch(path: Path, n: int) -> None:
    """Change one sentence of a document, as an editor would."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + f" This sentence was revised (edit {n}).\n",
                    encoding="utf-8")


def _top_costs(profiler: cProfile.Profile, top: int = 12) -> list[dict[str, Any]]:
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for (path, line, func), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        short = path.split("site-packages/")[-1].split("/work/main/")[-1]
        rows.append({"function": f"{short}:{line}({func})", "calls": calls,
                     "tottime_s": tottime, "cumtime_s": cumtime})
    rows.sort(key=lambda r: -r["tottime_s"])
    return rows[:top]


def child(knowledge: Path, index: Path, spec: str) -> dict[str, Any]:
    """Full build, one-file update, a profiled second update; timings and peak memory."""
    started = time.perf_counter()
    embedder = timed(load_embedder(spec))
    model_s = time.perf_counter() - started
    rss_model = proc_status_mb()
    full = _update(knowledge, index, embedder)
    peak_full = peak_rss_mb()
    files = sorted((knowledge / "small").glob("*.md"))
    _touch(files[len(files) // 2], 1)
    incremental = _update(knowledge, index, embedder)
    _touch(files[len(files) // 3], 2)
    profiler = cProfile.Profile()
    profiler.enable()
    profiled = _update(knowledge, index, embedder)
    profiler.disable()
    return {"model_load_s": model_s, "rss_after_model_mb": rss_model,
            "peak_rss_after_full_build_mb": peak_full, "peak_rss_mb": peak_rss_mb(),
            "full": full, "incremental": incremental, "incremental_profiled": profiled,
            "incremental_top_costs": _top_costs(profiler)}


def run(workdir: Path, files: int = 1000, embedder_spec: str = MODEL_SPEC,
        base: Path | None = BUNDLED, timeout: float = 3600) -> dict[str, Any]:
    """Generate ``files`` small documents (plus ``base``), build, change one, update."""
    meter = CpuMeter()
    knowledge = small_files(workdir / "indexing" / "knowledge", files, base)
    index = workdir / "indexing" / "index"
    cmd = [sys.executable, "-m", "bench.indexing", "--child", "--knowledge", str(knowledge),
           "--index", str(index), "--embedder", embedder_spec]
    done = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(),
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"indexing child failed ({done.returncode}): {done.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    full, incremental = out["full"], out["incremental"]
    out["generated_files"] = files
    out["full_passages_per_s"] = full["passages"] / full["seconds"]
    out["embed_passages_per_s"] = full["embedded"] / full["embed_s"] if full["embed_s"] else None
    out["incremental_fraction"] = incremental["seconds"] / full["seconds"]
    out["build_peak_over_model_mb"] = out["peak_rss_after_full_build_mb"] - out[
        "rss_after_model_mb"]
    out["cpu"] = meter.read()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Indexing benchmark (child process).")
    parser.add_argument("--child", action="store_true", required=True)
    parser.add_argument("--knowledge", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--embedder", default=MODEL_SPEC)
    args = parser.parse_args(argv)
    print(json.dumps(child(args.knowledge, args.index, args.embedder)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
