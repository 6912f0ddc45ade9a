"""Typo repair for questions: unknown words are mapped to the closest word the documents use."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


class Speller:
    """Corrects words that neither the documents nor the model's vocabulary know.

    A word of five letters or more is only replaced by a document word with the same first
    letter within one edit (two for words of nine letters or more); ties go to the more
    frequent word. Words the model knows ("password", "wifi") are left alone, so off-topic
    questions stay off-topic; typos rarely change the first letter, real words often differ
    from a document word there ("caching" is not "machine").
    """

    def __init__(self, corpus: Iterable[str], known: Iterable[str] = ()) -> None:
        counts: Counter[str] = Counter()
        for text in corpus:
            counts.update(w.casefold() for w in _WORD.findall(text))
        self._counts = counts
        self._by_initial: dict[str, list[str]] = {}
        for w in counts:
            if len(w) >= 4:
                self._by_initial.setdefault(w[0], []).append(w)
        self._known = {w.casefold() for w in known} | set(counts)

    def correct(self, text: str) -> str:
        """The text with unknown words replaced; everything else is kept as it was."""
        from rapidfuzz import process
        from rapidfuzz.distance import DamerauLevenshtein

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            lower = word.casefold()
            if len(lower) < 5 or lower in self._known:
                return word
            limit = 2 if len(lower) >= 9 else 1
            choices = self._by_initial.get(lower[0], [])
            found = process.extract(lower, choices, scorer=DamerauLevenshtein.distance,
                                    score_cutoff=limit, limit=5)
            if not found:
                return word
            best = min(found, key=lambda item: (item[1], -self._counts[item[0]]))
            return best[0]

        return _WORD.sub(fix, text)
