"""Where answers are computed: in this process, or in a separate, lower-priority worker process.

Answering is CPU work (the model encodes the question, then ranking runs in Python), and a
Python process runs one thread at a time. In the Slack server, the same process must ack every
request within Slack's 3 seconds; with answers computed beside the acks, acks waited for the
interpreter lock and the cores (measured: ack p99 about 1 s at 20 commands in flight). So the
server computes answers in one worker process of its own, started with a higher nice value:
acks are served by a process that mostly waits on sockets, and the kernel gives it the cores
first when both want them. Answers queue in the worker; acks do not.

The worker is the only process of a replica that holds the model (the server does not import
torch): the server's index builds embed through it (``faqbot.worker_embedder``), one batch per
call, so questions interleave with a build's batches. The worker loads the model and the index
version named by ``CURRENT`` in the index folder, and follows it: before each question it
checks ``CURRENT`` (one small file read) and loads the new version when the server has
reloaded or rolled back. The question crosses a local pipe to the worker and the Answer comes
back; neither is written anywhere. A failure inside the worker comes back as
:class:`AnswerWorkerError` carrying only the exception's class and place.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from faqbot.embedding import Embedder, SentenceTransformerEmbedder
from faqbot.errors import FaqbotError, StoreError
from faqbot.models import Answer
from faqbot.search import Engine, RankingConfig
from faqbot.settings import Settings
from faqbot.snapshot import Snapshot

log = logging.getLogger(__name__)

#: How much lower the worker's priority is than the server's (``nice`` adds this).
WORKER_NICENESS = 10
#: An answer not back after this long is given up (the user gets the friendly error).
ANSWER_TIMEOUT_S = 300.0
#: Start-up (model + index load) must finish within this long.
START_TIMEOUT_S = 600.0
#: How often the worker checks that the server that started it is still there.
PARENT_CHECK_S = 0.5


class AnswerWorkerError(FaqbotError):
    """The answer worker failed: the message names the exception class and place only."""


class Answerer(Protocol):
    """Turns a cleaned question into an Answer."""

    def answer(self, question: str, top_k: int) -> Answer: ...

    def close(self) -> None: ...


class LocalAnswerer:
    """Answers in the calling thread (the Slack bot bounds how many threads call it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def answer(self, question: str, top_k: int) -> Answer:
        return self.engine.answer(question, top_k=top_k)

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class WorkerConfig:
    """What the worker needs to open the engine by itself (no secrets, no Slack settings)."""

    embedding_model: str
    index_dir: Path
    log_level: str
    niceness: int = WORKER_NICENESS
    ranking: RankingConfig = field(default_factory=RankingConfig)
    #: Builds the embedder instead of ``embedding_model`` (a class or function importable by
    #: name: it is pickled by reference). The server passes its engine's embedder class when
    #: that is not the sentence-transformers one, so the worker ranks with the same model.
    embedder_factory: Callable[[], Embedder] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, ranking: RankingConfig,
                      embedder_factory: Callable[[], Embedder] | None = None) -> WorkerConfig:
        """The worker for a server that holds no model: the model ``settings`` name, or
        ``embedder_factory`` when given."""
        return cls(embedding_model=settings.embedding_model, index_dir=settings.index_dir,
                   log_level=settings.log_level, niceness=WORKER_NICENESS, ranking=ranking,
                   embedder_factory=embedder_factory)

    @classmethod
    def from_engine(cls, settings: Settings, engine: Engine) -> WorkerConfig:
        """The worker for the server's engine: same model, same ranking settings."""
        embedder = engine.embedder
        factory = None if isinstance(embedder, SentenceTransformerEmbedder) else type(embedder)
        return cls(embedding_model=settings.embedding_model, index_dir=settings.index_dir,
                   log_level=settings.log_level, niceness=WORKER_NICENESS,
                   ranking=engine.config, embedder_factory=factory)


class ProcessAnswerer:
    """Answers in one worker process (see the module's docstring); restarts it if it dies."""

    def __init__(self, config: WorkerConfig,
                 on_problem: Callable[[str], None] | None = None) -> None:
        self.config = config
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.restarts = 0
        #: told when a (re)started worker cannot answer from the version in service
        self.on_problem = on_problem
        #: False while the worker has no index version it can answer from
        self.healthy = True

    def start(self) -> float:
        """Start the worker and wait until it has loaded the model and index; seconds taken.

        Raises AnswerWorkerError when the worker cannot load them.
        """
        started = time.perf_counter()
        try:
            self._call(self._current_pool(), _warm_up, timeout=START_TIMEOUT_S)
            self._check(self._current_pool())
        except BrokenProcessPool:
            raise AnswerWorkerError(
                "the answer worker process exited while starting (a script that starts "
                "faqbot must do so under `if __name__ == \"__main__\":`, as the worker "
                "imports it again)") from None
        return time.perf_counter() - started

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the server may have loaded PyTorch, whose threads do not survive
        # a fork; max_tasks_per_child is left unset so the model loads once
        self._pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(self.config, self.restarts > 0))
        return self._pool

    def load_model(self) -> ModelInfo:
        """Start the worker and wait until its model is loaded (no index needed yet).

        Raises AnswerWorkerError naming why when the worker cannot load it.
        """
        try:
            info: ModelInfo = self._call(self._current_pool(), _describe,
                                         timeout=START_TIMEOUT_S)
        except BrokenProcessPool:
            raise AnswerWorkerError("the answer worker process exited while loading the "
                                    "model") from None
        return info

    def embedder(self) -> Embedder:
        """An embedder for this process that embeds in the worker (index builds)."""
        from faqbot.worker_embedder import worker_embedder

        return worker_embedder(self.load_model(), self.run)

    def answer(self, question: str, top_k: int) -> Answer:
        """The worker's answer; one restart and retry if the worker had died."""
        answer: Answer = self.run(_answer, question, top_k)
        self.healthy = True
        return answer

    def run(self, fn: Callable[..., Any], *args: object) -> Any:
        """``fn(*args)`` in the worker (a module-level function); one restart and retry if the
        worker had died."""
        if self._closed:
            raise AnswerWorkerError("the answer worker is closed")
        pool = self._current_pool()
        try:
            return self._call(pool, fn, *args)
        except BrokenProcessPool:
            log.warning("answer worker stopped unexpectedly; starting a new one")
            pool = self._replace(pool)
            self._check(pool)
        try:
            return self._call(pool, fn, *args)
        except BrokenProcessPool:
            raise AnswerWorkerError("the answer worker stopped twice in a row") from None

    def alive(self) -> bool:
        """Whether the worker process runs now (no round trip: it may be busy answering)."""
        with self._lock:
            pool = self._pool
        if pool is None or self._closed:
            return False
        processes = getattr(pool, "_processes", None) or {}
        return any(p.is_alive() for p in processes.values())

    def _check(self, pool: ProcessPoolExecutor) -> None:
        """Ask a (re)started worker what it answers from; report a problem (a corrupted
        version in service: it answers from the previous good one, or from none)."""
        try:
            version, problem = self._call(pool, _serving, timeout=START_TIMEOUT_S)
        except AnswerWorkerError as exc:
            version, problem = None, str(exc)
        self.healthy = version is not None
        if problem is not None:
            log.warning("answer worker: %s", problem)
            if self.on_problem is not None:
                try:
                    self.on_problem(problem)
                except Exception as exc:
                    from faqbot.privacy import describe_exception

                    log.warning("could not report an answer worker problem: %s",
                                describe_exception(exc))

    def worker_pid(self) -> int:
        """The worker's process id (tests and diagnostics)."""
        return int(self._call(self._current_pool(), os.getpid))

    def _current_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            return self._pool or self._new_pool()

    def _replace(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        """A new pool for a broken one; threads that saw the same breakage share it."""
        with self._lock:
            if self._pool is broken:
                broken.shutdown(wait=False, cancel_futures=True)
                self.restarts += 1
                self._new_pool()
            assert self._pool is not None
            return self._pool

    @staticmethod
    def _call(pool: ProcessPoolExecutor, fn: Callable[..., object], *args: object,
              timeout: float = ANSWER_TIMEOUT_S) -> Any:
        future = pool.submit(fn, *args)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            future.cancel()
            raise AnswerWorkerError(f"no answer from the worker within {timeout:.0f} s") from None

    def close(self) -> None:
        """Stop the worker (waits for the question it is on, drops the queued ones)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class ModelInfo:
    """What the server knows of the worker's model: enough to build an index through it."""

    model_id: str
    dim: int
    tokens: bool  # it gives content-token vectors too (faqbot.embedding.TokenEmbedder)


# -- inside the worker process ---------------------------------------------------------------

_worker: _Worker | None = None
#: why the model could not be loaded (our own error's message, else the class and place)
_init_error: str | None = None


class _Worker:
    """The worker's engine, following the index folder's CURRENT version."""

    def __init__(self, config: WorkerConfig) -> None:
        from faqbot.embedding import load_embedder
        from faqbot.index import IndexStore

        self.config = config
        self.store = IndexStore(config.index_dir)
        self.embedder = (config.embedder_factory() if config.embedder_factory
                         else load_embedder(config.embedding_model))
        self.engine: Engine | None = None
        #: why the worker does not serve the version CURRENT names, if it does not
        self.problem: str | None = None

    def current_engine(self) -> Engine:
        """The engine on the version CURRENT names (loaded on first use and on change)."""
        name = self.store.current_name()
        if self.engine is not None and (name is None or name == self.engine.snapshot.name):
            return self.engine
        try:
            snapshot = self.store.load(name)
        except StoreError as exc:
            if self.engine is not None:
                log.warning("answer worker keeps version %s: %s", self.engine.snapshot.name,
                            exc)
                return self.engine
            snapshot = self._fallback(name, exc)
        if self.engine is None:
            self.engine = Engine(embedder=self.embedder, snapshot=snapshot,
                                 config=self.config.ranking)
        elif snapshot.name == name:
            self.problem = None  # CURRENT loads again (rebuilt, rolled back)
        self.engine.swap(snapshot)
        log.info("answer worker on index version %s", snapshot.name)
        return self.engine


    def _fallback(self, name: str | None, exc: StoreError) -> Snapshot:
        """The newest other version that loads, when the one in service does not (a file
        corrupted on disk); the problem is kept for :func:`_serving`. Raises ``exc`` if none
        loads."""
        for other in reversed(self.store.version_names()):
            if other == name:
                continue
            try:
                snapshot = self.store.load(other)
            except StoreError:
                continue
            self.problem = (f"index version {name} cannot be loaded ({exc}); answering from "
                            f"the previous good version {other}")
            log.warning("answer worker: %s", self.problem)
            return snapshot
        self.problem = f"no index version can be loaded: {exc}"
        raise exc


def _init_worker(config: WorkerConfig, serving: bool = False) -> None:
    """Load the model at the worker's lower priority once the server serves (a restart);
    at the first start there are no acks to give way to, so it loads at the server's."""
    global _worker, _init_error
    from faqbot.privacy import configure_logging

    _follow_parent()
    if serving:
        os.nice(config.niceness)
    configure_logging(config.log_level)
    try:
        _worker = _Worker(config)
    except Exception as exc:
        _worker = None
        from faqbot.privacy import describe_exception

        _init_error = str(exc) if isinstance(exc, FaqbotError) else describe_exception(exc)
        log.error("answer worker could not load the model: %s", _init_error)
    finally:
        if not serving:
            os.nice(config.niceness)


def _follow_parent() -> None:
    """The worker lives only as long as the server process that started it.

    SIGTERM and SIGINT are ignored: a stop signal sent to the whole process group (a
    terminal's Ctrl-C, systemd's default) must not kill the answers the server is draining;
    the server closes the worker itself once drained. If the server dies without closing it
    (kill -9, a crash), the worker notices within ``PARENT_CHECK_S`` and exits, so it does
    not outlive the server holding its model's memory. A parent check rather than
    ``PR_SET_PDEATHSIG``: that signal fires when the *thread* that started the worker ends,
    and a replacement worker is started from an answer thread.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)  # the server is gone: nobody waits for an answer any more

    threading.Thread(target=watch, name="faqbot-parent-check", daemon=True).start()


def _require_worker() -> _Worker:
    if _worker is None:
        raise AnswerWorkerError(f"the answer worker could not load the model: "
                                f"{_init_error or 'see its log'}")
    return _worker


def _describe() -> ModelInfo:
    """The worker's model (waits for it to load: the pool runs the initializer first)."""
    from faqbot.embedding import TokenEmbedder

    embedder = _require_worker().embedder
    return ModelInfo(model_id=embedder.model_id, dim=int(embedder.dim),
                     tokens=isinstance(embedder, TokenEmbedder))


def _vocabulary() -> frozenset[str]:
    return frozenset(getattr(_require_worker().embedder, "vocabulary", ()))


def _embed(texts: list[str]) -> Any:
    """One batch of document texts (an index build), embedded by the worker's model."""
    return _require_worker().embedder.embed(texts)


def _embed_with_tokens(texts: list[str]) -> Any:
    from faqbot.embedding import TokenEmbedder

    embedder = _require_worker().embedder
    if not isinstance(embedder, TokenEmbedder):
        raise AnswerWorkerError("the worker's model gives no token vectors")
    return embedder.embed_with_tokens(texts)


def _answer(question: str, top_k: int) -> Answer:
    try:
        return _require_worker().current_engine().answer(question, top_k=top_k)
    except AnswerWorkerError:
        raise
    except Exception as exc:
        # the exception's message might quote the question: only its class and place travel
        from faqbot.privacy import describe_exception

        raise AnswerWorkerError(f"answering failed: {describe_exception(exc)}") from None


def _serving() -> tuple[str | None, str | None]:
    """The version the worker answers from (None: none) and why it is not CURRENT's."""
    worker = _require_worker()
    try:
        name: str | None = worker.current_engine().snapshot.name
    except StoreError:
        name = None
    return name, worker.problem


def _warm_up() -> None:
    """Load the index and answer once, so the first real question is as fast as the rest."""
    _answer("warm up the model", 1)
