"""Is a message asking for this workspace's own opt-out status, or about opting out at all?

Checked in the Slack layer, before the reply is rendered, so the live status can go first.
The check looks at the text in hand and keeps nothing.
"""

from __future__ import annotations

import re

from faqbot.models import FaqEntry

_PLACE = r"(?:company|workspace|org|organi[sz]ation|team)"
_WE = rf"(?:we|us|our|ours|my {_PLACE}|this {_PLACE})"
#: "have we opted out?", "did our company opt out", "are we excluded from the global models"
_STATUS = re.compile(
    rf"\b(?:have|has|did|are|is|were|was)\s+{_WE}\b.{{0,40}}?"
    r"\b(?:opt(?:ed)?[\s-]?out|excluded|exempt(?:ed)?)\b"
    rf"|\b{_WE}\s+(?:{_PLACE}\s+)?(?:opt[\s-]?out\s+)?status\b"
    rf"|\b{_WE}\s+{_PLACE}\s+(?:been\s+)?(?:opted[\s-]?out|excluded)\b"
    r"|\bopt[\s-]?out\s+status\b",
    re.IGNORECASE | re.DOTALL,
)
_OPT_OUT_WORDS = re.compile(r"\bopt(?:ed|ing)?[\s-]?outs?\b|\boptout\b", re.IGNORECASE)


def asks_status(text: str) -> bool:
    """True for 'have we opted out?', 'is our workspace excluded from the global models?',
    'what is our opt-out status' (the workspace's own status, not how to do it)."""
    return bool(_STATUS.search(" ".join(text.split())[:500]))


def about_opting_out(faq: FaqEntry | None) -> bool:
    """True when the matched FAQ entry is one of the opt-out answers."""
    if faq is None:
        return False
    return "opt-out" in faq.id or bool(_OPT_OUT_WORDS.search(faq.question))
