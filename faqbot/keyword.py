"""Keyword scoring (BM25 through bm25s) so exact words such as an address or 'opt-out' count."""

from __future__ import annotations

import re

import numpy as np

_TOKEN = re.compile(r"(?u)\b\w\w+\b")


class KeywordIndex:
    """BM25 over a fixed list of texts, English stop words removed, Snowball-stemmed."""

    def __init__(self, texts: list[str]) -> None:
        import bm25s
        import Stemmer

        self._stemmer = Stemmer.Stemmer("english")
        self._bm25s = bm25s
        self.size = len(texts)
        self._retriever = bm25s.BM25()
        if texts:
            tokens = bm25s.tokenize(
                [self._prepare(t) for t in texts], stopwords="en", stemmer=self._stemmer,
                show_progress=False,
            )
            self._retriever.index(tokens, show_progress=False)
            self._vocab = set(self._retriever.vocab_dict)
        else:
            self._vocab = set()

    @staticmethod
    def _prepare(text: str) -> str:
        # "opt-out" and "opt out" must meet: split on hyphens and at-signs alike.
        return text.replace("-", " ").replace("@", " ")

    def stems(self, text: str) -> set[str]:
        """The stemmed content words of a text (stop words removed), as BM25 sees them."""
        tokens = self._bm25s.tokenize(
            [self._prepare(text)], stopwords="en", stemmer=self._stemmer, return_ids=False,
            show_progress=False,
        )[0]
        return set(tokens)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every text for ``query``, in the order the texts were given."""
        if not self.size:
            return np.zeros(0, dtype=np.float32)
        tokens = self._bm25s.tokenize(
            [self._prepare(query)], stopwords="en", stemmer=self._stemmer, return_ids=False,
            show_progress=False,
        )[0]
        known = [t for t in tokens if t in self._vocab]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)
