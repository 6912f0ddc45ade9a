"""Question sets and the metrics that hold retrieval and declining to account."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from faqbot.errors import FaqbotError
from faqbot.models import Answer, Hit

RANK_DEPTH = 10
#: A question of this kind is on topic but the documents don't answer it: it must be declined,
#: and is counted apart from the questions that are plainly out of scope.
NOT_COVERED = "not-covered"
#: How many of the returned passages a reader sees; "correct" needs an expected one among them.
SHOWN = 3


class Expected(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    doc: str
    must_contain: str = Field(min_length=1)


class EvalQuestion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    question: str
    kind: str = "general"
    expected: tuple[Expected, ...] = ()

    @property
    def in_scope(self) -> bool:
        return bool(self.expected)


class QuestionSet(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    questions: tuple[EvalQuestion, ...]


def load_questions(path: Path) -> list[EvalQuestion]:
    """Read a question set; a bad file raises FaqbotError naming it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return list(QuestionSet.model_validate(data).questions)
    except OSError as exc:
        raise FaqbotError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise FaqbotError(f"{path}: invalid YAML ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise FaqbotError(f"{path}: {where}: {first['msg']}") from None


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def first_relevant_rank(hits: tuple[Hit, ...], expected: tuple[Expected, ...]) -> int | None:
    """1-based rank of the first hit satisfying any expected entry, or None."""
    wanted = [(e.doc, _collapse(e.must_contain)) for e in expected]
    for rank, hit in enumerate(hits, start=1):
        text = _collapse(hit.passage.text)
        if any(hit.passage.doc == doc and phrase in text for doc, phrase in wanted):
            return rank
    return None


@dataclass
class Outcome:
    question: EvalQuestion
    rank: int | None
    answered: bool
    confidence: float


@dataclass
class Metrics:
    """Aggregates over one set of outcomes."""

    n_in: int = 0
    n_out: int = 0
    hit1: float = 0.0
    hit3: float = 0.0
    mrr: float = 0.0
    wrongly_declined: float = 0.0  # share of in-scope questions declined
    correctly_declined: float = 0.0  # share of out-of-scope questions declined
    correct: float = 0.0  # share of in-scope questions answered with an expected passage shown
    must_decline_declined: float = 0.0  # share declined of out-of-scope (not not-covered) ones
    not_covered_declined: float = 0.0  # share declined of the not-covered questions
    n_not_covered: int = 0
    per_kind: dict[str, dict[str, float]] = field(default_factory=dict)


def metrics(outcomes: list[Outcome], threshold: float | None = None) -> Metrics:
    """Hit@1, Hit@3, MRR over in-scope questions; decline rates; a row per kind.

    With ``threshold`` the decision is recomputed as ``confidence >= threshold``.
    """

    def answered(o: Outcome) -> bool:
        return o.answered if threshold is None else o.confidence >= threshold

    def summarise(group: list[Outcome]) -> dict[str, float]:
        ins = [o for o in group if o.question.in_scope]
        outs = [o for o in group if not o.question.in_scope]
        row: dict[str, float] = {"n": len(group)}
        if ins:
            row["hit1"] = sum(o.rank == 1 for o in ins) / len(ins)
            row["hit3"] = sum(o.rank is not None and o.rank <= 3 for o in ins) / len(ins)
            row["mrr"] = sum(1 / o.rank for o in ins if o.rank) / len(ins)
            row["wrongly_declined"] = sum(not answered(o) for o in ins) / len(ins)
            row["correct"] = sum(answered(o) and o.rank is not None and o.rank <= SHOWN
                                 for o in ins) / len(ins)
        if outs:
            row["correctly_declined"] = sum(not answered(o) for o in outs) / len(outs)
            plain = [o for o in outs if o.question.kind != NOT_COVERED]
            covered = [o for o in outs if o.question.kind == NOT_COVERED]
            if plain:
                row["must_decline_declined"] = sum(not answered(o) for o in plain) / len(plain)
            if covered:
                row["not_covered_declined"] = sum(not answered(o) for o in covered) / len(covered)
        return row

    overall = summarise(outcomes)
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_kind[o.question.kind].append(o)
    return Metrics(
        n_in=sum(o.question.in_scope for o in outcomes),
        n_out=sum(not o.question.in_scope for o in outcomes),
        hit1=overall.get("hit1", 0.0),
        hit3=overall.get("hit3", 0.0),
        mrr=overall.get("mrr", 0.0),
        wrongly_declined=overall.get("wrongly_declined", 0.0),
        correctly_declined=overall.get("correctly_declined", 0.0),
        correct=overall.get("correct", 0.0),
        must_decline_declined=overall.get("must_decline_declined", 0.0),
        not_covered_declined=overall.get("not_covered_declined", 0.0),
        n_not_covered=sum(o.question.kind == NOT_COVERED for o in outcomes),
        per_kind={k: summarise(v) for k, v in sorted(by_kind.items())},
    )


def outcome(question: EvalQuestion, answer: Answer) -> Outcome:
    return Outcome(question, first_relevant_rank(answer.hits, question.expected),
                   answer.answered, answer.confidence)


def decline_curve(outcomes: list[Outcome], steps: int = 21,
                  threshold: float | None = None) -> list[tuple[float, float, float]]:
    """(threshold, share of in-scope declined, share of out-of-scope declined) per threshold,
    with ``threshold`` (the one in service) as a point of its own when given."""
    ins = [o.confidence for o in outcomes if o.question.in_scope]
    outs = [o.confidence for o in outcomes if not o.question.in_scope]
    rows = []
    points = [0.05 + i * (0.9 / (steps - 1)) for i in range(steps)]
    for t in sorted(points + ([threshold] if threshold is not None else [])):
        rows.append((
            t,
            sum(c < t for c in ins) / len(ins) if ins else 0.0,
            sum(c < t for c in outs) / len(outs) if outs else 0.0,
        ))
    return rows


def format_report(m: Metrics, curve: list[tuple[float, float, float]], threshold: float) -> str:
    """The eval report as a person reads it in a terminal."""
    lines = [
        f"in-scope questions: {m.n_in}   out-of-scope/adversarial: {m.n_out}",
        f"Hit@1 {m.hit1:.3f}   Hit@3 {m.hit3:.3f}   MRR {m.mrr:.3f}",
        f"in-scope correct (answered, an expected passage in the top {SHOWN}): {m.correct:.1%}",
        f"in-scope wrongly declined: {m.wrongly_declined:.1%}   "
        f"must-decline declined: {m.must_decline_declined:.1%}   "
        + (f"not-covered declined: {m.not_covered_declined:.1%} (n={m.n_not_covered})   "
           if m.n_not_covered else "")
        + f"(threshold {threshold:.3f})",
        "",
        f"{'kind':<26}{'n':>4}{'correct':>9}{'Hit@1':>7}{'Hit@3':>7}{'MRR':>7}"
        f"{'wrong-decl':>12}{'declined':>10}",
    ]
    def cell(row: dict[str, float], key: str, width: int, pct: bool = False) -> str:
        if key not in row:
            return f"{'-':>{width}}"
        return f"{row[key]:>{width}.1%}" if pct else f"{row[key]:>{width}.3f}"

    for kind, row in m.per_kind.items():
        lines.append(
            f"{kind:<26}{int(row['n']):>4}{cell(row, 'correct', 9, True)}{cell(row, 'hit1', 7)}"
            f"{cell(row, 'hit3', 7)}{cell(row, 'mrr', 7)}{cell(row, 'wrongly_declined', 12, True)}"
            f"{cell(row, 'correctly_declined', 10, True)}"
        )
    lines += ["", "decline curve (threshold: in-scope declined / out-of-scope declined)"]
    for t, wrong, right in curve:
        marker = "  <- in service" if t == threshold else ""
        lines.append(f"  {t:.3f}: {wrong:6.1%} / {right:6.1%}{marker}")
    return "\n".join(lines)
