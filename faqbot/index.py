"""The FAISS index on disk: versioned folders, JSON metadata, atomic swaps, incremental builds.

Layout of the index folder::

    CURRENT                 name of the version in service (replaced atomically)
    LOCK                    held by the one build allowed at a time
    versions/<name>/        manifest.json, passages.jsonl, passages.faiss,
                            faq.jsonl, faq.faiss, knowledge.json, and (faqbot.late)
                            tokens.f16, token_offsets.npy, token_ids.npy

A build writes a new version into ``versions/.tmp-*``, renames it into place and only then
points CURRENT at it, so a crash at any moment leaves the previous version whole.
No pickle anywhere: FAISS's own format, JSON, JSON Lines and raw float16.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faqbot.chunking import CHUNKER_VERSION, MAX_WORDS, chunk_all, embedding_text
from faqbot.embedding import Embedder, TokenEmbedder
from faqbot.errors import StoreError, StoreLockedError
from faqbot.late import (
    TOKEN_FILES,
    TOKENS_UP_TO,
    TOKENS_VERSION,
    TokenStore,
    TokenWriter,
    write_tokens,
)
from faqbot.memory import release_free_memory
from faqbot.models import DocumentMeta, FaqEntry, OptOutProcedure, Passage
from faqbot.passages import PassageTable
from faqbot.sources import Knowledge

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
KEEP_VERSIONS = 3
#: From this many passages an HNSW graph replaces exact search: exact search costs ~1.4 ms
#: per 10k passages, HNSW (settings below) ~0.2-0.5 ms with recall@10 ≥ 0.98 (bench/README.md).
HNSW_FROM = 20_000
#: HNSW graph: neighbours per node, build-time and search-time candidate lists. efConstruction
#: 200 instead of 80 buys more recall per unit of search time than a larger efSearch does.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 256
#: Passage vectors are stored as float16 (faiss scalar quantizer): half the memory of float32,
#: cosines within 1e-4 of exact. FAQ phrasings (few, and they decide declining) stay float32.
PASSAGE_STORAGE = "fp16"
_FILES = ("passages.jsonl", "passages.faiss", "faq.jsonl", "faq.faiss", "knowledge.json")


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


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
    """One loaded index version: everything a question is answered from. Never mutated."""

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
    extras: dict[str, Any] = field(default_factory=dict)  # derived structures (keyword index)
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


class IndexStore:
    """A folder of index versions; at most one builder at a time, any number of readers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions = root / "versions"

    # -- reading -------------------------------------------------------------------------

    def current_name(self) -> str | None:
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

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
            if not path.exists() or _file_sha(path) != expected:
                raise StoreError(
                    f"index file {path} is missing or corrupt: run 'faqbot index --rebuild'"
                )
        try:
            passages = PassageTable.from_jsonl(folder / "passages.jsonl")
            faq_rows_raw = [json.loads(line) for line in _lines(folder / "faq.jsonl")]
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
        if manifest.get("chunker") != _chunker_id():
            return "chunking changed"
        if manifest.get("files") != kb.file_hashes:
            return "knowledge files changed"
        return None

    # -- writing -------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the build lock, or fail at once if another process holds it."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "LOCK", "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreLockedError(
                    f"another build is running on {self.root}; try again when it ends"
                ) from None
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
        started = time.perf_counter()
        with self.lock():
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
            old_vectors, token_sources, old_files = old if old else ({}, {}, {})

            passages = chunk_all(kb.documents, MAX_WORDS)
            p_keys = [_key(embedding_text(p)) for p in passages]
            faq_rows: list[tuple[str | None, str]] = [
                (e.id, text) for e in kb.faq for text in e.phrasings
            ]
            faq_rows += [(None, text) for text in kb.out_of_scope]
            f_keys = [_key(text) for _, text in faq_rows]
            texts = {k: embedding_text(p) for k, p in zip(p_keys, passages, strict=True)}
            texts.update({k: text for k, (_, text) in zip(f_keys, faq_rows, strict=True)})
            # late interaction needs each passage's token vectors; a passage without them is
            # embedded again (its vector and its tokens come from one forward pass)
            with_tokens = isinstance(embedder, TokenEmbedder) and len(passages) <= TOKENS_UP_TO
            to_tokenise = ([k for k in dict.fromkeys(p_keys) if k not in token_sources]
                           if with_tokens else [])
            vectors = dict(old_vectors)
            tokenised = set(to_tokenise)
            missing = [k for k in dict.fromkeys(p_keys + f_keys)
                       if k not in vectors and k not in tokenised]
            name = _version_name()
            tmp = self.versions / f".tmp-{name}"
            tmp.mkdir(parents=True)
            # new passages' tokens go to a spool file as they are embedded, not into memory
            spool = TokenWriter(tmp / "tokens.spool", embedder.dim) if to_tokenise else None
            embedded, new_rows = _embed_in_batches(
                embedder, [texts[k] for k in to_tokenise + missing], to_tokenise + missing,
                progress, spool=spool, with_tokens=len(to_tokenise))
            vectors.update(embedded)
            if spool is not None:
                spooled = spool.finish()
                token_sources.update((k, (spooled, row)) for k, row in new_rows.items())
            p_matrix = _matrix(vectors, p_keys, embedder.dim)
            f_matrix = _matrix(vectors, f_keys, embedder.dim)
            _write_jsonl(tmp / "passages.jsonl",
                         (p.model_dump(mode="json") | {"vkey": k}
                          for p, k in zip(passages, p_keys, strict=True)))
            _write_jsonl(tmp / "faq.jsonl",
                         ({"faq_id": fid, "text": text, "vkey": k}
                          for (fid, text), k in zip(faq_rows, f_keys, strict=True)))
            _write_faiss(tmp / "passages.faiss", p_matrix, hnsw_from, PASSAGE_STORAGE)
            _write_faiss(tmp / "faq.faiss", f_matrix, hnsw_from)
            files: tuple[str, ...] = _FILES
            token_dim = None
            if with_tokens:
                token_dim = write_tokens(tmp, (store.text_tokens(row) for store, row in
                                               (token_sources[k] for k in p_keys)), embedder.dim)
                files += TOKEN_FILES
            (tmp / "tokens.spool").unlink(missing_ok=True)
            knowledge = {
                "faq": [e.model_dump(mode="json") for e in kb.faq],
                "opt_out": kb.opt_out.model_dump(mode="json") if kb.opt_out else None,
                "documents": [DocInfo.from_meta(d.path, d.meta).__dict__ for d in kb.documents],
            }
            _write_text(tmp / "knowledge.json", json.dumps(knowledge, ensure_ascii=False))
            new_files = kb.file_hashes
            manifest = {
                "format": FORMAT_VERSION,
                "model_id": embedder.model_id,
                "dim": embedder.dim,
                "chunker": _chunker_id(),
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "index_type": "hnsw" if len(passages) >= hnsw_from else "flat",
                "vector_storage": PASSAGE_STORAGE,
                "tokens": TOKENS_VERSION if with_tokens else False,
                "token_dim": token_dim,
                "files": new_files,
                "counts": {"documents": len(kb.documents), "passages": len(passages),
                           "faq": len(kb.faq), "faq_phrasings": len(faq_rows),
                           "out_of_scope_examples": len(kb.out_of_scope)},
                "checksums": {f: _file_sha(tmp / f) for f in files},
            }
            _write_text(tmp / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
            _fsync_dir(tmp)
            os.rename(tmp, self.versions / name)
            _fsync_dir(self.versions)
            self._point_current(name)
            self._prune()
        added = len(set(new_files) - set(old_files))
        changed = sum(1 for f in new_files if f in old_files and old_files[f] != new_files[f])
        removed = len(set(old_files) - set(new_files))
        return BuildReport(
            version=name, files=len(new_files), passages=len(passages), added=added,
            changed=changed, removed=removed, embedded=len(to_tokenise) + len(missing),
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
            # the next rollback; drop them so rollback always walks back in time.
            for name in names[names.index(current):]:
                shutil.rmtree(self.versions / name, ignore_errors=True)
            return previous

    def _point_current(self, name: str) -> None:
        tmp = self.root / f".CURRENT.{uuid.uuid4().hex}"
        _write_text(tmp, name + "\n")
        os.replace(tmp, self.root / "CURRENT")
        _fsync_dir(self.root)

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

    def _reusable(
        self, model_id: str, rebuild: bool
    ) -> tuple[dict[str, np.ndarray], dict[str, tuple[TokenStore, int]],
               dict[str, str]] | None:
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
            keys = [json.loads(line)["vkey"] for line in _lines(folder / file_name)]
            if keys:
                matrix = index.reconstruct_n(0, index.ntotal)
                vectors.update(zip(keys, matrix, strict=True))
            if file_name == "passages.jsonl" and snapshot.tokens is not None:
                tokens.update((k, (snapshot.tokens, row)) for row, k in enumerate(keys))
        return vectors, tokens, dict(manifest.get("files", {}))


def _chunker_id() -> str:
    return f"{CHUNKER_VERSION}/{MAX_WORDS}"


def _version_name() -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


def _open_tokens(folder: Path, manifest: dict[str, Any], passages: int) -> TokenStore | None:
    """A version's token vectors, or None when it has none or they are unusable: answers then
    rank without late interaction rather than not at all (a warning says how to mend it)."""
    if manifest.get("tokens") != TOKENS_VERSION:
        return None
    checksums = manifest.get("checksums", {})
    try:
        for file_name in TOKEN_FILES:
            if _file_sha(folder / file_name) != checksums.get(file_name):
                raise ValueError(f"{file_name} does not match its checksum")
        store = TokenStore.open(folder, int(manifest.get("token_dim") or manifest["dim"]))
        if len(store) != passages:
            raise ValueError(f"token vectors for {len(store)} passages, not {passages}")
    except (OSError, ValueError) as exc:
        log.warning("index version %s: token vectors unusable (%s), ranking without late "
                    "interaction: run 'faqbot index --rebuild'", folder.name, exc)
        return None
    return store


def _embed_in_batches(
    embedder: Embedder,
    texts: list[str],
    keys: list[str],
    progress: Callable[[int, int], None] | None,
    batch: int = 64,
    spool: TokenWriter | None = None,
    with_tokens: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Vectors by key; the first ``with_tokens`` texts also give their content tokens, which
    are appended to ``spool`` (their rows there by key)."""
    out: dict[str, np.ndarray] = {}
    rows: dict[str, int] = {}
    start = 0
    while start < len(texts):
        end = min(start + batch, with_tokens if start < with_tokens else len(texts))
        if start < with_tokens and spool is not None and isinstance(embedder, TokenEmbedder):
            vectors, found = embedder.embed_with_tokens(texts[start:end])
            rows.update((k, spool.add(t)) for k, t in zip(keys[start:end], found, strict=True))
        else:
            vectors = embedder.embed(texts[start:end])
        out.update(zip(keys[start:end], vectors, strict=True))
        start = end
        if progress:
            progress(start, len(texts))
    return out, rows


def _matrix(vectors: dict[str, np.ndarray], keys: list[str], dim: int) -> np.ndarray:
    if not keys:
        return np.zeros((0, dim), dtype=np.float32)
    return np.ascontiguousarray(np.stack([vectors[k] for k in keys]), dtype=np.float32)


def make_faiss_index(matrix: np.ndarray, hnsw_from: int = HNSW_FROM,
                     storage: str = "fp32") -> Any:
    """Exact inner-product search for small sets, an HNSW graph for large ones.

    ``storage``: "fp32" keeps vectors as they are, "fp16" halves them (scalar quantizer).
    """
    import faiss

    dim = matrix.shape[1]
    metric = faiss.METRIC_INNER_PRODUCT
    if storage not in ("fp32", "fp16"):
        raise ValueError(f"unknown vector storage {storage!r}")
    if len(matrix) >= hnsw_from:
        # the stubs type the quantizer argument as a class; faiss takes the QT_* constant
        index: Any = (faiss.IndexHNSWFlat(dim, HNSW_M, metric) if storage == "fp32" else
                      faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_fp16,  # type: ignore[arg-type]
                                        HNSW_M, metric))
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = (faiss.IndexFlatIP(dim) if storage == "fp32" else
                 faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, metric))
    if len(matrix):
        if not index.is_trained:
            index.train(matrix)  # fp16 needs no statistics; this only marks it trained
        index.add(matrix)
    return index


def search_one_query(index: Any, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``index.search`` for one query vector, on one OpenMP thread.

    FAISS splits a search across queries, and a question is one query, so a second thread only
    adds an OpenMP barrier. When the other core is busy (the server acking, a reload build,
    another process) that barrier waits for a time slice: at 10k passages a search took about
    10 ms instead of 0.5 ms (bench/README.md). The thread count is restored at once: OpenMP
    keeps it per thread and torch shares it, and encoding the question does use both cores.
    """
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(vector, k)
    finally:
        faiss.omp_set_num_threads(before)


def tune_loaded_index(index: Any) -> Any:
    """Search settings are ours, not the file's: an older index gets today's efSearch."""
    hnsw = getattr(index, "hnsw", None)
    if hnsw is not None:
        hnsw.efSearch = max(int(hnsw.efSearch), HNSW_EF_SEARCH)
    return index


def _write_faiss(path: Path, matrix: np.ndarray, hnsw_from: int, storage: str = "fp32") -> None:
    import faiss

    faiss.write_index(make_faiss_index(matrix, hnsw_from, storage), str(path))
    _fsync_file(path)


def _write_jsonl(path: Path, rows: Any) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text("utf-8").splitlines() if line.strip()]


def _file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync_file(path)
