"""Keyword scoring (BM25 through bm25s) so exact words such as an address or 'opt-out' count."""

from __future__ import annotations

import re

import numpy as np

#: bm25s's default token pattern (scikit-learn's CountVectorizer), applied to lower-cased text.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` highest scores, best first, ties by row: O(n) instead of a full sort.

    Equals ``np.argsort(-scores, kind="stable")[:k]``.
    """
    n = len(scores)
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.intp)
    if k >= n:
        return np.argsort(-scores, kind="stable")
    kth = np.partition(scores, n - k)[n - k]  # the k-th highest value
    above = np.flatnonzero(scores > kth)
    tied = np.flatnonzero(scores == kth)[: k - len(above)]  # ties at the cut: lowest rows
    rows = np.concatenate([above, tied])
    return rows[np.lexsort((rows, -scores[rows]))]


class KeywordIndex:
    """BM25 over a fixed list of texts, English stop words removed, Snowball-stemmed.

    The index is built by bm25s; questions are tokenised here with the same rules (lower
    case, bm25s's token pattern and English stop words, Snowball stems) without bm25s's
    per-call overhead (progress bars, vocabulary rebuilds), since a question tokenises its
    text and every sentence of the passages it highlights.
    """

    def __init__(self, texts: list[str]) -> None:
        import bm25s
        import Stemmer
        from bm25s.stopwords import STOPWORDS_EN

        self._stemmer = Stemmer.Stemmer("english")
        self._stopwords = frozenset(STOPWORDS_EN)
        self.size = len(texts)
        self._retriever = bm25s.BM25()
        self._vocab: dict[str, int] = {}
        if texts:
            tokens = bm25s.tokenize(
                [self._prepare(t) for t in texts], stopwords="en", stemmer=self._stemmer,
                show_progress=False,
            )
            self._retriever.index(tokens, show_progress=False)
            self._vocab = dict(self._retriever.vocab_dict)

    @staticmethod
    def _prepare(text: str) -> str:
        # "opt-out" and "opt out" must meet: split on hyphens and at-signs alike.
        return text.replace("-", " ").replace("@", " ")

    def tokens(self, text: str) -> list[str]:
        """Stemmed content words in order, repeats kept, exactly as ``bm25s.tokenize`` gives."""
        words = [w for w in _TOKEN.findall(self._prepare(text).lower())
                 if w not in self._stopwords]
        return self._stemmer.stemWords(words) if words else []

    def stems(self, text: str) -> set[str]:
        """The stemmed content words of a text (stop words removed), as BM25 sees them."""
        return set(self.tokens(text))

    def unknown(self, text: str) -> list[str]:
        """The content words of ``text`` that no indexed text contains, in order."""
        return [w for w in _TOKEN.findall(self._prepare(text).lower())
                if w not in self._stopwords and self._stemmer.stemWord(w) not in self._vocab]

    def count_containing(self, text: str) -> int:
        """How many indexed texts contain every content word of ``text`` (0 for none)."""
        stems = set(self.tokens(text))
        if not stems or not self.size or any(t not in self._vocab for t in stems):
            return 0
        present = np.ones(self.size, dtype=bool)
        for stem in stems:
            present &= np.asarray(self._retriever.get_scores_from_ids([self._vocab[stem]])) > 0
        return int(present.sum())

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every text for ``query``, in the order the texts were given."""
        if not self.size:
            return np.zeros(0, dtype=np.float32)
        ids = [self._vocab[t] for t in self.tokens(query) if t in self._vocab]
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores_from_ids(ids), dtype=np.float32)
