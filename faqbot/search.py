"""Answering: rank passages by meaning and words, match the FAQ, and decide answer or decline.

A question's path: normalise → embed once → dense search (FAISS) and BM25 over passages,
fused → FAQ phrasings searched with the same vector → confidence → Answer.
Nothing here keeps the question: it lives in local variables for one call.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from faqbot.chunking import embedding_text, sentence_spans
from faqbot.embedding import Embedder, TokenEmbedder
from faqbot.index import Snapshot, search_one_query
from faqbot.keyword import KeywordIndex, top_k
from faqbot.late import Idf, TextTokens, maxsim
from faqbot.memory import release_free_memory
from faqbot.models import AUTHORITY, Answer, FaqEntry, Hit, Passage
from faqbot.normalise import fold
from faqbot.passages import PassageTable
from faqbot.scope import (
    Subjects,
    asks_to_act,
    foreign_language,
    organisations_in,
    specific_terms,
    strip_instructions,
)
from faqbot.spelling import Speller

log = logging.getLogger(__name__)

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

#: Chat shorthand replaced before spelling repair, which would otherwise "fix" it wrongly.
SHORTHAND: dict[str, str] = {
    "msg": "message", "msgs": "messages", "pls": "please", "plz": "please",
    "prefs": "preferences", "cant": "can not", "dont": "do not", "doesnt": "does not",
    "whats": "what is", "info": "information", "anon": "anonymous", "u": "you", "ur": "your",
    "b4": "before", "w/": "with", "w/o": "without", "thx": "thanks", "pw": "password",
    "r": "are", "ppl": "people", "thru": "through", "acct": "account", "accts": "accounts",
    "yr": "year", "yrs": "years", "convo": "conversation", "convos": "conversations",
    "im": "i am", "incl": "including", "e2e": "end-to-end encryption", "govt": "government",
    "abt": "about", "bc": "because", "cuz": "because", "tmrw": "tomorrow", "pic": "picture",
    "pics": "pictures", "vid": "video", "vids": "videos", "rn": "right now", "y/o": "years old",
    "gonna": "going to", "wanna": "want to",
}
_SHORTHAND = re.compile(r"(?<![\w/])(" + "|".join(re.escape(k) for k in sorted(SHORTHAND, key=len,
                        reverse=True)) + r")(?![\w/])", re.IGNORECASE)


def expand_shorthand(text: str) -> str:
    """Replace chat shorthand ("msgs", "prefs") with the words the documents use."""
    return _SHORTHAND.sub(lambda m: SHORTHAND[m.group(1).casefold()], text)
_HAS_WORD = re.compile(r"[^\W_]{2,}", re.UNICODE)


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
    # confidence = sigmoid(bias + w_in * in-domain similarity + w_out * out-of-scope similarity),
    # fitted by logistic regression on eval/calibration.yml together with the development set
    # of real documents (../shared/data/realdocs), with the shipped out-of-scope examples
    # in the index (python -m bench.tune)
    calibration: tuple[float, float, float] = (-4.813, 14.283, -6.478)
    # the highest threshold that declines at most 2% of in-scope calibration questions
    min_confidence: float = 0.378
    max_query_chars: int = 2000  # the model reads ~256 word pieces; the rest is noise
    # late interaction (faqbot.late): the best `late_depth` candidates get late_weight times
    # their token-level MaxSim, but only when no FAQ entry lends weight: a curated answer's
    # sources are not reordered by word matching (on eval/questions.yml that reordering cost
    # Hit@1 0.870 -> 0.820; with no FAQ at all, late interaction raises its MRR 0.707 -> 0.739)
    late_weight: float = 2.0
    late_depth: int = 20
    # a question that names a company ("does zoom sell…") prefers the documents about it
    subject_bonus: float = 0.1
    # a question in another language than the documents' is declined with a note, unless the
    # model reads many languages (FAQBOT_MULTILINGUAL, or a model named "multilingual")
    multilingual: bool = False


def normalise_query(question: str, keyword: KeywordIndex | None = None) -> str:
    """Collapse whitespace, drop control characters, append document words for slang.

    With ``keyword`` (the documents' words), a word the documents use themselves is not
    expanded: a corpus about OpenAI says "OpenAI", and "large language models" appended to
    every question about it would only dilute them.
    """
    text = "".join(ch if ch.isprintable() else " " for ch in question)
    text = " ".join(text.split())
    extra = [words for pattern, words in _SYNONYMS
             if (found := pattern.search(text))
             and (keyword is None or keyword.unknown(found.group(0)))]
    return f"{text} ({'; '.join(extra)})" if extra else text


def _faq_matches_section(passage: Passage, section: str) -> bool:
    name = passage.section
    return name == section or name.endswith(" > " + section) or name.startswith(section + " > ")


@dataclass
class _Prepared:
    """Structures derived from a snapshot once, the first time it answers."""

    keyword: KeywordIndex
    speller: Speller
    faq_sources: dict[str, list[int]]  # faq id -> passage rows it cites
    authority: np.ndarray
    superseded: np.ndarray
    ids: np.ndarray  # passage ids (str), the tie-break between equal scores
    faq_matrix: np.ndarray  # the FAQ phrasing vectors (a few hundred rows), read once
    faq_of_row: np.ndarray  # per phrasing row: its entry's position in snapshot.faq, -1 if none
    out_of_scope_rows: np.ndarray  # rows that are out-of-scope examples
    token_idf: Idf | None  # IDF of word pieces over passages (late interaction), if stored
    subjects: Subjects  # the companies the documents cover
    vocabulary: frozenset[str]  # the model's whole words (lower case), if it says
    doc_of_row: np.ndarray  # per passage: its document's position in doc_orgs
    doc_orgs: list[frozenset[str]]  # per document: the companies its title or address names


def prepare(snapshot: Snapshot, embedder: Embedder | None = None) -> _Prepared:
    """Build (once per snapshot) the keyword index, the speller and the FAQ → passage map."""
    cached = snapshot.extras.get("prepared")
    if cached is not None:
        return cached
    passages = snapshot.passages
    texts: list[str] = []
    by_doc: dict[str, list[int]] = {}
    authority: list[int] = []
    superseded: list[bool] = []
    ids: list[str] = []
    labels: list[str] = []
    position_of_doc: dict[str, int] = {}
    doc_of_row: list[int] = []
    for i, p in enumerate(passages):  # one pass: a loaded table builds each Passage on access
        texts.append(embedding_text(p))
        by_doc.setdefault(p.doc, []).append(i)
        authority.append(AUTHORITY.get(p.kind, 2))
        superseded.append(p.superseded_by is not None)
        ids.append(p.id)
        if p.doc not in position_of_doc:  # a document's position in doc_orgs
            position_of_doc[p.doc] = len(labels)
            labels.append(Subjects.of_labels(p.doc, p.title, p.url))
        doc_of_row.append(position_of_doc[p.doc])
    subjects = Subjects(labels, texts)
    keyword = KeywordIndex(texts)
    speller = Speller(texts + [text for _, text in snapshot.faq_rows],
                      getattr(embedder, "vocabulary", ()))
    del texts
    faq_sources: dict[str, list[int]] = {}
    for entry in snapshot.faq:
        rows: list[int] = []
        for src in entry.sources:
            rows.extend(
                i for i in by_doc.get(src.doc, ())
                if _faq_matches_section(passages[i], src.section) and i not in rows
            )
        faq_sources[entry.id] = rows
    position = {entry.id: i for i, entry in enumerate(snapshot.faq)}
    faq_of_row = np.array([position.get(faq_id, -1) if faq_id is not None else -1
                           for faq_id, _ in snapshot.faq_rows], dtype=np.int64)
    index = snapshot.faq_index
    prepared = _Prepared(
        keyword=keyword,
        speller=speller,
        faq_sources=faq_sources,
        authority=np.array(authority, dtype=np.float32),
        superseded=np.array(superseded, dtype=bool),
        ids=np.array(ids, dtype=str),
        faq_matrix=(np.asarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32)
                    if index.ntotal else np.zeros((0, 0), dtype=np.float32)),
        faq_of_row=faq_of_row,
        out_of_scope_rows=np.array([i for i, (faq_id, _) in enumerate(snapshot.faq_rows)
                                    if faq_id is None], dtype=np.int64),
        token_idf=snapshot.tokens.idf() if snapshot.tokens is not None else None,
        subjects=subjects,
        doc_of_row=np.array(doc_of_row, dtype=np.int64),
        doc_orgs=[frozenset(organisations_in(label)) for label in labels],
        vocabulary=frozenset(w.casefold() for w in getattr(embedder, "vocabulary", ())
                             if w.isalpha()),
    )
    snapshot.extras["prepared"] = prepared
    if isinstance(passages, PassageTable):
        passages.drop_pages()  # every text was read once; the hits' pages come back alone
    release_free_memory()  # tokenising every passage left ~2 KB of freed heap per passage
    return prepared


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
    return normalise_query(prepared.speller.correct(text), prepared.keyword)


def rank(
    snapshot: Snapshot, embedder: Embedder, question: str, config: RankingConfig,
    query_vector: np.ndarray | None = None, query: str | None = None,
    query_tokens: TextTokens | None = None,
) -> Ranked:
    """Score passages and FAQ entries for a question.

    ``query_vector``, ``query`` (its :func:`query_text`) and ``query_tokens`` (its content
    tokens) may be given when the caller has them already, e.g. from one model call for
    several questions; a ``query_vector`` without ``query_tokens`` skips late interaction.

    Passage score = cosine + keyword_weight * BM25/max(BM25) + boost from the closest FAQ
    entries that cite the passage, adjusted for authority and superseded status; when no FAQ
    entry lends weight, the best ``late_depth`` also get ``late_weight`` * MaxSim.
    Returns hits sorted by descending score and FAQ entries by descending similarity.
    """
    prepared = prepare(snapshot, embedder)
    if query is None:
        query = query_text(snapshot, question, config, embedder)
    if query_vector is not None:
        vector = query_vector
    elif (token_embedder := _token_embedder(snapshot, embedder, config)) is not None:
        vectors, tokens = token_embedder.embed_with_tokens([query])  # one forward pass for both
        vector, query_tokens = vectors[0], tokens[0]
    else:
        vector = embedder.embed([query])[0]
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
    keyword = prepared.keyword.scores(query)
    top_kw = float(keyword.max()) if n else 0.0
    candidates = known.copy()
    if top_kw > 0:
        best = top_k(keyword, config.candidates)
        candidates[best[keyword[best] > 0]] = True

    faq_scores, out_of_scope = _faq_scores(snapshot, prepared, vector)
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
             + config.subject_bonus * _about_asked(prepared, question)[rows])
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
    return Ranked(passages=snapshot.passages, rows=rows, scores=fused,
                  dense=dense[rows], keyword=keyword[rows], faq_scores=faq_scores,
                  top_dense=float(dense[rows].max()) if len(rows) else 0.0,
                  out_of_scope=out_of_scope, query_stems=prepared.keyword.stems(query),
                  unknown_terms=_unknown_terms(prepared, question))


def _about_asked(prepared: _Prepared, question: str) -> np.ndarray:
    """Per passage: 1.0 when its document is about a company the question names, else 0."""
    asked = organisations_in(question) & prepared.subjects.named
    if not asked:
        return np.zeros(len(prepared.doc_of_row), dtype=np.float64)
    about = np.array([bool(orgs & asked) for orgs in prepared.doc_orgs], dtype=np.float64)
    return about[prepared.doc_of_row]


def _unknown_terms(prepared: _Prepared, question: str) -> tuple[str, ...]:
    """The question's specific words that no passage contains, under any spelling faqbot
    knows for them ("LLM" is known where the documents say "large language models")."""
    unknown = []
    keyword = prepared.keyword
    for term in specific_terms(fold(question), prepared.vocabulary):
        if not keyword.unknown(term):
            continue
        expanded = normalise_query(term)[len(term):]
        if expanded and len(keyword.unknown(expanded)) < len(keyword.stems(expanded)):
            continue
        unknown.append(term)
    return tuple(unknown)


def _token_embedder(snapshot: Snapshot, embedder: Embedder,
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


def _faq_scores(snapshot: Snapshot, prepared: _Prepared,
                vector: np.ndarray) -> tuple[list[tuple[FaqEntry, float]], float]:
    """Best similarity per FAQ entry (over its phrasings), and to any out-of-scope example."""
    if not snapshot.faq_rows:
        return [], 0.0
    similarity = prepared.faq_matrix @ vector[0]
    rows = prepared.out_of_scope_rows
    out_of_scope = float(similarity[rows].max()) if len(rows) else 0.0
    best = np.full(len(snapshot.faq), -np.inf, dtype=np.float32)
    known = prepared.faq_of_row >= 0
    np.maximum.at(best, prepared.faq_of_row[known], similarity[known])
    found = np.flatnonzero(best > -np.inf)
    entries = [snapshot.faq[i] for i in found.tolist()]
    ranked = sorted(zip(entries, best[found].tolist(), strict=True),
                    key=lambda pair: (-pair[1], pair[0].id))
    return ranked, max(out_of_scope, 0.0)


def confidence(ranked: Ranked, config: RankingConfig) -> float:
    """Probability-like confidence that the documents answer the question."""
    bias, w_in, w_out = config.calibration
    z = bias + w_in * ranked.in_domain + w_out * ranked.out_of_scope
    return float(1.0 / (1.0 + math.exp(-z)))


def shape_answer(snapshot: Snapshot, ranked: Ranked, config: RankingConfig, top_k: int) -> Answer:
    """Turn a ranking into an Answer: the closest FAQ entry when close enough, best passages."""
    conf = confidence(ranked, config)
    # declined when the closest thing to the question is an example of what faqbot can't
    # serve, however well the documents score in absolute terms
    answered = conf >= config.min_confidence and ranked.out_of_scope <= ranked.in_domain
    faq = None
    if answered and ranked.faq_scores and ranked.faq_scores[0][1] >= config.faq_min:
        faq = ranked.faq_scores[0][0]
    related = tuple(e for e, _ in ranked.faq_scores[:3]) if not answered else ()
    hits = tuple(ranked.top(top_k))
    reason = None if answered else "out_of_scope"
    if answered and faq is None and ranked.unknown_terms:
        answered, reason = False, "not_covered"  # the closest passages become related reading
    if answered and ranked.query_stems:
        keyword = prepare(snapshot).keyword
        hits = tuple(h.model_copy(update={"highlight": best_sentence(h.passage.text,
                                                                     ranked.query_stems,
                                                                     keyword)})
                     for h in hits)
    return Answer(answered=answered, confidence=conf, faq=faq, hits=hits, related=related,
                  reason=reason)


def best_sentence(
    text: str, query_stems: set[str], keyword: KeywordIndex
) -> tuple[int, int] | None:
    """The sentence of a passage sharing the most content words with the question.

    None when the passage is a single sentence or no sentence shares a word.
    """
    spans = list(sentence_spans(text, 0, len(text)))
    if len(spans) < 2:
        return None
    scored = [(len(keyword.stems(text[s:e]) & query_stems), -s, (s, e)) for s, e in spans]
    overlap, _, span = max(scored)
    return span if overlap > 0 else None


_PART_SPLIT = re.compile(
    r"\?\s+|\s+(?:and(?:\s+also)?|also|plus)\s+(?=(?:what|how|who|when|where|why|which|can|could|does|do|"
    r"is|are|will|would|should)\b)",
    re.IGNORECASE,
)


def question_parts(question: str, max_parts: int = 3) -> list[str]:
    """The separate questions in a message ("who can opt out and what email do they use").

    Only parts of three words or more count; a single question gives a one-element list.
    """
    text = " ".join(question[:2000].split())
    parts = [p.strip(" ?,;") for p in _PART_SPLIT.split(text)]
    parts = [p for p in parts if len(p.split()) >= 3]
    return parts[:max_parts] if len(parts) > 1 else [text]


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
                  query_stems=whole.query_stems, unknown_terms=whole.unknown_terms)


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
        question = fold(question[: self.config.max_query_chars])
        if not has_words(question):
            return Answer(answered=False, confidence=0.0, reason="empty",
                          related=tuple(snapshot.faq[:3]))
        language = None if self.config.multilingual else foreign_language(question)
        question, instructed = strip_instructions(question)
        if instructed and not has_words(question):
            return Answer(answered=False, confidence=0.0, reason="out_of_scope",
                          related=tuple(snapshot.faq[:3]))
        if asks_to_act(question):
            return Answer(answered=False, confidence=0.0, reason="action",
                          related=tuple(snapshot.faq[:3]))
        subjects = prepare(snapshot, self.embedder).subjects
        if language is None and subjects.uncovered(question):
            return Answer(answered=False, confidence=0.0, reason="other_subject",
                          covers=tuple(sorted(subjects.named or subjects.covered)),
                          related=tuple(snapshot.faq[:3]))
        answer = self._ranked_answer(snapshot, question, top_k)
        if language is not None:  # the closest questions it can answer, in the documents' words
            return answer.model_copy(update={"answered": False, "reason": "language",
                                             "language": language, "faq": None,
                                             "related": tuple(answer.related or
                                                              snapshot.faq[:3])})
        return answer

    def _ranked_answer(self, snapshot: Snapshot, question: str, top_k: int) -> Answer:
        parts = question_parts(question)
        asked = [question, *parts] if len(parts) > 1 else [question]
        # the whole question and its parts are embedded in one model call (one forward pass)
        queries = [query_text(snapshot, text, self.config, self.embedder) for text in asked]
        tokens: list[TextTokens | None] = [None] * len(queries)
        token_embedder = _token_embedder(snapshot, self.embedder, self.config)
        if token_embedder is not None:
            vectors, found = token_embedder.embed_with_tokens(queries)
            tokens = list(found)
        else:
            vectors = self.embedder.embed(queries)
        ranked = rank(snapshot, self.embedder, question, self.config, query_vector=vectors[0],
                      query=queries[0], query_tokens=tokens[0])
        if len(asked) > 1:  # each part's best passage is kept near the top
            ranked = cover_parts(ranked, [
                rank(snapshot, self.embedder, part, self.config, query_vector=vector, query=query,
                     query_tokens=part_tokens)
                for part, vector, query, part_tokens in zip(parts, vectors[1:], queries[1:],
                                                            tokens[1:], strict=True)])
        return shape_answer(snapshot, ranked, self.config, top_k)

    def swap(self, snapshot: Snapshot) -> Snapshot:
        """Put a new snapshot in service (prepared first, so no question waits); return the old."""
        prepare(snapshot, self.embedder)
        with self._swap_lock:
            old, self.snapshot = self.snapshot, snapshot
        return old
