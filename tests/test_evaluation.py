"""The eval metrics on hand-made outcomes: in-scope correct, must-decline, not-covered."""

from __future__ import annotations

import pytest

from faqbot.evaluation import (
    EvalQuestion,
    Expected,
    Outcome,
    decline_curve,
    format_report,
    metrics,
)

EXPECTED = (Expected(doc="a.md", must_contain="x"),)


def q(id_: str, kind: str, in_scope: bool) -> EvalQuestion:
    return EvalQuestion(id=id_, question="?", kind=kind, expected=EXPECTED if in_scope else ())


def test_correct_needs_an_answer_and_an_expected_passage_among_the_three_shown() -> None:
    outcomes = [
        Outcome(q("a", "sharing", True), rank=1, answered=True, confidence=0.9),
        Outcome(q("b", "sharing", True), rank=3, answered=True, confidence=0.9),
        Outcome(q("c", "sharing", True), rank=4, answered=True, confidence=0.9),  # not shown
        Outcome(q("d", "sharing", True), rank=1, answered=False, confidence=0.1),  # declined
        Outcome(q("e", "out-of-scope", False), rank=None, answered=False, confidence=0.1),
        Outcome(q("f", "adversarial", False), rank=None, answered=True, confidence=0.9),
        Outcome(q("g", "not-covered", False), rank=None, answered=False, confidence=0.2),
        Outcome(q("h", "not-covered", False), rank=None, answered=True, confidence=0.8),
        Outcome(q("i", "not-covered", False), rank=None, answered=True, confidence=0.8),
    ]
    m = metrics(outcomes)
    assert m.correct == pytest.approx(2 / 4)
    assert m.wrongly_declined == pytest.approx(1 / 4)
    assert m.must_decline_declined == pytest.approx(1 / 2)
    assert m.not_covered_declined == pytest.approx(1 / 3) and m.n_not_covered == 3
    assert m.correctly_declined == pytest.approx(2 / 5)
    assert m.per_kind["not-covered"]["not_covered_declined"] == pytest.approx(1 / 3)


def test_the_decline_curve_marks_the_threshold_in_service_at_its_own_value() -> None:
    outcomes = [Outcome(q(f"i{c}", "sharing", True), rank=1, answered=c >= 0.799, confidence=c)
                for c in (0.78, 0.81, 0.95)]
    outcomes.append(Outcome(q("o", "out-of-scope", False), None, False, 0.1))
    curve = decline_curve(outcomes, threshold=0.799)
    assert (0.799, 1 / 3, 1.0) in curve and [t for t, _, _ in curve] == sorted(
        t for t, _, _ in curve)
    (line,) = [x for x in format_report(metrics(outcomes), curve, 0.799).splitlines()
               if "in service" in x]
    assert line.split() == ["0.799:", "33.3%", "/", "100.0%", "<-", "in", "service"]
