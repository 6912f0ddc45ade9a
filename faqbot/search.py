"""Answering: rank passages by meaning and words, match the FAQ, and decide answer or decline.

A question's path: normalise → embed once → dense search (FAISS) and BM25 over passages,
fused → FAQ phrasings searched with the same vector → confidence → Answer.
Nothing here keeps the question: it lives in local variables for one call.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

import numpy as np

from faqbot.chunking import embedding_text
from faqbot.embedding import Embedder
from faqbot.index import Snapshot
from faqbot.keyword import KeywordIndex
from faqbot.models import AUTHORITY, Answer, FaqEntry, Hit, Passage

#: Informal words people type, mapped to the words the documents use. Appended (not
#: substituted) so the original words still count.
SYNONYMS: dict[str, str] = {
    r"\bdms?\b": "direct messages",
    r"\bdm'?d\b": "direct messages",
    r"\bgen ?ai\b": "generative AI",
    r"\bgpt\b|\bchat ?gpt\b|\bopenai\b|\bclaude\b|\bgemini\b": (
        "large language models generative AI"
    ),
    r"\bllms?\b": "large language models",
    r"\bml\b": "machine learning",
    r"\bai\b": "artificial intelligence",
    r"\bopt[- ]?out\b|\boptout\b": "opt out",
    r"\bgdpr\b": "data protection rights",
    r"\bpii\b": "personal information",
    r"\bconvos?\b|\bchats?\b": "messages conversations",
}
_SYNONYMS = [(re.compile(p, re.IGNORECASE), words) for p, words in SYNONYMS.items()]
_HAS_WORD = re.compile(r"[^\W_]{2,}", re.UNICODE)


@dataclass(frozen=True)
class RankingConfig:
    """The knobs of ranking and declining; defaults were chosen by measurement (README)."""

    candidates: int = 50  # dense and keyword candidates considered per question
    keyword_weight: float = 0.15  # weight of max-normalised BM25 added to cosine similarity
    faq_min: float = 0.70  # an FAQ phrasing this close matches the entry
    min_confidence: float = 0.45  # below this the bot declines
    superseded_penalty: float = 0.03  # a replaced statement ranks after its replacement
    authority_bonus: float = 0.01  # per step of authority (policy > official > faq > news)
    max_query_chars: int = 2000  # the model reads ~256 word pieces; the rest is noise


def normalise_query(question: str) -> str:
    """Collapse whitespace, drop control characters, append document words for slang."""
    text = "".join(ch if ch.isprintable() else " " for ch in question)
    text = " ".join(text.split())
    extra = [words for pattern, words in _SYNONYMS if pattern.search(text)]
    return f"{text} ({'; '.join(extra)})" if extra else text


def _faq_matches_section(passage: Passage, section: str) -> bool:
    name = passage.section
    return name == section or name.endswith(" > " + section) or name.startswith(section + " > ")


@dataclass
class _Prepared:
    """Structures derived from a snapshot once, the first time it answers."""

    keyword: KeywordIndex
    faq_sources: dict[str, list[int]]  # faq id -> passage rows it cites
    authority: np.ndarray
    superseded: np.ndarray


def prepare(snapshot: Snapshot) -> _Prepared:
    """Build (once per snapshot) the keyword index and the FAQ → passage map."""
    cached = snapshot.extras.get("prepared")
    if cached is not None:
        return cached
    passages = snapshot.passages
    keyword = KeywordIndex([embedding_text(p) for p in passages])
    faq_sources: dict[str, list[int]] = {}
    for entry in snapshot.faq:
        rows: list[int] = []
        for src in entry.sources:
            rows.extend(
                i for i, p in enumerate(passages)
                if p.doc == src.doc and _faq_matches_section(p, src.section) and i not in rows
            )
        faq_sources[entry.id] = rows
    prepared = _Prepared(
        keyword=keyword,
        faq_sources=faq_sources,
        authority=np.array([AUTHORITY.get(p.kind, 2) for p in passages], dtype=np.float32),
        superseded=np.array([p.superseded_by is not None for p in passages], dtype=bool),
    )
    snapshot.extras["prepared"] = prepared
    return prepared


@dataclass
class Ranked:
    """Everything ranking found for one question, before the answer is shaped."""

    hits: list[Hit]
    faq_scores: list[tuple[FaqEntry, float]]  # best first
    top_dense: float


def rank(
    snapshot: Snapshot, embedder: Embedder, question: str, config: RankingConfig,
    query_vector: np.ndarray | None = None,
) -> Ranked:
    """Score passages and FAQ entries for a question.

    Returns hits sorted by descending fused score (every candidate, not cut to top-k) and
    FAQ entries sorted by descending best-phrasing similarity.
    """
    prepared = prepare(snapshot)
    query = normalise_query(question[: config.max_query_chars])
    vector = query_vector if query_vector is not None else embedder.embed([query])[0]
    vector = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
    n = len(snapshot.passages)
    dense = np.zeros(n, dtype=np.float32)
    candidates: set[int] = set()
    if n:
        k = min(config.candidates, n)
        scores, rows = snapshot.passage_index.search(vector, k)
        for score, row in zip(scores[0], rows[0], strict=True):
            if row >= 0:
                dense[row] = score
                candidates.add(int(row))
    keyword = prepared.keyword.scores(query)
    top_kw = float(keyword.max()) if n else 0.0
    if top_kw > 0:
        for row in np.argsort(-keyword)[: config.candidates]:
            if keyword[row] > 0:
                candidates.add(int(row))
        keyword_norm = keyword / top_kw
    else:
        keyword_norm = keyword
    rows_needing_dense = [r for r in candidates if dense[r] == 0.0]
    if rows_needing_dense:
        # keyword-only candidates: exact cosine from the stored vectors
        stored = np.stack([snapshot.passage_index.reconstruct(r) for r in rows_needing_dense])
        dense[rows_needing_dense] = stored @ vector[0]

    faq_scores: list[tuple[FaqEntry, float]] = []
    if snapshot.faq_rows:
        k = min(len(snapshot.faq_rows), 40)
        scores, rows = snapshot.faq_index.search(vector, k)
        best: dict[str, float] = {}
        for score, row in zip(scores[0], rows[0], strict=True):
            if row >= 0:
                fid = snapshot.faq_rows[row][0]
                best[fid] = max(best.get(fid, -1.0), float(score))
        by_id = {e.id: e for e in snapshot.faq}
        faq_scores = sorted(((by_id[f], s) for f, s in best.items() if f in by_id),
                            key=lambda pair: -pair[1])

    hits = []
    for row in candidates:
        fused = (
            float(dense[row])
            + config.keyword_weight * float(keyword_norm[row])
            - config.authority_bonus * float(prepared.authority[row])
            - (config.superseded_penalty if prepared.superseded[row] else 0.0)
        )
        hits.append(Hit(passage=snapshot.passages[row], score=fused, dense=float(dense[row]),
                        keyword=float(keyword[row])))
    hits.sort(key=lambda h: (-h.score, h.passage.id))
    top_dense = max((h.dense for h in hits), default=0.0)
    return Ranked(hits=hits, faq_scores=faq_scores, top_dense=top_dense)


def shape_answer(snapshot: Snapshot, ranked: Ranked, config: RankingConfig, top_k: int) -> Answer:
    """Turn a ranking into an Answer: FAQ first when matched, then the best passages."""
    prepared = prepare(snapshot)
    faq: FaqEntry | None = None
    faq_score = 0.0
    if ranked.faq_scores and ranked.faq_scores[0][1] >= config.faq_min:
        faq, faq_score = ranked.faq_scores[0]
    hits = list(ranked.hits)
    if faq is not None:
        cited = set(prepared.faq_sources.get(faq.id, []))
        cited_ids = {snapshot.passages[r].id for r in cited}
        by_id = {h.passage.id: h for h in hits}
        # the FAQ's own sources lead, best-scoring first, then everything else
        lead = sorted(
            (by_id.get(snapshot.passages[r].id) or Hit(passage=snapshot.passages[r], score=0.0)
             for r in cited),
            key=lambda h: (-h.score, h.passage.id),
        )
        hits = lead + [h for h in hits if h.passage.id not in cited_ids]
    confidence = max(faq_score, ranked.top_dense)
    confidence = float(min(1.0, max(0.0, confidence)))
    answered = confidence >= config.min_confidence
    related = tuple(e for e, _ in ranked.faq_scores[:3]) if not answered else ()
    return Answer(
        answered=answered,
        confidence=confidence,
        faq=faq if answered else None,
        hits=tuple(hits[:top_k]),
        related=related,
    )


def has_words(question: str) -> bool:
    """False for input with nothing to search: empty, only emoji, only punctuation."""
    return bool(_HAS_WORD.search(question))


@dataclass
class Engine:
    """The loaded model and the index version in service; swaps are atomic, reads lock-free."""

    embedder: Embedder
    snapshot: Snapshot
    config: RankingConfig = field(default_factory=RankingConfig)
    _swap_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def answer(self, question: str, top_k: int = 3) -> Answer:
        """Answer one question from the snapshot in service when the call starts."""
        snapshot = self.snapshot  # one reference for the whole call, even if a swap happens
        if not has_words(question):
            return Answer(answered=False, confidence=0.0,
                          related=tuple(snapshot.faq[:3]))
        ranked = rank(snapshot, self.embedder, question, self.config)
        return shape_answer(snapshot, ranked, self.config, top_k)

    def swap(self, snapshot: Snapshot) -> Snapshot:
        """Put a new snapshot in service (prepared first, so no question waits); return the old."""
        prepare(snapshot)
        with self._swap_lock:
            old, self.snapshot = self.snapshot, snapshot
        return old
