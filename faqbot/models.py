"""Typed records that cross module boundaries: documents, passages, FAQ entries, answers."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Kind = Literal["policy", "official", "faq", "news", "internal"]

#: Lower is more authoritative: policy > official statement > FAQ/internal > news.
AUTHORITY: dict[str, int] = {"policy": 0, "official": 1, "faq": 2, "internal": 2, "news": 3}

_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def check_partial_date(value: object) -> str | None:
    """Accept YYYY, YYYY-MM or YYYY-MM-DD (YAML may hand us a date or an int)."""
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if not _PARTIAL_DATE.match(text):
        raise ValueError("date must be YYYY, YYYY-MM or YYYY-MM-DD")
    parts = [int(p) for p in text.split("-")]
    dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    return text


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DocumentMeta(BaseModel):
    """Front matter of a knowledge document; unknown keys are kept in ``extra``."""

    model_config = ConfigDict(frozen=True, extra="allow")

    title: str = Field(min_length=1)
    url: str | None = None
    kind: Kind = "internal"
    date: str | None = None
    superseded_by: str | None = None
    owner: str | None = None
    review_by: dt.date | None = None

    _check_date = field_validator("date", mode="before")(check_partial_date)

    @property
    def extra(self) -> dict[str, Any]:
        """Front-matter keys faqbot does not know, kept as they were."""
        return dict(self.__pydantic_extra__ or {})


class Section(Frozen):
    """A run of a document's text under one heading path."""

    path: tuple[str, ...]
    start: int
    end: int
    line: int


class Document(Frozen):
    """A readable knowledge document: metadata, its plain text and its sections."""

    path: str  # relative to the knowledge folder, forward slashes
    meta: DocumentMeta
    text: str
    sections: tuple[Section, ...]


class Passage(Frozen):
    """A chunk of a section, small enough for the model, with everything a citation needs."""

    id: str
    doc: str
    title: str
    section: str  # heading path joined with " > "; "" for text before the first heading
    url: str | None
    date: str | None
    kind: Kind
    superseded_by: str | None = None
    superseded_by_title: str | None = None
    text: str
    start: int
    end: int


class SourceRef(Frozen):
    """A document and section that an FAQ answer or the opt-out procedure rests on."""

    doc: str
    section: str


class FaqEntry(Frozen):
    """A curated question with its phrasings, a short answer and its sources."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    question: str = Field(min_length=3)
    variants: tuple[str, ...] = ()
    answer: str = Field(min_length=1)
    sources: tuple[SourceRef, ...] = Field(min_length=1)

    @property
    def phrasings(self) -> tuple[str, ...]:
        return (self.question, *self.variants)


class OptOutProcedure(Frozen):
    """How a workspace leaves Slack's global model training, as the DM flow walks through it."""

    who_can_request: tuple[str, ...] = Field(min_length=1)
    members_note: str
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    subject: str = Field(min_length=3)
    include: tuple[str, ...] = Field(min_length=1)
    body_template: str
    what_happens_next: tuple[str, ...] = Field(min_length=1)
    not_stated: tuple[str, ...] = ()
    sources: tuple[SourceRef, ...] = Field(min_length=1)
    last_verified: dt.date

    @field_validator("body_template")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        import string

        names = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
        unknown = names - {"workspace_url", "workspace_name"}
        if unknown:
            raise ValueError(
                f"body_template may use {{workspace_url}} and {{workspace_name}} only, "
                f"not {', '.join(sorted(unknown))}"
            )
        return value

    def email_body(self, workspace_url: str, workspace_name: str) -> str:
        """The ready email body for one workspace."""
        return self.body_template.format(workspace_url=workspace_url, workspace_name=workspace_name)


class Hit(Frozen):
    """A ranked passage: fused score plus the signals it came from."""

    passage: Passage
    score: float
    dense: float = 0.0
    keyword: float = 0.0
    #: (start, end) in ``passage.text`` of the sentence that best matches the question
    highlight: tuple[int, int] | None = None


class Answer(Frozen):
    """The bot's reply to one question. Holds no copy of the question."""

    answered: bool
    confidence: float
    faq: FaqEntry | None = None
    hits: tuple[Hit, ...] = ()
    related: tuple[FaqEntry, ...] = ()  # FAQ entries to suggest, e.g. when declining
    #: why a question was declined (None on an answer): "out_of_scope" (not what the
    #: documents are about), "action" (a request to post or write something), "other_subject"
    #: (a company the documents don't cover), "not_covered" (on topic, but the documents
    #: don't say: ``hits`` are related reading), "language" (not the documents' language),
    #: "empty" (nothing to search)
    reason: str | None = None
    #: the companies the documents cover, named in an "other_subject" reply
    covers: tuple[str, ...] = ()
    #: the question's language code, for a "language" reply
    language: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` contract."""
        return {
            "answered": self.answered,
            "confidence": round(self.confidence, 4),
            "reason": self.reason,
            "faq": (
                None
                if self.faq is None
                else {"id": self.faq.id, "question": self.faq.question, "answer": self.faq.answer}
            ),
            "passages": [
                {
                    "doc": h.passage.doc,
                    "title": h.passage.title,
                    "section": h.passage.section,
                    "url": h.passage.url,
                    "date": h.passage.date,
                    "kind": h.passage.kind,
                    "text": h.passage.text,
                    "score": round(h.score, 4),
                }
                for h in self.hits
            ],
        }
