"""Wiring shared by the CLI and the Slack app: knowledge + model + index → a ready Engine."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from faqbot.embedding import Embedder, load_embedder
from faqbot.errors import FaqbotError, KnowledgeError, Problem, StoreError
from faqbot.index import BuildReport, IndexStore
from faqbot.search import Engine, RankingConfig
from faqbot.settings import Settings
from faqbot.sources import Knowledge, load_knowledge, servable

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
#: How long a replica waits for another one's build (at start-up, on a reload) before it
#: calls the lock a failure: a build of a large folder with the real model takes minutes.
BUILD_WAIT_S = 300.0


def index_store(settings: Settings) -> IndexStore:
    """The index folder of ``settings``; with ``FAQBOT_REDIS_URL`` its builds also take the
    Redis lock, so replicas on several hosts sharing the folder build one at a time."""
    if settings.redis_url is None:
        return IndexStore(settings.index_dir)
    from faqbot.state.shared import RedisLock, connect

    return IndexStore(settings.index_dir,
                      shared_lock=RedisLock(connect(settings.redis_url.get_secret_value())))


def ranking_config(settings: Settings) -> RankingConfig:
    """The ranking defaults, with the operator's threshold override if any."""
    multilingual = (settings.multilingual if settings.multilingual is not None
                    else "multilingual" in settings.embedding_model.casefold())
    if settings.min_confidence is None:
        return RankingConfig(multilingual=multilingual)
    return RankingConfig(min_confidence=settings.min_confidence, multilingual=multilingual)


@dataclass(frozen=True)
class StartupNotice:
    """Knowledge files in error at start-up, and what is served instead; for the admins."""

    problems: tuple[Problem, ...]  # the errors, each with its file and line
    served: str  # "the other files" or "the last good index (<version>)"

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.path for p in self.problems))

    def text(self) -> str:
        """The message for the admins: what is wrong, where, and what is served meanwhile."""
        listing = "\n".join(str(p) for p in self.problems)
        return (f"faqbot started with {len(self.files)} knowledge file(s) in error and serves "
                f"{self.served} until they are fixed (run 'faqbot check').\n{listing}")


def index_serves_good_files(store: IndexStore, kb: Knowledge, model_id: str) -> bool:
    """Whether the current index was built from ``kb``'s files (a :func:`servable` result).

    True when every good file is in the index as it is now and every other file in the index
    is one of ``kb.skipped``'s: the index then holds the last good version of each broken file,
    and keeping it loses nothing. A reload can use this the way start-up does.
    """
    manifest = store.read_manifest()
    if manifest is None or manifest.get("model_id") != model_id:
        return False
    files: dict[str, str] = manifest.get("files") or {}
    skipped = {p.path.removesuffix(".meta.yml") for p in kb.skipped}
    return (all(files.get(rel) == digest for rel, digest in kb.file_hashes.items())
            and all(rel in kb.file_hashes or rel in skipped for rel in files))


def update_index(
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    wait_s: float = 0.0,
) -> BuildReport | None:
    """Bring the index up to date with the knowledge folder; None when it already was.

    Raises KnowledgeError for a broken folder (the index in service is left untouched): this
    is `faqbot index`, where an admin wants the error. Start-up is lenient (:func:`open_engine`).
    With ``wait_s``, another build holding the lock is waited for, and what it built is used
    when it matches the folder (replicas starting together build once).
    """
    kb = load_knowledge(settings.knowledge_dir)
    kb.raise_for_errors()
    store = index_store(settings)
    if not rebuild and store.stale_reason(kb, embedder.model_id) is None:
        try:
            store.load()
            return None
        except StoreError as exc:
            log.warning("index unreadable, rebuilding: %s", exc)
            rebuild = True
    if not rebuild and wait_s > 0:
        report = store.build_if_stale(kb, embedder, wait_s=wait_s, progress=progress)
        if report is None:
            log.info("index version %s was built by another process meanwhile; using it",
                     store.current_name())
        return report
    return store.build(kb, embedder, rebuild=rebuild, progress=progress)


def check_startup(settings: Settings) -> StartupNotice | None:
    """Whether :func:`open_engine` can serve, without loading the model (a fail-fast check).

    Returns None for a clean folder, a StartupNotice when files are in error but the other
    files or an index on disk can be served; raises KnowledgeError when nothing can be.
    """
    kb = load_knowledge(settings.knowledge_dir)
    if not kb.errors:
        return None
    good = servable(kb)
    problems = tuple(good.skipped or kb.errors)
    if not good.errors and (good.documents or good.faq):
        return StartupNotice(problems, "the other files")
    store = IndexStore(settings.index_dir)
    if store.read_manifest() is not None:
        return StartupNotice(problems, f"the last good index ({store.current_name()})")
    raise KnowledgeError(list(kb.errors))


def _startup_index(
    settings: Settings, embedder: Embedder, progress: Progress | None
) -> tuple[BuildReport | None, StartupNotice | None]:
    """Update the index for start-up; a file in error never means no service.

    With files in error: the index on disk is kept when it was built from the same good files
    (it still holds the last good version of the broken ones); otherwise the good files are
    indexed without the broken ones. If nothing can be built, the last good index on disk is
    served. KnowledgeError only when there is neither a good file nor an index to serve.
    """
    kb = load_knowledge(settings.knowledge_dir)
    if not kb.errors:
        # replicas started together: one builds, the others wait for it and use its version
        wait_s = BUILD_WAIT_S if settings.follows_index else 0.0
        return update_index(settings, embedder, progress=progress, wait_s=wait_s), None
    good = servable(kb)
    store = index_store(settings)
    problems = tuple(good.skipped or kb.errors)
    if not good.errors and index_serves_good_files(store, good, embedder.model_id):
        try:
            name = store.load().name
            return None, StartupNotice(problems, f"the last good index ({name})")
        except StoreError as exc:
            log.warning("index unreadable, rebuilding from the good files: %s", exc)
    if not good.errors and (good.documents or good.faq):
        try:
            report = store.build(good, embedder, progress=progress)
            return report, StartupNotice(problems, "the other files")
        except (FaqbotError, OSError) as exc:  # a full disk, another build: serve what is there
            if store.current_name() is None:
                raise
            log.warning("could not index the good files (%s); serving the index on disk",
                        exc.__class__.__name__)
    if store.current_name() is not None:
        try:
            name = store.load().name
            return None, StartupNotice(problems, f"the last good index ({name})")
        except StoreError:
            pass
    raise KnowledgeError(list(kb.errors))


def open_engine(
    settings: Settings,
    embedder: Embedder | None = None,
    *,
    progress: Progress | None = None,
    on_build: Callable[[BuildReport], None] | None = None,
    on_notice: Callable[[StartupNotice], None] | None = None,
    eager: bool = True,
) -> Engine:
    """Load the model, update the index if stale or corrupt, and return a ready Engine.

    Knowledge files in error do not stop the start: the rest is served (see
    :func:`_startup_index`), a warning naming each file and line is logged, and ``on_notice``
    gets a :class:`StartupNotice` to tell the admins. KnowledgeError only when nothing at
    all can be served. ``eager=False``: the engine does not prepare snapshots for ranking (a
    server that answers in the answer worker; see :class:`faqbot.search.Engine`).
    """
    embedder = embedder or load_embedder(settings.embedding_model)
    report, notice = _startup_index(settings, embedder, progress)
    if report is not None and on_build is not None:
        on_build(report)
    if notice is not None:
        for problem in notice.problems:
            log.warning("not served until fixed: %s", problem)
        log.warning("serving %s while %d knowledge file(s) are in error", notice.served,
                    len(notice.files))
        if on_notice is not None:
            on_notice(notice)
    snapshot = IndexStore(settings.index_dir).load()
    engine = Engine(embedder=embedder, snapshot=snapshot, config=ranking_config(settings),
                    eager=eager)
    engine.swap(snapshot)  # prepares keyword index and FAQ map before the first question
    return engine
