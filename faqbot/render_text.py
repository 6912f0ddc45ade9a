"""Answers as a person reads them in a terminal."""

from __future__ import annotations

import textwrap

from faqbot.declines import DECLINE, NOT_COVERED, decline_text
from faqbot.models import Answer, Hit

__all__ = ["DECLINE", "NOT_COVERED", "citation", "decline_text", "render_answer"]

def citation(hit: Hit) -> str:
    """'Title — Section · date · kind · url' for one passage."""
    p = hit.passage
    parts = [p.title + (f" — {p.section}" if p.section else "")]
    parts += [x for x in (p.date, p.kind, p.url) if x]
    return " · ".join(parts)


def render_answer(answer: Answer, width: int = 88) -> str:
    """A cited answer, or a polite decline with related questions."""
    if not answer.answered:
        lines = [decline_text(answer)]
        if answer.related:
            if answer.reason != "language":
                lines.append("Related questions I can answer:")
            lines += [f"  - {e.question}" for e in answer.related]
        if answer.reason == "not_covered":
            for n, hit in enumerate(answer.hits, start=1):
                quoted = " ".join(hit.passage.text.split())
                lines += textwrap.wrap(f"“{quoted}”", width, initial_indent=f"[{n}] ",
                                       subsequent_indent="    ")
                lines.append(f"    — {citation(hit)}")
        return "\n".join(lines)
    lines = []
    if answer.faq is not None:
        lines.append(answer.faq.question)
        lines += textwrap.wrap(answer.faq.answer, width, initial_indent="  ",
                               subsequent_indent="  ")
        lines.append("")
        lines.append("Sources:")
    for n, hit in enumerate(answer.hits, start=1):
        text = hit.passage.text
        if hit.highlight is not None:  # the sentence that answers, between » «
            s, e = hit.highlight
            text = f"{text[:s]}»{text[s:e]}«{text[e:]}"
        quoted = " ".join(text.split())
        lines += textwrap.wrap(f"“{quoted}”", width, initial_indent=f"[{n}] ",
                               subsequent_indent="    ")
        lines.append(f"    — {citation(hit)}")
        if hit.passage.superseded_by:
            replaced = hit.passage.superseded_by_title or hit.passage.superseded_by
            lines.append(f"    (superseded by: {replaced})")
    lines.append(f"(confidence {answer.confidence:.2f})")
    return "\n".join(lines)
