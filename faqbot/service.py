"""Wiring shared by the CLI and the Slack app: knowledge + model + index → a ready Engine."""

from __future__ import annotations

import logging
from collections.abc import Callable

from faqbot.embedding import Embedder, load_embedder
from faqbot.errors import StoreError
from faqbot.index import BuildReport, IndexStore
from faqbot.search import Engine, RankingConfig
from faqbot.settings import Settings
from faqbot.sources import load_knowledge

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def ranking_config(settings: Settings) -> RankingConfig:
    """The ranking defaults, with the operator's threshold override if any."""
    multilingual = (settings.multilingual if settings.multilingual is not None
                    else "multilingual" in settings.embedding_model.casefold())
    if settings.min_confidence is None:
        return RankingConfig(multilingual=multilingual)
    return RankingConfig(min_confidence=settings.min_confidence, multilingual=multilingual)


def update_index(
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> BuildReport | None:
    """Bring the index up to date with the knowledge folder; None when it already was.

    Raises KnowledgeError for a broken folder (the index in service is left untouched).
    """
    kb = load_knowledge(settings.knowledge_dir)
    kb.raise_for_errors()
    store = IndexStore(settings.index_dir)
    if not rebuild and store.stale_reason(kb, embedder.model_id) is None:
        try:
            store.load()
            return None
        except StoreError as exc:
            log.warning("index unreadable, rebuilding: %s", exc)
            rebuild = True
    return store.build(kb, embedder, rebuild=rebuild, progress=progress)


def open_engine(
    settings: Settings,
    embedder: Embedder | None = None,
    *,
    progress: Progress | None = None,
    on_build: Callable[[BuildReport], None] | None = None,
) -> Engine:
    """Load the model, update the index if stale or corrupt, and return a ready Engine."""
    embedder = embedder or load_embedder(settings.embedding_model)
    report = update_index(settings, embedder, progress=progress)
    if report is not None and on_build is not None:
        on_build(report)
    snapshot = IndexStore(settings.index_dir).load()
    engine = Engine(embedder=embedder, snapshot=snapshot, config=ranking_config(settings))
    engine.swap(snapshot)  # prepares keyword index and FAQ map before the first question
    return engine
