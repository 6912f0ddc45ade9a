"""A disk cache of passage vectors, so the large generated corpora embed once, not every run.

Vectors are the real model's output, stored as two .npy files per model (text keys and a
float32 matrix) and read with ``allow_pickle=False``. Only benchmark corpora go through it;
questions are always embedded live.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import time
from pathlib import Path

import numpy as np

from faqbot.embedding import ContentTokenizer, Embedder, TokenEmbedder
from faqbot.late import TextTokens

#: Save what was embedded every this many new vectors, so an interrupted fill keeps its work.
CHECKPOINT_EVERY = 4096


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode()).hexdigest()[:32].encode()


class VectorCache:
    """Vectors by text key for one model, in ``folder``."""

    def __init__(self, folder: Path, model_id: str, dim: int) -> None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)
        self.keys_path = folder / f"{slug}.keys.npy"
        self.vectors_path = folder / f"{slug}.vectors.npy"
        self.folder = folder
        self.dim = dim
        self._index: dict[bytes, int] = {}
        self._matrix = np.zeros((0, dim), dtype=np.float32)
        self._pending: dict[bytes, np.ndarray] = {}
        self._index, self._matrix = self._read()

    def _read(self) -> tuple[dict[bytes, int], np.ndarray]:
        """What is on disk (empty when missing or inconsistent)."""
        empty = np.zeros((0, self.dim), dtype=np.float32)
        try:
            keys = np.load(self.keys_path, allow_pickle=False)
            matrix = np.load(self.vectors_path, allow_pickle=False)
        except (OSError, ValueError):
            return {}, empty
        if matrix.ndim != 2 or matrix.shape[1] != self.dim or len(keys) != len(matrix):
            return {}, empty
        return {bytes(k): i for i, k in enumerate(keys)}, matrix.astype(np.float32, copy=False)

    def __len__(self) -> int:
        return len(self._index) + len(self._pending)

    def get(self, key: bytes) -> np.ndarray | None:
        row = self._index.get(key)
        return self._pending.get(key) if row is None else self._matrix[row]

    def put(self, key: bytes, vector: np.ndarray) -> None:
        if key not in self._index:
            self._pending[key] = np.asarray(vector, dtype=np.float32)

    def save(self) -> None:
        """Merge what was added into the files on disk (another run may have added too).

        Under an exclusive lock; each file is written to a temporary name, then renamed.
        """
        if not self._pending:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            index, matrix = self._read()
            if len(index) < len(self._index):  # ours is the larger base: keep it
                index, matrix = self._index, self._matrix
            fresh = [(k, v) for k, v in self._pending.items() if k not in index]
            if fresh:
                start = len(matrix)
                matrix = np.vstack([matrix, np.stack([v for _, v in fresh])])
                index = dict(index)
                for offset, (key, _) in enumerate(fresh):
                    index[key] = start + offset
                keys = np.array(list(index), dtype="S32")
                for path, array in ((self.keys_path, keys), (self.vectors_path, matrix)):
                    tmp = path.with_name(path.name + ".tmp.npy")
                    np.save(tmp, array, allow_pickle=False)
                    os.replace(tmp, path)
            self._index, self._matrix, self._pending = index, matrix, {}


class CachingEmbedder:
    """An Embedder that answers from a VectorCache and embeds (then caches) only the misses."""

    def __init__(self, inner: Embedder, cache: VectorCache) -> None:
        self.inner = inner
        self.cache = cache
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.hits = 0
        self.embedded = 0
        self.embed_seconds = 0.0
        self._since_save = 0

    @property
    def vocabulary(self) -> frozenset[str]:
        return getattr(self.inner, "vocabulary", frozenset())  # type: ignore[no-any-return]

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing = []
        for i, key in enumerate(keys):
            found = self.cache.get(key)
            if found is None:
                missing.append(i)
            else:
                out[i] = found
        self.hits += len(texts) - len(missing)
        if missing:
            started = time.perf_counter()
            vectors = self.inner.embed([texts[i] for i in missing])
            self.embed_seconds += time.perf_counter() - started
            self.embedded += len(missing)
            for i, vector in zip(missing, vectors, strict=True):
                out[i] = vector
                self.cache.put(keys[i], vector)
            self._since_save += len(missing)
            if self._since_save >= CHECKPOINT_EVERY:
                self.cache.save()
                self._since_save = 0
        return out

    def stats(self) -> dict[str, float]:
        rate = self.embedded / self.embed_seconds if self.embed_seconds else float("nan")
        return {"from_cache": self.hits, "embedded": self.embedded,
                "embed_seconds": self.embed_seconds, "passages_per_s": rate}


class TokenCachingEmbedder(CachingEmbedder):
    """A CachingEmbedder whose model also gives content tokens (faqbot.late).

    Token vectors are not cached (about 45 KB per passage): an index build that keeps them
    (corpora up to faqbot.late.TOKENS_UP_TO passages) runs the model on every passage again,
    and the pooled vectors it gets on the way go into the cache.
    """

    def __init__(self, inner: TokenEmbedder, cache: VectorCache) -> None:
        super().__init__(inner, cache)
        self.token_inner = inner

    def embed_with_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[TextTokens]]:
        started = time.perf_counter()
        vectors, tokens = self.token_inner.embed_with_tokens(texts)
        self.embed_seconds += time.perf_counter() - started
        self.embedded += len(texts)
        for text, vector in zip(texts, vectors, strict=True):
            self.cache.put(text_key(text), vector)
        return vectors, tokens


class ContentTokenCachingEmbedder(TokenCachingEmbedder):
    """A TokenCachingEmbedder whose model also tokenizes alone (a question's parts)."""

    def content_ids(self, texts: list[str]) -> list[np.ndarray]:
        assert isinstance(self.token_inner, ContentTokenizer)
        return self.token_inner.content_ids(texts)


def caching_embedder(inner: Embedder, cache: VectorCache) -> CachingEmbedder:
    """The caching wrapper that gives what ``inner`` gives: tokens too when it has them."""
    if isinstance(inner, TokenEmbedder):
        if isinstance(inner, ContentTokenizer):
            return ContentTokenCachingEmbedder(inner, cache)
        return TokenCachingEmbedder(inner, cache)
    return CachingEmbedder(inner, cache)
