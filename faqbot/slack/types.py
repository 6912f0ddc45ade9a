"""The small types the Slack layer passes between its parts (no Slack or Block Kit in them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from faqbot.models import Answer
from faqbot.reload import ReloadStatus

#: Passages shown under one answer (and carried in a button value).
MAX_PASSAGES = 3

Role = Literal["owner", "member", "unknown"]


@dataclass(frozen=True)
class Workspace:
    """The workspace the bot is installed in, from ``auth.test``."""

    url: str
    name: str


@dataclass(frozen=True)
class Reply:
    """What the bot worked out about one question; holds no copy of it."""

    answer: Answer
    personal: tuple[str, ...]  # kinds of personal data seen, e.g. ("email",)
    has_words: bool
    opt_out: bool  # the question asks how to opt out
    qhash: str  # keyed 8-hex hash, for log lines only


@dataclass(frozen=True)
class StaleDocument:
    """A document whose ``review_by`` date has passed."""

    path: str
    title: str
    review_by: str


@dataclass(frozen=True)
class AdminStatus:
    """Everything ``/privacy admin status`` shows; counts and metadata only."""

    version: str
    built_at: str | None  # the manifest's ``created`` (UTC, ISO 8601)
    documents: int
    passages: int
    faq_entries: int
    model_id: str
    reload: ReloadStatus | None  # None when hot reload is not running in this process
    answered: int
    declined: int
    feedback: dict[str, dict[str, int]] = field(default_factory=dict)  # id -> verdict -> n
    stale: tuple[StaleDocument, ...] = ()
