"""Declines read differently by their reason, in the terminal as in Slack."""

from __future__ import annotations

from faqbot.declines import ACTION, DECLINE, LANGUAGE, NOT_COVERED
from faqbot.models import Answer, Hit, Passage
from faqbot.render_text import render_answer

PASSAGE = Passage(id="p1", doc="a.md", title="Zoom Privacy", section="Sharing", url=None,
                  date=None, kind="policy", text="Zoom shares data with vendors.", start=0,
                  end=30)


def test_each_reason_has_its_own_first_line() -> None:
    assert render_answer(Answer(answered=False, confidence=0.0)).startswith(DECLINE)
    assert render_answer(Answer(answered=False, confidence=0.0, reason="action")) == ACTION
    assert render_answer(Answer(answered=False, confidence=0.0, reason="language",
                                language="es")).startswith(LANGUAGE)
    other = render_answer(Answer(answered=False, confidence=0.0, reason="other_subject",
                                 covers=("Adobe", "LinkedIn", "Zoom")))
    assert other.startswith("The documents here cover Adobe, LinkedIn and Zoom;")


def test_not_covered_shows_the_closest_passages_as_related_reading() -> None:
    text = render_answer(Answer(answered=False, confidence=0.8, reason="not_covered",
                                hits=(Hit(passage=PASSAGE, score=1.0),)))
    assert text.startswith(NOT_COVERED)
    assert "Zoom shares data with vendors." in text and "Zoom Privacy — Sharing" in text
