"""Typo repair for questions: unknown words are mapped to the closest word the documents use."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


class Speller:
    """Corrects words that neither the documents nor the model's vocabulary know.

    A word is only replaced when a document word lies within a small edit distance (1 for
    words of up to 5 letters, 2 for longer ones); ties go to the more frequent word. Words
    the model knows ("password", "wifi") are left alone, so off-topic questions stay off-topic.
    """

    def __init__(self, corpus: Iterable[str], known: Iterable[str] = ()) -> None:
        counts: Counter[str] = Counter()
        for text in corpus:
            counts.update(w.casefold() for w in _WORD.findall(text))
        self._counts = counts
        self._choices = [w for w in counts if len(w) >= 4]
        self._known = {w.casefold() for w in known} | set(counts)

    def correct(self, text: str) -> str:
        """The text with unknown words replaced; everything else is kept as it was."""
        from rapidfuzz import process
        from rapidfuzz.distance import DamerauLevenshtein

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            lower = word.casefold()
            if len(lower) < 4 or lower in self._known:
                return word
            limit = 1 if len(lower) <= 5 else 2
            found = process.extract(lower, self._choices, scorer=DamerauLevenshtein.distance,
                                    score_cutoff=limit, limit=5)
            if not found:
                return word
            best = min(found, key=lambda item: (item[1], -self._counts[item[0]]))
            return best[0]

        return _WORD.sub(fix, text)
