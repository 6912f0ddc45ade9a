"""Answering: the checks before ranking, the ranking, and the answer or decline it gives.

A question's path: fold disguised spellings → decline what the documents can't serve
(faqbot.scope) → normalise and embed once (faqbot.query) → rank (faqbot.ranking) → confidence
→ Answer. Nothing here keeps the question: it lives in local variables for one call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from faqbot.chunking import sentence_spans
from faqbot.embedding import ContentTokenizer, Embedder, TokenEmbedder
from faqbot.index import Snapshot
from faqbot.keyword import KeywordIndex
from faqbot.late import TextTokens, tokens_among
from faqbot.models import Answer
from faqbot.normalise import fold
from faqbot.prepare import prepare
from faqbot.query import has_words, normalise_query, question_parts
from faqbot.ranking import (
    Ranked,
    RankingConfig,
    confidence,
    cover_parts,
    embedder_with_tokens,
    query_text,
    rank,
    word_query,
)
from faqbot.scope import asks_to_act, foreign_language, states_quantity, strip_instructions

# the names callers import from here, as before the split into query, prepare and ranking
__all__ = ["Engine", "Ranked", "RankingConfig", "best_sentence", "confidence", "cover_parts",
           "has_words", "normalise_query", "prepare", "query_text", "question_parts", "rank",
           "shape_answer"]


#: a question asking for a number is answered only if one of this many best passages has one
QUANTITY_PASSAGES = 3


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
    if answered and faq is None and (ranked.unknown_terms or (
            ranked.asks_for_quantity and not any(states_quantity(h.passage.text)
                                                 for h in ranked.top(QUANTITY_PASSAGES)))):
        # a specific word no passage has, or a number asked for that the best passages
        # don't state: the closest passages become related reading
        answered, reason = False, "not_covered"
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


@dataclass
class Engine:
    """The loaded model and the index version in service; swaps are atomic, reads lock-free.

    ``eager``: a swap prepares the new snapshot for ranking first (so no question waits);
    False in a server whose answers are computed in the answer worker (prepared on first use).
    """

    embedder: Embedder
    snapshot: Snapshot
    config: RankingConfig = field(default_factory=RankingConfig)
    eager: bool = True
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
                          covers=tuple(sorted(subjects.named)),
                          related=tuple(snapshot.faq[:3]))
        answer = self._ranked_answer(snapshot, question, top_k)
        if language is not None:  # the closest questions it can answer, in the documents' words
            return answer.model_copy(update={"answered": False, "reason": "language",
                                             "language": language, "faq": None,
                                             "related": tuple(answer.related or
                                                              snapshot.faq[:3])})
        return answer

    def _ranked_answer(self, snapshot: Snapshot, question: str, top_k: int) -> Answer:
        with_tokens = embedder_with_tokens(snapshot, self.embedder, self.config)
        parts = question_parts(question)
        parts = parts if len(parts) > 1 else []
        query = query_text(snapshot, question, self.config, self.embedder)
        words = word_query(snapshot, self.embedder, question, query)
        shared = self._parts_in_tokens(snapshot, parts, words, with_tokens)
        # a part reads the whole question's tokens when they hold its words (shared);
        # otherwise it needs a vector of its own, from the same model call as the question's
        asked = [question, *parts] if parts and shared is None else [question]
        queries = [query, *(query_text(snapshot, text, self.config, self.embedder)
                            for text in asked[1:])]
        # BM25 and late interaction read each query without the subjects' names
        # (ranking.word_query); those that differ join the same forward pass
        every_words = [words, *(word_query(snapshot, self.embedder, text, q)
                                for text, q in zip(asked[1:], queries[1:], strict=True))]
        extra = [w for w, q in zip(every_words, queries, strict=True) if w != q]
        tokens: list[TextTokens | None] = [None] * len(queries)
        if with_tokens is not None:
            every, found = with_tokens.embed_with_tokens(queries + extra)
            more = iter(found[len(queries):])
            tokens = [next(more) if w != q else t
                      for w, q, t in zip(every_words, queries, found[:len(queries)], strict=True)]
        else:
            every = self.embedder.embed(queries + extra)
        vectors = every[:len(queries)]
        rest = iter(every[len(queries):])
        word_vectors = [next(rest) if w != q else v
                        for w, q, v in zip(every_words, queries, vectors, strict=True)]
        ranked = rank(snapshot, self.embedder, question, self.config, query_vector=vectors[0],
                      query=query, query_tokens=tokens[0], words=words,
                      words_vector=word_vectors[0])
        if parts:  # each part's best passage is kept near the top
            if shared is not None and tokens[0] is not None:
                found_parts = [
                    rank(snapshot, self.embedder, part, self.config, query_vector=vectors[0],
                         query=part_query, query_tokens=tokens_among(tokens[0], ids),
                         words=part_words, words_vector=word_vectors[0])
                    for part, (part_query, part_words, ids) in zip(parts, shared, strict=True)]
            else:
                found_parts = [
                    rank(snapshot, self.embedder, part, self.config, query_vector=vector,
                         query=part_query, query_tokens=part_tokens, words=part_words,
                         words_vector=part_vector)
                    for part, vector, part_query, part_tokens, part_words, part_vector in zip(
                        parts, vectors[1:], queries[1:], tokens[1:], every_words[1:],
                        word_vectors[1:], strict=True)]
            ranked = cover_parts(ranked, found_parts)
        return shape_answer(snapshot, ranked, self.config, top_k)

    def _parts_in_tokens(
        self, snapshot: Snapshot, parts: list[str], words: str,
        with_tokens: TokenEmbedder | None,
    ) -> list[tuple[str, str, np.ndarray]] | None:
        """Per part (query, words, content-token ids) when every part can be ranked from the
        whole question's forward pass, else None.

        A part then keeps the whole question's vector, reads its own words for BM25, and for
        late interaction the whole question's token vectors of its own words, read in the
        context of the whole question; the model's time is the question's alone, however
        many parts it has. Not when the embedder can't tokenize without the model, nor when
        the whole question is cut at the model's length before a part's words.
        """
        if not parts or not isinstance(with_tokens, ContentTokenizer):
            return None
        queries = [query_text(snapshot, part, self.config, self.embedder) for part in parts]
        part_words = [word_query(snapshot, self.embedder, part, query)
                      for part, query in zip(parts, queries, strict=True)]
        whole, *each = with_tokens.content_ids([words, *part_words])
        if not all(np.isin(ids, whole).all() for ids in each):
            return None
        return list(zip(queries, part_words, each, strict=True))

    def swap(self, snapshot: Snapshot) -> Snapshot:
        """Put a new snapshot in service (prepared first when ``eager``); return the old."""
        if self.eager:
            prepare(snapshot, self.embedder)
        with self._swap_lock:
            old, self.snapshot = self.snapshot, snapshot
        return old
