"""What the listeners share: the engine, click counters, event de-duplication, and the two
Slack look-ups the opt-out flow needs. Nothing here keeps a question: it lives in local
variables for one call and only its keyed hash reaches a log line.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from faqbot.answerer import Answerer, LocalAnswerer
from faqbot.models import Answer, FaqEntry, Hit
from faqbot.passages import find_passage
from faqbot.privacy import describe_exception, find_personal_data, question_hash
from faqbot.reload import Reloader
from faqbot.search import Engine, has_words
from faqbot.settings import Settings
from faqbot.slack.blocks import MAX_PASSAGES, Role, Workspace
from faqbot.slack.dedupe import EventDeduper

log = logging.getLogger("faqbot.slack")

#: The engine reads about this much (RankingConfig.max_query_chars); the rest is dropped first.
MAX_QUESTION_CHARS = 2_000
#: How much of a message personal-data detection looks at.
SCAN_CHARS = 10_000
#: Questions waiting for an answer beyond this many get a "busy, ask again" reply at once
#: (minutes of work at the measured answer rate; Slack's response_url lasts 30 minutes).
MAX_QUEUED = 1_000

_SLACK_MARKUP = re.compile(r"<[@!#][^>]{0,200}>")  # <@U…>, <!here>, <#C…|name>
_OPT_OUT = re.compile(r"\bopt(?:ing)?[\s-]?outs?\b|\boptout\b", re.IGNORECASE)
_ASKING = re.compile(
    r"\b(how|can|could|may|want|wanna|would like|need|help|steps?|request|guide|process|"
    r"let me|please)\b",
    re.IGNORECASE,
)
_ERROR_CODE = re.compile(r"^[a-z_]{1,60}$")


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


def role_of(user: dict[str, Any]) -> Role:
    """'owner' for workspace, primary or org owners (from ``users.info``), else 'member'."""
    enterprise = user.get("enterprise_user") or {}
    if (user.get("is_owner") or user.get("is_primary_owner") or user.get("is_org_owner")
            or enterprise.get("is_owner")):
        return "owner"
    return "member"


def slack_error_code(exc: BaseException) -> str:
    """Slack's short error code ('ratelimited', 'channel_not_found') or '-'; never a message."""
    if isinstance(exc, SlackApiError):
        code = exc.response.get("error") if exc.response is not None else None
        if isinstance(code, str) and _ERROR_CODE.match(code):
            return code
    return "-"


@dataclass(frozen=True)
class Reply:
    """What the bot worked out about one question; holds no copy of it."""

    answer: Answer
    personal: tuple[str, ...]  # kinds of personal data seen, e.g. ("email",)
    has_words: bool
    opt_out: bool  # the question asks how to opt out
    qhash: str  # keyed 8-hex hash, for log lines only


class Feedback:
    """Helpful / not-helpful counts per FAQ id and passage id. Counts only: no users, no text."""

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

    Counts only, in memory: no users, no text. The FAQ counts order the "common topics".
    """

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._topics: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, answered: bool, faq_id: str | None = None) -> None:
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


class Bot:
    """The engine plus the little state the Slack layer keeps (counts and event ids).

    ``reloader`` is the hot-reload watcher when the bot runs from ``runner.build`` (None in
    an app made by ``create_app`` alone): the admin commands use it. ``answerer`` computes the
    answers: the server's worker process, or by default this process (``LocalAnswerer``).
    """

    def __init__(self, settings: Settings, engine: Engine, deduper: EventDeduper | None = None,
                 answerer: Answerer | None = None):
        self.settings = settings
        self.engine = engine
        self.feedback = Feedback()
        self.outcomes = Outcomes()
        self.reloader: Reloader | None = None
        self.deduper = deduper or EventDeduper()
        self.top_k = min(settings.top_k, MAX_PASSAGES)
        # answering is CPU work: in the server it runs in a worker process (acks never wait
        # for it); in process, at most listener_threads at once, after the ack has gone out
        self.answerer = answerer or LocalAnswerer(engine)
        # the work after an ack (answer, render, deliver) runs here, so Bolt's listener threads
        # are free again at once: a burst of questions queues here, never in front of acks
        self._after_ack = ThreadPoolExecutor(max_workers=settings.listener_threads,
                                             thread_name_prefix="faqbot-answer")
        self._queued = 0
        self._hash_key = settings.hash_key.get_secret_value() if settings.hash_key else None
        self._workspace: Workspace | None = None
        self._lock = threading.Lock()

    def later(self, what: str, work: Callable[[], None], busy: Callable[[], None]) -> None:
        """Run ``work`` on the answer threads after the ack; ``busy()`` now if too many wait.

        ``work`` handles its own errors (it tells the user); anything escaping it is logged
        by class and place only.
        """
        with self._lock:
            full = self._queued >= MAX_QUEUED
            if not full:
                self._queued += 1
        if full:
            log.warning("%s: %d questions queued, replying busy", what, MAX_QUEUED)
            try:
                busy()
            except Exception as exc:
                self.failed(f"{what} (busy notice)", exc)
            return

        def run() -> None:
            try:
                work()
            except Exception as exc:
                self.failed(what, exc)
            finally:
                with self._lock:
                    self._queued -= 1

        try:
            self._after_ack.submit(run)
        except RuntimeError:  # shutting down
            with self._lock:
                self._queued -= 1

    @property
    def queued(self) -> int:
        """Questions acked and not answered yet."""
        with self._lock:
            return self._queued

    def close(self) -> None:
        """Finish the questions in hand, drop the queued ones, stop the answerer."""
        self._after_ack.shutdown(wait=True, cancel_futures=True)
        self.answerer.close()

    def is_admin(self, user_id: str | None) -> bool:
        """True for the user ids in ``FAQBOT_ADMIN_USER_IDS``."""
        return bool(user_id) and user_id in self.settings.admin_user_ids

    # -- questions -------------------------------------------------------------------------------

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
        entry = self.engine.snapshot.faq_entry(faq_id) if faq_id else None
        if entry is None:
            return None
        return self.answerer.answer(entry.question, self.top_k)

    def answer_from_refs(self, faq_id: str | None, passage_ids: Sequence[str]) -> Answer | None:
        """Re-build an answer from ids in the current snapshot; None when none of them exist."""
        snapshot = self.engine.snapshot
        faq = snapshot.faq_entry(faq_id) if faq_id else None
        found = (find_passage(snapshot.passages, p) for p in passage_ids)
        hits = tuple(Hit(passage=p, score=0.0) for p in found if p is not None)
        if faq is None and not hits:
            return None
        return Answer(answered=True, confidence=1.0, faq=faq, hits=hits)

    # -- Slack look-ups ----------------------------------------------------------------------------

    def role(self, client: WebClient, user_id: str | None) -> Role:
        """'owner' or 'member' from ``users.info``; 'unknown' when Slack cannot tell us."""
        if not user_id:
            return "unknown"
        try:
            response = client.users_info(user=user_id)
        except Exception as exc:
            self.failed("users.info", exc)
            return "unknown"
        user = response.get("user")
        return role_of(user) if isinstance(user, dict) else "unknown"

    def workspace(self, client: WebClient) -> Workspace | None:
        """Workspace URL and name from ``auth.test``, cached once known (it is not user data)."""
        with self._lock:
            if self._workspace is not None:
                return self._workspace
        try:
            response = client.auth_test()
        except Exception as exc:
            self.failed("auth.test", exc)
            return None
        url, name = response.get("url"), response.get("team")
        if not (isinstance(url, str) and isinstance(name, str)):
            return None
        with self._lock:
            self._workspace = Workspace(url=url, name=name)
            return self._workspace

    # -- errors ------------------------------------------------------------------------------------

    def failed(self, what: str, exc: BaseException, qhash: str = "-") -> None:
        """Log a failure by class, place and Slack error code only: never its message."""
        log.warning("%s failed: %s slack_error=%s q=%s", what, describe_exception(exc),
                    slack_error_code(exc), qhash)
