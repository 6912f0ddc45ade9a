"""The FAISS index on disk: versioned folders, JSON metadata, atomic swaps, incremental builds.

Layout of the index folder::

    CURRENT                 name of the version in service (replaced atomically); every
                            replica on the same folder serves what it names
    LOCK                    held by the one build allowed at a time (with a Redis lock on
                            top when replicas on several hosts share the folder)
    versions/<name>/        manifest.json, passages.faiss, faq.jsonl, faq.faiss,
                            knowledge.json, passages.jsonl + passage_texts.utf8 +
                            passage_offsets.npy (faqbot.passages), and (faqbot.late)
                            tokens.f16, token_offsets.npy, token_ids.npy

A build writes a new version into ``versions/.tmp-*``, renames it into place and only then
points CURRENT at it, so a crash at any moment leaves the previous version whole.
No pickle anywhere: FAISS's own format, JSON, JSON Lines, numpy arrays, raw UTF-8 and
float16.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from faqbot.durable import file_sha, fsync_dir, read_lines, write_text
from faqbot.embedding import Embedder
from faqbot.errors import StoreError, StoreLockedError
from faqbot.index_build import FORMAT_VERSION, Reusable, chunker_id, version_name, write_version
from faqbot.late import TOKEN_FILES, TOKENS_VERSION, TokenStore
from faqbot.memory import release_free_memory
from faqbot.models import FaqEntry, OptOutProcedure
from faqbot.passages import PassageTable
from faqbot.snapshot import BuildReport, DocInfo, Snapshot
from faqbot.sources import Knowledge
from faqbot.vector_index import HNSW_FROM, make_faiss_index, search_one_query, tune_loaded_index

# the index's public names, importable from here as before the split
__all__ = ["FORMAT_VERSION", "HNSW_FROM", "KEEP_VERSIONS", "BuildReport", "DocInfo",
           "IndexStore", "Snapshot", "make_faiss_index", "search_one_query"]

log = logging.getLogger(__name__)

KEEP_VERSIONS = 3
#: What a version folder's name may be (``index_build.version_name`` makes them).
_VERSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
#: How often a build waiting for the lock file tries again.
_LOCK_RETRY_S = 0.1
#: Replicas sharing the folder: a version a rollback dropped is kept this long (renamed
#: aside) before it is deleted, so a replica still reading it (its passage texts are mapped
#: from the file) has swapped away first. NFS invalidates a deleted file for other clients.
RETIRED_KEEP_S = 10 * 60


class SharedLock(Protocol):
    """A build lock shared by replicas on several hosts (``faqbot.state.shared.RedisLock``).

    ``hold(wait_s)`` yields True while held, False when it can't be asked (the lock file then
    decides alone); it raises StoreLockedError when another holder keeps it past ``wait_s``.
    """

    def hold(self, wait_s: float = 0.0) -> AbstractContextManager[bool]: ...


class IndexStore:
    """A folder of index versions; at most one builder at a time, any number of readers."""

    def __init__(self, root: Path, shared_lock: SharedLock | None = None) -> None:
        self.root = root
        self.versions = root / "versions"
        self.shared_lock = shared_lock

    # -- reading -------------------------------------------------------------------------

    def current_name(self) -> str | None:
        """The version CURRENT names; None when it is missing, unreadable or not a plain
        version name (bytes that are not UTF-8, a path): the index is then rebuilt."""
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        if not name or not _VERSION_NAME.fullmatch(name):
            return None
        return name

    def version_names(self) -> list[str]:
        """Complete versions, oldest first (names sort by creation time)."""
        if not self.versions.is_dir():
            return []
        return sorted(
            p.name for p in self.versions.iterdir() if p.is_dir() and not p.name.startswith(".")
        )

    def read_manifest(self, name: str | None = None) -> dict[str, Any] | None:
        name = name or self.current_name()
        if name is None:
            return None
        try:
            return json.loads((self.versions / name / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None

    def load(self, name: str | None = None) -> Snapshot:
        """Load a version (default: the current one), checking every file's checksum."""
        import faiss

        name = name or self.current_name()
        if name is None:
            raise StoreError(f"no index in {self.root}: run 'faqbot index'")
        folder = self.versions / name
        manifest = self.read_manifest(name)
        if manifest is None:
            raise StoreError(f"index version {name} has no readable manifest: run 'faqbot index'")
        if manifest.get("format") != FORMAT_VERSION:
            raise StoreError(
                f"index format {manifest.get('format')} is not {FORMAT_VERSION}: "
                "run 'faqbot index --rebuild'"
            )
        for file_name, expected in manifest.get("checksums", {}).items():
            path = folder / file_name
            if file_name in TOKEN_FILES:
                continue  # optional: checked by _open_tokens, which can do without them
            if not path.exists() or file_sha(path) != expected:
                raise StoreError(
                    f"index file {path} is missing or corrupt: run 'faqbot index --rebuild'"
                )
        try:
            passages = PassageTable.open(folder)
            faq_rows_raw = [json.loads(line) for line in read_lines(folder / "faq.jsonl")]
            knowledge = json.loads((folder / "knowledge.json").read_text("utf-8"))
            passage_index = tune_loaded_index(faiss.read_index(str(folder / "passages.faiss")))
            faq_index = faiss.read_index(str(folder / "faq.faiss"))
        except (OSError, ValueError, RuntimeError) as exc:
            raise StoreError(f"index version {name} cannot be read ({exc.__class__.__name__}): "
                             "run 'faqbot index --rebuild'") from None
        release_free_memory()  # the parsed JSON rows are gone; give their pages back
        if passage_index.ntotal != len(passages) or faq_index.ntotal != len(faq_rows_raw):
            raise StoreError(f"index version {name} is inconsistent: run 'faqbot index --rebuild'")
        tokens = _open_tokens(folder, manifest, len(passages))
        return Snapshot(
            name=name,
            manifest=manifest,
            passages=passages,
            passage_index=passage_index,
            faq=[FaqEntry.model_validate(e) for e in knowledge["faq"]],
            faq_rows=[(r["faq_id"], r["text"]) for r in faq_rows_raw],
            faq_index=faq_index,
            documents=[DocInfo(**d) for d in knowledge["documents"]],
            opt_out=(OptOutProcedure.model_validate(knowledge["opt_out"])
                     if knowledge.get("opt_out") else None),
            tokens=tokens,
        )

    def stale_reason(self, kb: Knowledge, model_id: str) -> str | None:
        """Why the current index does not match the folder and model (None when it does)."""
        manifest = self.read_manifest()
        if manifest is None:
            return "no index yet"
        if manifest.get("format") != FORMAT_VERSION:
            return "index format changed"
        if manifest.get("model_id") != model_id:
            return f"built with model {manifest.get('model_id')}, now {model_id}"
        if manifest.get("tokens", None) not in (False, TOKENS_VERSION):
            return "token vectors missing or changed"
        if manifest.get("chunker") != chunker_id():
            return "chunking changed"
        if manifest.get("files") != kb.file_hashes:
            return "knowledge files changed"
        return None

    # -- writing -------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, wait_s: float = 0.0) -> Iterator[None]:
        """Hold the build lock: the shared one first when there is one, then the lock file.
        Fail at once if another process holds it, or after ``wait_s`` seconds."""
        deadline = time.monotonic() + wait_s
        if self.shared_lock is None:
            with self._file_lock(wait_s):
                yield
            return
        with self.shared_lock.hold(wait_s), self._file_lock(deadline - time.monotonic()):
            yield

    @contextlib.contextmanager
    def _file_lock(self, wait_s: float) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait_s
        with open(self.root / "LOCK", "a+", encoding="utf-8") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StoreLockedError(
                            f"another build is running on {self.root}; try again when it ends"
                        ) from None
                    time.sleep(_LOCK_RETRY_S)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def build(
        self,
        kb: Knowledge,
        embedder: Embedder,
        *,
        rebuild: bool = False,
        progress: Callable[[int, int], None] | None = None,
        hnsw_from: int = HNSW_FROM,
    ) -> BuildReport:
        """Write a new version from ``kb`` and make it current; reuse unchanged vectors.

        Raises KnowledgeError if the folder has errors (the current version stays in service).
        """
        kb.raise_for_errors()
        with self.lock():
            return self._build_locked(kb, embedder, rebuild=rebuild, progress=progress,
                                      hnsw_from=hnsw_from)

    def build_if_stale(
        self,
        kb: Knowledge,
        embedder: Embedder,
        *,
        wait_s: float = 0.0,
        progress: Callable[[int, int], None] | None = None,
    ) -> BuildReport | None:
        """Build as :meth:`build` does unless, once the lock is held, the current version
        already matches ``kb`` and the model: None then. A build that waits ``wait_s`` for
        another replica's build finds that replica's version and builds nothing."""
        kb.raise_for_errors()
        with self.lock(wait_s):
            if self.stale_reason(kb, embedder.model_id) is None:
                return None
            return self._build_locked(kb, embedder, rebuild=False, progress=progress,
                                      hnsw_from=HNSW_FROM)

    def _build_locked(
        self,
        kb: Knowledge,
        embedder: Embedder,
        *,
        rebuild: bool,
        progress: Callable[[int, int], None] | None,
        hnsw_from: int,
    ) -> BuildReport:
        started = time.perf_counter()
        self._sweep_temporary()
        old = self._reusable(embedder.model_id, rebuild)
        reason = ""
        if old is None:
            manifest = self.read_manifest()
            if rebuild:
                reason = "--rebuild"
            elif manifest is None:
                reason = "no index yet"
            elif manifest.get("model_id") != embedder.model_id:
                reason = f"model changed from {manifest.get('model_id')}"
            else:
                reason = "previous index unusable"
        old_files = old[2] if old else {}
        name = version_name()
        tmp = self.versions / f".tmp-{name}"
        tmp.mkdir(parents=True)
        written = write_version(tmp, kb, embedder, old, progress=progress,
                                hnsw_from=hnsw_from)
        fsync_dir(tmp)
        os.rename(tmp, self.versions / name)
        fsync_dir(self.versions)
        self._point_current(name)
        self._prune()
        new_files = written.files
        added = len(set(new_files) - set(old_files))
        changed = sum(1 for f in new_files if f in old_files and old_files[f] != new_files[f])
        removed = len(set(old_files) - set(new_files))
        return BuildReport(
            version=name, files=len(new_files), passages=written.passages, added=added,
            changed=changed, removed=removed, embedded=written.embedded,
            seconds=time.perf_counter() - started, rebuilt_from_scratch=old is None,
            reason=reason,
        )

    def rollback(self) -> str:
        """Point CURRENT at the version before it; return that version's name."""
        with self.lock():
            names = self.version_names()
            current = self.current_name()
            if current not in names or names.index(current) == 0:
                raise StoreError("no earlier index version to roll back to")
            previous = names[names.index(current) - 1]
            self._point_current(previous)
            # versions newer than the one in service would be rolled "forward" into by
            # the next rollback; drop them so rollback always walks back in time. Replicas
            # may still be reading them for a second: with a shared lock they are renamed
            # aside and deleted by a later build or rollback.
            for name in names[names.index(current):]:
                if self.shared_lock is None:
                    shutil.rmtree(self.versions / name, ignore_errors=True)
                else:
                    os.rename(self.versions / name,
                              self.versions / f".retired-{int(time.time())}-{name}")
            self._sweep_retired()
            return previous

    def _point_current(self, name: str) -> None:
        tmp = self.root / f".CURRENT.{uuid.uuid4().hex}"
        write_text(tmp, name + "\n")
        os.replace(tmp, self.root / "CURRENT")
        fsync_dir(self.root)

    def _prune(self) -> None:
        names = self.version_names()
        current = self.current_name()
        keep = set(names[-KEEP_VERSIONS:]) | {current}
        for name in names:
            if name not in keep:
                shutil.rmtree(self.versions / name, ignore_errors=True)

    def _sweep_temporary(self) -> None:
        """Remove what a crashed build left behind (we hold the lock, so none is running)."""
        if self.versions.is_dir():
            for path in self.versions.glob(".tmp-*"):
                shutil.rmtree(path, ignore_errors=True)
        for path in self.root.glob(".CURRENT.*"):
            path.unlink(missing_ok=True)
        self._sweep_retired()

    def _sweep_retired(self) -> None:
        """Delete the versions a rollback renamed aside over RETIRED_KEEP_S ago."""
        if not self.versions.is_dir():
            return
        for path in self.versions.glob(".retired-*"):
            stamp = path.name.split("-", 2)[1]
            if not stamp.isdigit() or time.time() - int(stamp) > RETIRED_KEEP_S:
                shutil.rmtree(path, ignore_errors=True)

    def _reusable(
        self, model_id: str, rebuild: bool
    ) -> Reusable | None:
        """Vectors and where the tokens are (store, row) of the current version by text key,
        and its file hashes, if it was made with this model. Token vectors are read when the
        new version is written, one passage at a time."""
        if rebuild:
            return None
        manifest = self.read_manifest()
        if (manifest is None or manifest.get("model_id") != model_id
                or manifest.get("format") != FORMAT_VERSION):
            return None
        try:
            snapshot = self.load()
        except StoreError as exc:
            log.warning("previous index not reusable, building from scratch: %s", exc)
            return None
        vectors: dict[str, np.ndarray] = {}
        tokens: dict[str, tuple[TokenStore, int]] = {}
        folder = self.versions / snapshot.name
        for file_name, index in (("passages.jsonl", snapshot.passage_index),
                                 ("faq.jsonl", snapshot.faq_index)):
            keys = [json.loads(line)["vkey"] for line in read_lines(folder / file_name)]
            if keys:
                matrix = index.reconstruct_n(0, index.ntotal)
                vectors.update(zip(keys, matrix, strict=True))
            if file_name == "passages.jsonl" and snapshot.tokens is not None:
                tokens.update((k, (snapshot.tokens, row)) for row, k in enumerate(keys))
        return vectors, tokens, dict(manifest.get("files", {}))


def _open_tokens(folder: Path, manifest: dict[str, Any], passages: int) -> TokenStore | None:
    """A version's token vectors, or None when it has none or they are unusable: answers then
    rank without late interaction rather than not at all (a warning says how to mend it)."""
    if manifest.get("tokens") != TOKENS_VERSION:
        return None
    checksums = manifest.get("checksums", {})
    try:
        for file_name in TOKEN_FILES:
            if file_sha(folder / file_name) != checksums.get(file_name):
                raise ValueError(f"{file_name} does not match its checksum")
        store = TokenStore.open(folder, int(manifest.get("token_dim") or manifest["dim"]))
        if len(store) != passages:
            raise ValueError(f"token vectors for {len(store)} passages, not {passages}")
    except (OSError, ValueError) as exc:
        log.warning("index version %s: token vectors unusable (%s), ranking without late "
                    "interaction: run 'faqbot index --rebuild'", folder.name, exc)
        return None
    return store
