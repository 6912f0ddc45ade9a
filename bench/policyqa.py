"""Passage retrieval on the PolicyQA development split: faqbot's ranking vs BM25 and dense.

Protocol (../shared/data/policyqa/README.md): per policy, every segment is a passage; per
distinct question, the gold set is every segment whose qas hold it; rank all the policy's
segments; Hit@1, Hit@3 and MRR over all (policy, question) pairs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faqbot.embedding import Embedder, TokenEmbedder
from faqbot.index import Snapshot, make_faiss_index
from faqbot.late import TextTokens, TokenStore
from faqbot.models import Passage
from faqbot.search import RankingConfig, rank

#: ../shared/data/policyqa/dev.json next to the repository; BENCH_POLICYQA_PATH overrides it
#: (a git worktree elsewhere has no ../shared).
DEFAULT_PATH = Path(os.environ.get("BENCH_POLICYQA_PATH") or (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "policyqa" / "dev.json"))


@dataclass
class Policy:
    title: str
    segments: list[str]
    questions: list[tuple[str, set[int]]]  # (question, gold segment rows)


def load_policies(path: Path = DEFAULT_PATH, limit: int | None = None) -> list[Policy]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    policies = []
    for item in data[:limit]:
        segments = [p["context"] for p in item["paragraphs"]]
        gold: dict[str, set[int]] = {}
        for row, paragraph in enumerate(item["paragraphs"]):
            for qa in paragraph["qas"]:
                gold.setdefault(qa["question"], set()).add(row)
        policies.append(Policy(item["title"], segments, list(gold.items())))
    return policies


def _snapshot(policy: Policy, vectors: np.ndarray,
              tokens: list[TextTokens] | None = None) -> Snapshot:
    passages = [
        Passage(id=f"{i}", doc=policy.title, title="", section="", url=None, date=None,
                kind="policy", text=text, start=0, end=len(text))
        for i, text in enumerate(policy.segments)
    ]
    empty = make_faiss_index(np.zeros((0, vectors.shape[1]), dtype=np.float32))
    return Snapshot(name=policy.title, manifest={}, passages=passages,
                    passage_index=make_faiss_index(vectors), faq=[], faq_rows=[],
                    faq_index=empty, documents=[], opt_out=None,
                    tokens=TokenStore.from_tokens(tokens, vectors.shape[1]) if tokens else None)


def _scores(order: list[int], gold: set[int]) -> tuple[float, float, float]:
    for position, row in enumerate(order, start=1):
        if row in gold:
            return float(position == 1), float(position <= 3), 1.0 / position
    return 0.0, 0.0, 0.0


def evaluate(
    embedder: Embedder, policies: list[Policy], config: RankingConfig | None = None,
    extra: dict[str, Callable[[Snapshot, str, np.ndarray], list[int]]] | None = None,
) -> dict[str, dict[str, float]]:
    """Hit@1, Hit@3, MRR for BM25-only, dense-only and faqbot (plus ``extra`` rankers).

    The baselines get the question as it is. faqbot gets it as the engine embeds it
    (:func:`faqbot.search.query_text`: spelling repaired, informal words expanded), and the
    segments as an index build embeds them: with their content tokens when the embedder
    gives them, so it ranks with late interaction as it does in service.
    """
    from faqbot.search import prepare, query_text

    config = config or RankingConfig()
    asked: dict[str, tuple[np.ndarray, TextTokens | None]] = {}  # faqbot's view, per question
    rankers: dict[str, Callable[[Snapshot, str, np.ndarray], list[int]]] = {
        "bm25": lambda s, q, v: list(np.argsort(-prepare(s).keyword.scores(q), kind="stable")),
        "dense": lambda s, q, v: list(np.argsort(-(s.passage_index.reconstruct_n(
            0, s.passage_index.ntotal) @ v), kind="stable")),
        "faqbot": lambda s, q, v: _faqbot_order(s, q, *asked[q], embedder, config),
    }
    rankers.update(extra or {})
    totals = {name: np.zeros(3) for name in rankers}
    pairs = 0
    started = time.perf_counter()
    late = isinstance(embedder, TokenEmbedder) and bool(config.late_weight)
    for policy in policies:
        questions = [q for q, _ in policy.questions]
        if late:
            vectors, tokens = embedder.embed_with_tokens(policy.segments)
        else:
            vectors, tokens = embedder.embed(policy.segments), None
        snapshot = _snapshot(policy, vectors, tokens)
        queries = [query_text(snapshot, q, config, embedder) for q in questions]
        if late:
            q_vectors, q_tokens = embedder.embed_with_tokens(queries)
        else:
            q_vectors, q_tokens = embedder.embed(queries), [None] * len(queries)
        asked = {q: (v, t) for q, v, t in zip(questions, q_vectors, q_tokens, strict=True)}
        plain = embedder.embed(questions)
        for (question, gold), vector in zip(policy.questions, plain, strict=True):
            pairs += 1
            for name, ranker in rankers.items():
                totals[name] += _scores(ranker(snapshot, question, vector), gold)
    seconds = time.perf_counter() - started
    out = {name: {"hit1": t[0] / pairs, "hit3": t[1] / pairs, "mrr": t[2] / pairs}
           for name, t in totals.items()}
    out["_meta"] = {"pairs": pairs, "policies": len(policies), "seconds": seconds}
    return out


def _faqbot_order(snapshot: Snapshot, question: str, vector: np.ndarray,
                  tokens: TextTokens | None, embedder: Embedder,
                  config: RankingConfig) -> list[int]:
    config = RankingConfig(**{**config.__dict__, "candidates": len(snapshot.passages)})
    ranked = rank(snapshot, embedder, question, config, query_vector=vector,
                  query_tokens=tokens)
    order = [int(h.passage.id) for h in ranked.hits]
    seen = set(order)
    return order + [i for i in range(len(snapshot.passages)) if i not in seen]


def format_table(results: dict[str, dict[str, float]]) -> str:
    lines = ["| ranker | Hit@1 | Hit@3 | MRR |", "|---|---|---|---|"]
    for name, row in results.items():
        if not name.startswith("_"):
            lines.append(f"| {name} | {row['hit1']:.3f} | {row['hit3']:.3f} | {row['mrr']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    from faqbot.embedding import SentenceTransformerEmbedder

    result = evaluate(SentenceTransformerEmbedder(), load_policies())
    print(format_table(result))
    print(result["_meta"])
