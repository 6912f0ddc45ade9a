"""What one loaded index version holds, what the bot shows of a document, a build's report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from faqbot.late import TokenStore
from faqbot.models import DocumentMeta, FaqEntry, OptOutProcedure, Passage


@dataclass(frozen=True)
class DocInfo:
    """What the bot shows about a document without its text (App Home, status, citations)."""

    path: str
    title: str
    url: str | None
    kind: str
    date: str | None
    superseded_by: str | None
    review_by: str | None

    @classmethod
    def from_meta(cls, path: str, meta: DocumentMeta) -> DocInfo:
        return cls(path, meta.title, meta.url, meta.kind, meta.date, meta.superseded_by,
                   meta.review_by.isoformat() if meta.review_by else None)


@dataclass
class Snapshot:
    """One loaded index version: everything a question is answered from.

    The fields are never reassigned. ``extras`` is the one exception to "read only":
    faqbot.search fills it once per snapshot with what it derives from the passages (the
    prepared keyword index, a "token file unreadable" flag), so those live and die with
    the version.
    """

    name: str
    manifest: dict[str, Any]
    passages: Sequence[Passage]  # a PassageTable when loaded from disk
    passage_index: Any  # faiss.Index over passage vectors, row i = passages[i]
    faq: list[FaqEntry]
    faq_rows: list[tuple[str | None, str]]  # (faq id, phrasing) per row of faq_index;
    # rows with id None are out-of-scope examples: questions the bot should decline
    faq_index: Any
    documents: list[DocInfo]
    opt_out: OptOutProcedure | None
    extras: dict[str, Any] = field(default_factory=dict)  # filled by faqbot.search
    tokens: TokenStore | None = None  # content-token vectors per passage (faqbot.late)

    @property
    def model_id(self) -> str:
        return str(self.manifest["model_id"])

    def faq_entry(self, faq_id: str) -> FaqEntry | None:
        return next((e for e in self.faq if e.id == faq_id), None)


@dataclass(frozen=True)
class BuildReport:
    """What a build did, for the one-line summary."""

    version: str
    files: int
    passages: int
    added: int
    changed: int
    removed: int
    embedded: int
    seconds: float
    rebuilt_from_scratch: bool = False
    reason: str = ""

    def summary(self) -> str:
        kind = "full build" if self.rebuilt_from_scratch else "update"
        why = f" ({self.reason})" if self.reason else ""
        return (
            f"{kind}{why}: {self.files} files, {self.passages} passages; "
            f"{self.added} added, {self.changed} changed, {self.removed} removed; "
            f"{self.embedded} texts embedded in {self.seconds:.1f} s"
        )
