"""Retrieval quality on PolicyQA (dev split): faqbot's ranking vs BM25-only and dense-only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.common import CpuMeter
from bench.policyqa import DEFAULT_PATH, evaluate, load_policies
from faqbot.embedding import Embedder


def run(embedder: Embedder, path: Path = DEFAULT_PATH, limit: int | None = None) -> dict[str, Any]:
    """Hit@1, Hit@3 and MRR per ranker over all (policy, question) pairs of ``limit`` policies."""
    meter = CpuMeter()
    results = evaluate(embedder, load_policies(path, limit))
    meta = results.pop("_meta")
    return {"rankers": results, **meta, "dataset": str(path), "cpu": meter.read()}
