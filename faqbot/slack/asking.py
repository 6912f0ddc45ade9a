"""A question as typed in Slack → a ``Reply``: cleaned, answered, counted, logged by hash.

Nothing here keeps a question: it lives in local variables for one call and only its keyed
hash reaches a log line.
"""

from __future__ import annotations

import logging
import re
import time

from faqbot.answerer import Answerer
from faqbot.catalog import Catalog
from faqbot.models import Answer
from faqbot.personal_data import find_personal_data
from faqbot.privacy import question_hash
from faqbot.search import RankingConfig, has_words
from faqbot.slack.counters import Gaps, Outcomes
from faqbot.slack.types import Reply

log = logging.getLogger("faqbot.slack")

#: The engine reads this much of a question; the rest is dropped before it gets there.
MAX_QUESTION_CHARS = RankingConfig.max_query_chars
#: How much of a message personal-data detection looks at.
SCAN_CHARS = 10_000

_SLACK_MARKUP = re.compile(r"<[@!#][^>]{0,200}>")  # <@U…>, <!here>, <#C…|name>
_OPT_OUT = re.compile(r"\bopt(?:ing)?[\s-]?outs?\b|\boptout\b", re.IGNORECASE)
_ASKING = re.compile(
    r"\b(how|can|could|may|want|wanna|would like|need|help|steps?|request|guide|process|"
    r"let me|please)\b",
    re.IGNORECASE,
)


def clean_question(text: str) -> str:
    """Strip Slack mentions and control characters, collapse whitespace, cut to the limit."""
    text = _SLACK_MARKUP.sub(" ", text[: MAX_QUESTION_CHARS * 4])
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())[:MAX_QUESTION_CHARS]


def wants_opt_out(text: str) -> bool:
    """True for 'how do I opt out', 'I want to opt-out', 'optout?': opt out plus asking."""
    stripped = text.strip(" \t\n?!.").lower()
    if not _OPT_OUT.search(stripped):
        return False
    return bool(_OPT_OUT.fullmatch(stripped) or _ASKING.search(stripped))


class Asker:
    """Answers Slack questions with ``answerer`` (``top_k`` passages) and counts outcomes."""

    def __init__(self, answerer: Answerer, catalog: Catalog, outcomes: Outcomes, *,
                 top_k: int, hash_key: str | None, gaps: Gaps | None = None) -> None:
        self.answerer = answerer
        self.catalog = catalog
        self.outcomes = outcomes
        self.gaps = gaps or Gaps()
        self.top_k = top_k
        self._hash_key = hash_key

    def hash(self, text: str) -> str:
        """The keyed hash of a question, for log lines."""
        return question_hash(text, self._hash_key)

    def question_id(self, raw: str) -> str:
        """The log hash of a question as typed (the same one ``ask`` logs)."""
        return self.hash(clean_question(raw))

    def ask(self, raw: str, *, via: str, user: str | None = None) -> Reply:
        """Answer a question as typed in Slack (mentions stripped, cut to the engine's limit)."""
        started = time.perf_counter()
        personal = tuple(find_personal_data(raw[:SCAN_CHARS]))
        question = clean_question(raw)
        qhash = self.hash(question)
        words = has_words(question)
        answer = self.answerer.answer(question, self.top_k)
        self.outcomes.record(answer.answered, answer.faq.id if answer.faq else None)
        if words:
            self.gaps.record_decline(answer)
        reply = Reply(answer=answer, personal=personal, has_words=words,
                      opt_out=words and wants_opt_out(question), qhash=qhash)
        log.info(
            "question via=%s user=%s q=%s chars=%d answered=%s faq=%s conf=%.2f personal=%s "
            "ms=%.0f", via, user or "-", qhash, len(question), answer.answered,
            answer.faq.id if answer.faq else "-", answer.confidence, ",".join(personal) or "-",
            (time.perf_counter() - started) * 1000,
        )
        return reply

    def answer_faq(self, faq_id: str | None) -> Answer | None:
        """The answer to one of the FAQ's own questions (a button click); None if unknown."""
        entry = self.catalog.faq_entry(faq_id)
        if entry is None:
            return None
        return self.answerer.answer(entry.question, self.top_k)
