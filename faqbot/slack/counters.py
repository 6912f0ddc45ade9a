"""The counts the Slack layer keeps, in memory: clicks per answer id, answered and declined.

Counts only: no users, no text.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Sequence

from faqbot.models import Answer, FaqEntry


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


def iso_week(moment: dt.datetime) -> str:
    """'2026-W49': the ISO week a moment falls in (UTC)."""
    year, week, _ = moment.astimezone(dt.UTC).isocalendar()
    return f"{year}-W{week:02d}"


class Gaps:
    """What people ask that the documents don't answer, without the questions: per ISO week,
    how many declines and *Not helpful* clicks fell nearest to each FAQ entry or section.

    Keys are ids the documents define (``faq:<id>``, ``section:<doc> › <heading path>``,
    ``passage:<id>``), never text anyone typed. In memory; gone on restart.
    """

    def __init__(self, clock: Callable[[], dt.datetime] | None = None) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()  # (week, kind, key)
        self._lock = threading.Lock()
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def record_decline(self, answer: Answer) -> None:
        """Count a decline the documents might have answered (not requests to act, other
        companies or languages) by its nearest FAQ entry, else its nearest section."""
        if answer.answered or answer.reason not in ("out_of_scope", "not_covered", None):
            return
        if answer.related:
            key = f"faq:{answer.related[0].id}"
        elif answer.hits:
            passage = answer.hits[0].passage
            key = f"section:{passage.doc} › {passage.section or passage.title}"
        else:
            return
        self._add("declined", key)

    def record_not_helpful(self, faq_id: str | None, passage_ids: Sequence[str]) -> None:
        """Count a *Not helpful* click by its FAQ entry, else its first passage."""
        if faq_id:
            self._add("not_helpful", f"faq:{faq_id}")
        elif passage_ids:
            self._add("not_helpful", f"passage:{passage_ids[0]}")

    def _add(self, kind: str, key: str) -> None:
        week = iso_week(self._clock())
        with self._lock:
            self._counts[(week, kind, key)] += 1

    def top(self, weeks: int = 4, limit: int = 10) -> list[tuple[str, str, str, int]]:
        """(week, kind, key, count) for the last ``weeks`` weeks, most counted first."""
        now = self._clock()
        recent = {iso_week(now - dt.timedelta(weeks=i)) for i in range(weeks)}
        with self._lock:
            rows = [(w, k, key, n) for (w, k, key), n in self._counts.items() if w in recent]
        rows.sort(key=lambda r: (-r[3], r[0], r[1], r[2]))
        return rows[:limit]
