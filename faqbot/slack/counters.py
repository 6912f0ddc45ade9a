"""The counts the Slack layer keeps, in memory: clicks per answer id, answered and declined.

Counts only: no users, no text.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

from faqbot.models import FaqEntry


class Feedback:
    """Helpful / not-helpful counts per FAQ id and passage id."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def record(self, verdict: str, faq_id: str | None, passage_ids: Sequence[str]) -> None:
        """Count one click for the FAQ entry and each passage of an answer."""
        keys = ([f"faq:{faq_id}"] if faq_id else []) + [f"passage:{p}" for p in passage_ids]
        with self._lock:
            for key in keys:
                self._counts[(key, verdict)] += 1

    def counts(self) -> dict[str, dict[str, int]]:
        """``{"faq:<id>": {"helpful": n, "not_helpful": m}, "passage:<id>": {...}}``."""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for (key, verdict), n in self._counts.items():
                out.setdefault(key, {})[verdict] = n
        return out


class Outcomes:
    """How many questions were answered and declined, and how often each FAQ entry matched.

    The FAQ counts order the "common topics".
    """

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._topics: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, answered: bool, faq_id: str | None = None) -> None:
        """Count one question's outcome (and its FAQ entry, when it matched one)."""
        with self._lock:
            self._counts["answered" if answered else "declined"] += 1
            if answered and faq_id:
                self._topics[faq_id] += 1

    def most_asked(self, entries: Sequence[FaqEntry]) -> list[FaqEntry]:
        """``entries`` by how often they matched, most first; the curated order breaks ties."""
        with self._lock:
            counts = dict(self._topics)
        order = sorted(range(len(entries)), key=lambda i: (-counts.get(entries[i].id, 0), i))
        return [entries[i] for i in order]

    def counts(self) -> dict[str, int]:
        """``{"answered": n, "declined": m}``."""
        with self._lock:
            return {"answered": self._counts["answered"], "declined": self._counts["declined"]}
