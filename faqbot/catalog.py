"""The read API the edges use over the engine: what is in service, and look-ups by id.

The Slack layer and the admin report read the knowledge through this, never through the
engine's snapshot. Each call reads the snapshot in service once, so one result is consistent
even when a reload swaps the snapshot meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from faqbot.index import DocInfo, Snapshot
from faqbot.models import Answer, FaqEntry, Hit, OptOutProcedure
from faqbot.passages import find_passage


class Serving(Protocol):
    """Anything with a snapshot in service (the engine)."""

    @property
    def snapshot(self) -> Snapshot: ...


@dataclass(frozen=True)
class CatalogView:
    """The metadata of one index version: documents, FAQ, opt-out procedure, counts."""

    version: str
    built_at: str | None  # the manifest's ``created`` (UTC, ISO 8601)
    model_id: str
    documents: Sequence[DocInfo]
    faq: Sequence[FaqEntry]  # in the curated order
    opt_out: OptOutProcedure | None
    passages: int

    @classmethod
    def of(cls, snapshot: Snapshot) -> CatalogView:
        """The view of one snapshot (shares its lists; copies nothing)."""
        created = snapshot.manifest.get("created")
        return cls(version=snapshot.name,
                   built_at=created if isinstance(created, str) else None,
                   model_id=snapshot.model_id, documents=snapshot.documents,
                   faq=snapshot.faq, opt_out=snapshot.opt_out,
                   passages=len(snapshot.passages))


class Catalog:
    """Reads over the engine's snapshot in service."""

    def __init__(self, engine: Serving) -> None:
        self._engine = engine

    def view(self) -> CatalogView:
        """The metadata of the version in service now."""
        return CatalogView.of(self._engine.snapshot)

    def faq_entry(self, faq_id: str | None) -> FaqEntry | None:
        """The FAQ entry with this id in the version in service; None if unknown."""
        return self._engine.snapshot.faq_entry(faq_id) if faq_id else None

    def answer_from_refs(self, faq_id: str | None, passage_ids: Sequence[str]) -> Answer | None:
        """An answer re-built from ids (a button value); None when none of them exist now.

        Unknown ids are dropped; the passages keep the order of ``passage_ids``.
        """
        snapshot = self._engine.snapshot
        faq = snapshot.faq_entry(faq_id) if faq_id else None
        found = (find_passage(snapshot.passages, p) for p in passage_ids)
        hits = tuple(Hit(passage=p, score=0.0) for p in found if p is not None)
        if faq is None and not hits:
            return None
        return Answer(answered=True, confidence=1.0, faq=faq, hits=hits)
