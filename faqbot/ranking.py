"""Ranking: passages scored by meaning and words, the FAQ matched, the confidence computed.

Passage score = cosine + keyword_weight * BM25 / max(BM25) + a lift from the closest FAQ
entries that cite the passage + a bonus for documents about a company the question names,
adjusted for authority and superseded status; when no FAQ entry lends weight, the best
``late_depth`` also get ``late_weight`` * token-level MaxSim (faqbot.late).
Nothing here keeps the question: it lives in local variables for one call.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from faqbot.embedding import Embedder, TokenEmbedder
from faqbot.index import Snapshot, search_one_query
from faqbot.keyword import top_k
from faqbot.late import Idf, TextTokens, maxsim
from faqbot.models import FaqEntry, Hit, Passage
from faqbot.normalise import fold
from faqbot.prepare import Prepared, prepare
from faqbot.query import expand_shorthand, normalise_query
from faqbot.scope import (
    asks_for_quantity,
    company_for_product,
    organisations_in,
    specific_terms,
    terms_in,
    without_names,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RankingConfig:
    """The knobs of ranking and declining; defaults were chosen by measurement (README)."""

    candidates: int = 50  # dense and keyword candidates considered per question
    keyword_weight: float = 0.35  # weight of normalised BM25 added to cosine similarity
    # BM25 is divided by max(best BM25 score, this floor): a weak best keyword match does not
    # get the full weight just for being the best of a poor lot
    keyword_floor: float = 5.0
    faq_floor: float = 0.65  # FAQ phrasings closer than this lend weight to their sources
    faq_weight: float = 1.0  # boost per unit of FAQ similarity above the floor
    faq_entries: int = 1  # how many of the closest FAQ entries may boost their sources
    faq_min: float = 0.72  # the closest FAQ entry is shown when at least this close
    superseded_penalty: float = 0.03  # a replaced statement ranks after its replacement
    authority_bonus: float = 0.01  # per step of authority (policy > official > faq > news)
    # confidence = sigmoid(bias + w_in * in-domain similarity + w_out * out-of-scope similarity
    # + w_subject * [the question names a company the documents are about]), fitted by
    # logistic regression on eval/calibration.yml together with the development set of real
    # documents (../shared/data/realdocs), with the shipped out-of-scope examples in the index
    # (python -m bench.tune)
    calibration: tuple[float, float, float, float] = (-3.615, 20.867, -18.706, 2.405)
    # the highest threshold that declines at most 2% of in-scope calibration questions
    min_confidence: float = 0.756
    max_query_chars: int = 2000  # the model reads ~256 word pieces; the rest is noise
    # late interaction (faqbot.late): the best `late_depth` candidates get late_weight times
    # their token-level MaxSim, but only when no FAQ entry lends weight: a curated answer's
    # sources are not reordered by word matching (on eval/questions.yml that reordering cost
    # Hit@1 0.870 -> 0.820; with no FAQ at all, late interaction raises its MRR 0.707 -> 0.739)
    late_weight: float = 2.0
    late_depth: int = 20
    # a question that names a company ("does zoom sell…") prefers the documents about it
    # (0.1 -> 0.3 once product names read as their company: realdocs correct 0.877 -> 0.885,
    # the bundled sets, all about Slack, unchanged)
    subject_bonus: float = 0.3
    # the passage closest in meaning (best cosine) is never lower than this place (0: off):
    # word matching and late interaction must not push it out of the three a reply shows
    # (realdocs Hit@3 0.846 -> 0.862; the bundled sets unchanged). Without a curated FAQ
    # lift, it displaces the less close in meaning of the second and third, not the third
    # (realdocs correct 0.892 -> 0.900: two questions gained, one lost; bundled unchanged)
    closest_by_meaning_at: int = 3
    # a product name in a question that does not name its company is read as the company's
    # name by the pooled vector ("who owns the code chatgpt writes" -> "… OpenAI writes"): the
    # documents say "OpenAI", and the model, older than ChatGPT, reads "chatgpt" as "chat"
    # (realdocs correct 0.854 -> 0.877; the bundled sets unchanged but for one Hit@1)
    company_for_product: bool = True
    # a question in another language than the documents' is declined with a note, unless the
    # model reads many languages (FAQBOT_MULTILINGUAL, or a model named "multilingual")
    multilingual: bool = False


@dataclass
class Ranked:
    """Everything ranking found for one question, before the answer is shaped.

    Candidates are held as arrays, best first; a ``Hit`` (and its ``Passage``) is only built
    for the few a reply shows (:meth:`top`), not for the ~100 candidates of every question.
    """

    passages: Sequence[Passage]
    rows: np.ndarray  # candidate passage rows, best first
    scores: np.ndarray  # fused score of each candidate, same order
    dense: np.ndarray  # cosine similarity of each candidate
    keyword: np.ndarray  # raw BM25 score of each candidate
    faq_scores: list[tuple[FaqEntry, float]]  # best first
    top_dense: float  # best cosine similarity of a passage
    out_of_scope: float  # best similarity to an out-of-scope example (0 if none)
    query_stems: set[str] = field(default_factory=set)  # content words, for highlighting
    #: the question's specific words (acronyms, numbers, product names) that no passage has
    unknown_terms: tuple[str, ...] = ()
    asks_for_quantity: bool = False  # "how many…", "how much…", "how fast…"
    #: the question names a company (or product) the documents are about
    names_subject: bool = False

    @property
    def in_domain(self) -> float:
        return max(self.top_dense, self.faq_scores[0][1] if self.faq_scores else 0.0)

    def top(self, n: int | None = None) -> list[Hit]:
        """The best ``n`` candidates (all when None) as hits."""
        end = len(self.rows) if n is None else min(n, len(self.rows))
        return [Hit(passage=self.passages[int(self.rows[i])], score=float(self.scores[i]),
                    dense=float(self.dense[i]), keyword=float(self.keyword[i]))
                for i in range(end)]

    @property
    def hits(self) -> list[Hit]:
        """Every candidate as a hit, best first (builds them all: for evaluation)."""
        return self.top()


def query_text(snapshot: Snapshot, question: str, config: RankingConfig,
               embedder: Embedder | None = None) -> str:
    """What is embedded and keyword-searched for a question (typos fixed, slang expanded)."""
    prepared = prepare(snapshot, embedder)
    text = expand_shorthand(fold(question[: config.max_query_chars]))
    text = normalise_query(prepared.speller.correct(text), prepared.keyword)
    if config.company_for_product and (asked := _asked(prepared, question)):
        text = company_for_product(text, asked)
    return text


def rank(
    snapshot: Snapshot, embedder: Embedder, question: str, config: RankingConfig,
    query_vector: np.ndarray | None = None, query: str | None = None,
    query_tokens: TextTokens | None = None, words: str | None = None,
    words_vector: np.ndarray | None = None,
) -> Ranked:
    """Score passages and FAQ entries for a question.

    ``query_vector``, ``query`` (its :func:`query_text`), ``words`` (its :func:`word_query`),
    ``query_tokens`` (the content tokens of ``words``) and ``words_vector`` (its vector, for
    the out-of-scope similarity) may be given when the caller has
    them already, e.g. from one model call for several questions; a ``query_vector``
    without ``query_tokens`` skips late interaction.

    Passage score = cosine + keyword_weight * BM25/max(BM25) + boost from the closest FAQ
    entries that cite the passage, adjusted for authority and superseded status; when no FAQ
    entry lends weight, the best ``late_depth`` also get ``late_weight`` * MaxSim.
    Returns hits sorted by descending score and FAQ entries by descending similarity.
    """
    prepared = prepare(snapshot, embedder)
    if query is None:
        query = query_text(snapshot, question, config, embedder)
    # words are matched without the names of the companies the documents are about
    if words is None:
        words = word_query(snapshot, embedder, question, query)
    texts = [query] if words == query else [query, words]  # one forward pass for all
    if query_vector is not None:
        vector = query_vector  # without ``words_vector``, out of scope is compared as asked
    elif (with_tokens := embedder_with_tokens(snapshot, embedder, config)) is not None:
        vectors, tokens = with_tokens.embed_with_tokens(texts)
        vector, query_tokens, words_vector = vectors[0], tokens[-1], vectors[-1]
    else:
        vectors = embedder.embed(texts)
        vector, words_vector = vectors[0], vectors[-1]
    vector = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
    n = len(snapshot.passages)
    dense = np.zeros(n, dtype=np.float32)
    known = np.zeros(n, dtype=bool)
    if n:
        scores, rows = search_one_query(snapshot.passage_index, vector,
                                        min(config.candidates, n))
        valid = rows[0] >= 0
        dense[rows[0][valid]] = scores[0][valid]
        known[rows[0][valid]] = True
    keyword = prepared.keyword.scores(words)
    top_kw = float(keyword.max()) if n else 0.0
    candidates = known.copy()
    if top_kw > 0:
        best = top_k(keyword, config.candidates)
        candidates[best[keyword[best] > 0]] = True

    asked = _asked(prepared, question)
    faq_scores, out_of_scope = _faq_scores(snapshot, prepared, vector)
    if words != query and words_vector is not None and len(prepared.out_of_scope_rows):
        # the examples of what faqbot can't serve name no company ("is the service down?"):
        # the question is also compared to them without the names of the documents' subjects,
        # which inside the documents about them only make everything sound in scope
        plain = prepared.faq_matrix @ np.asarray(words_vector, dtype=np.float32).ravel()
        out_of_scope = max(out_of_scope, _out_of_scope(prepared, plain))
    boost: dict[int, float] = {}
    for entry, similarity in faq_scores[: config.faq_entries]:
        lift = config.faq_weight * (similarity - config.faq_floor)
        if lift <= 0:
            break
        for row in prepared.faq_sources.get(entry.id, []):
            boost[row] = max(boost.get(row, 0.0), lift)
    candidates[list(boost)] = True

    rows = np.flatnonzero(candidates)
    missing = rows[~known[rows]]
    if len(missing):  # candidates found by words or FAQ only: exact cosine from stored vectors
        dense[missing] = _reconstruct(snapshot.passage_index, missing.tolist()) @ vector[0]
    scale = max(top_kw, config.keyword_floor)
    keyword_norm = keyword[rows] / scale if scale > 0 else keyword[rows]
    lifts = np.array([boost.get(int(r), 0.0) for r in rows], dtype=np.float64)
    # float64 sums, term by term in this order: the scores the per-hit loop used to give
    fused = (dense[rows].astype(np.float64)
             + config.keyword_weight * keyword_norm.astype(np.float64)
             + lifts
             - config.authority_bonus * prepared.authority[rows].astype(np.float64)
             - np.where(prepared.superseded[rows], config.superseded_penalty, 0.0)
             + config.subject_bonus * _about(prepared, asked)[rows])
    order = np.lexsort((prepared.ids[rows], -fused))  # by score, then by passage id
    rows, fused = rows[order], fused[order]
    if (not boost and query_tokens is not None and snapshot.tokens is not None
            and prepared.token_idf is not None and config.late_weight and len(rows)):
        # a rerank stage: only the best few are scored (their tokens are read from disk)
        depth = min(config.late_depth, len(rows))
        late = _late_scores(snapshot, rows[:depth], query_tokens, prepared.token_idf)
        fused = fused.copy()
        fused[:depth] += config.late_weight * late.astype(np.float64)
        order = np.lexsort((prepared.ids[rows], -fused))
        rows, fused = rows[order], fused[order]
    rows, fused = _closest_by_meaning_within(rows, fused, dense, config.closest_by_meaning_at,
                                             curated=bool(boost))
    return Ranked(passages=snapshot.passages, rows=rows, scores=fused,
                  dense=dense[rows], keyword=keyword[rows], faq_scores=faq_scores,
                  top_dense=float(dense[rows].max()) if len(rows) else 0.0,
                  out_of_scope=out_of_scope, query_stems=prepared.keyword.stems(query),
                  unknown_terms=_unknown_terms(prepared, question),
                  asks_for_quantity=asks_for_quantity(question), names_subject=bool(asked))


def _closest_by_meaning_within(rows: np.ndarray, fused: np.ndarray, dense: np.ndarray,
                               place: int, curated: bool = False,
                               ) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` (best first) with the best-cosine candidate moved up to ``place`` (1-based)
    when it ranks lower; it keeps its own score.

    One of the first ``place`` gives way and goes right after it. When an FAQ entry lent
    weight (``curated``) that is the one at ``place``: the curated order stands. Otherwise it
    is the least close in meaning of those after the first: word matching and late
    interaction lifted them all, and the one lifted with the least support from meaning goes.
    """
    if place <= 0 or len(rows) <= place:
        return rows, fused
    best = int(np.argmax(dense[rows]))
    if best < place:
        return rows, fused
    out = place - 1
    if not curated and place > 1:
        out = 1 + int(np.argmin(dense[rows[1:place]]))  # the first minimum on a tie
    kept = [i for i in range(place) if i != out]
    rest = [i for i in range(place, len(rows)) if i != best]
    order = np.array([*kept, best, out, *rest])
    return rows[order], fused[order]


def word_query(snapshot: Snapshot, embedder: Embedder, question: str, query: str) -> str:
    """``query`` without the names of companies the documents are about that the question
    names, for the word-level scores (BM25 and late interaction): "does adobe own what i
    make" should meet "retain all rights and ownership", not every passage saying "Adobe".
    The pooled vector keeps them (it reads the question as a whole); the documents about
    the company still get the subject bonus. A question that is only names keeps them."""
    prepared = prepare(snapshot, embedder)
    asked = _asked(prepared, question)
    if not asked:
        return query
    words = without_names(query, asked)
    return words if prepared.keyword.stems(words) else query


def _asked(prepared: Prepared, question: str) -> set[str]:
    """The companies the question names (by themselves or a product, known or found in
    their documents) that the documents are about."""
    named = organisations_in(question) | terms_in(question, prepared.product_terms)
    return named & prepared.subjects.named


def _about(prepared: Prepared, asked: set[str]) -> np.ndarray:
    """Per passage: 1.0 when its document is about one of the companies ``asked``, else 0."""
    if not asked:
        return np.zeros(len(prepared.doc_of_row), dtype=np.float64)
    about = np.array([bool(orgs & asked) for orgs in prepared.doc_orgs], dtype=np.float64)
    return about[prepared.doc_of_row]


def _unknown_terms(prepared: Prepared, question: str) -> tuple[str, ...]:
    """The question's specific words that no passage contains, under any spelling faqbot
    knows for them ("LLM" is known where the documents say "large language models", "CSAM"
    where they say "Child Sexual Abuse Material")."""
    unknown = []
    keyword = prepared.keyword
    for term in specific_terms(fold(question), prepared.vocabulary):
        if not keyword.unknown(term):
            continue
        if term.isalpha() and term.removesuffix("s").upper() in prepared.initialisms:
            continue  # the documents spell it out
        expanded = normalise_query(term)[len(term):]
        if expanded and len(keyword.unknown(expanded)) < len(keyword.stems(expanded)):
            continue
        unknown.append(term)
    return tuple(unknown)


def embedder_with_tokens(snapshot: Snapshot, embedder: Embedder,
                    config: RankingConfig) -> TokenEmbedder | None:
    """The embedder, when questions should be embedded with their tokens (late interaction)."""
    if snapshot.tokens is None or not config.late_weight:
        return None
    return embedder if isinstance(embedder, TokenEmbedder) else None


def _late_scores(snapshot: Snapshot, rows: np.ndarray, query: TextTokens, idf: Idf) -> np.ndarray:
    """MaxSim of each candidate; zeros (no rerank) if the token file cannot be read, for
    example when its version was pruned while a question still used it (said once)."""
    assert snapshot.tokens is not None
    if not snapshot.extras.get("tokens_unreadable"):
        try:
            return maxsim(query, snapshot.tokens.groups(rows.tolist()), idf)
        except (OSError, ValueError) as exc:
            snapshot.extras["tokens_unreadable"] = True
            log.warning("index version %s: token vectors unreadable (%s), ranking without "
                        "them", snapshot.name, exc.__class__.__name__)
    return np.zeros(len(rows), dtype=np.float32)


def _reconstruct(index: Any, rows: list[int]) -> np.ndarray:
    """Stored vectors of ``rows`` (float32, one row each) in one FAISS call."""
    keys = np.asarray(rows, dtype=np.int64)
    try:
        return np.asarray(index.reconstruct_batch(keys), dtype=np.float32)
    except (AttributeError, RuntimeError):  # index types without batch reconstruction
        return np.stack([index.reconstruct(int(r)) for r in keys]).astype(np.float32)


def _out_of_scope(prepared: Prepared, similarity: np.ndarray) -> float:
    """Best of ``similarity`` (one value per FAQ row) over the examples of what faqbot cannot
    serve, at least 0 (0 if there are none)."""
    rows = prepared.out_of_scope_rows
    return max(float(similarity[rows].max()), 0.0) if len(rows) else 0.0


def _faq_scores(snapshot: Snapshot, prepared: Prepared,
                vector: np.ndarray) -> tuple[list[tuple[FaqEntry, float]], float]:
    """Best similarity per FAQ entry (over its phrasings), and to any out-of-scope example."""
    if not snapshot.faq_rows:
        return [], 0.0
    similarity = prepared.faq_matrix @ vector[0]
    best = np.full(len(snapshot.faq), -np.inf, dtype=np.float32)
    known = prepared.faq_of_row >= 0
    np.maximum.at(best, prepared.faq_of_row[known], similarity[known])
    found = np.flatnonzero(best > -np.inf)
    entries = [snapshot.faq[i] for i in found.tolist()]
    ranked = sorted(zip(entries, best[found].tolist(), strict=True),
                    key=lambda pair: (-pair[1], pair[0].id))
    return ranked, _out_of_scope(prepared, similarity)


def confidence(ranked: Ranked, config: RankingConfig) -> float:
    """Probability-like confidence that the documents answer the question."""
    bias, w_in, w_out, w_subject = config.calibration
    z = (bias + w_in * ranked.in_domain + w_out * ranked.out_of_scope
         + w_subject * ranked.names_subject)
    return float(1.0 / (1.0 + math.exp(-z)))


def cover_parts(whole: Ranked, parts: Sequence[Ranked]) -> Ranked:
    """The whole question's best passage, then each part's best, then the rest, without repeats.

    A passage keeps the whole question's scores when the whole question found it too.
    """
    heads: list[tuple[Ranked, int]] = [(whole, 0)] if len(whole.rows) else []
    for part in parts:
        if len(part.rows):
            found = np.flatnonzero(whole.rows == part.rows[0])
            heads.append((whole, int(found[0])) if len(found) else (part, 0))
    picks: dict[int, tuple[Ranked, int]] = {}  # passage row -> where its scores come from
    for source, at in heads:
        picks.setdefault(int(source.rows[at]), (source, at))
    rest = np.flatnonzero(~np.isin(whole.rows, list(picks)))

    def take(name: str) -> np.ndarray:
        return np.concatenate([getattr(source, name)[at:at + 1] for source, at in picks.values()]
                              + [getattr(whole, name)[rest]])

    return Ranked(passages=whole.passages, rows=take("rows"), scores=take("scores"),
                  dense=take("dense"), keyword=take("keyword"), faq_scores=whole.faq_scores,
                  top_dense=whole.top_dense, out_of_scope=whole.out_of_scope,
                  query_stems=whole.query_stems, unknown_terms=whole.unknown_terms,
                  asks_for_quantity=whole.asks_for_quantity, names_subject=whole.names_subject)
