"""Late interaction: score a passage by its best-matching token for each word of the question.

A passage's one pooled vector blurs all its words into one point; in a long policy section the
words that answer the question are a few among many. Late interaction (MaxSim, as in ColBERT,
here with the unchanged sentence-transformers model) keeps the model's contextual vector of
every content token: each content token of the question takes its best cosine among the
passage's tokens, and the question's tokens are averaged with BM25 IDF weights, so "retention"
counts for more than "information". The passage tokens come from the forward pass that gives
the pooled vector, so an index build embeds nothing more.

Only content tokens are kept on both sides: function words ("do", "you", "the") and punctuation
match everything and would drown the signal. Token vectors are stored as float16 in one flat
file per index version and read per candidate (``os.pread``), so they cost disk, not memory.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faqbot.durable import write_npy

#: Changes whenever what is stored changes (the manifest records it; a mismatch rebuilds).
TOKENS_VERSION = "content-tokens-v1"
#: Token vectors take ~45 KB per passage on disk (float16); above this many passages an index
#: is built without them and ranking goes without late interaction.
TOKENS_UP_TO = 20_000
TOKEN_FILES = ("tokens.f16", "token_offsets.npy", "token_ids.npy")

#: Word pieces that carry no topic: question boilerplate, pronouns, auxiliaries, articles.
#: Verb particles (out, up, off, on, in, down, over) are NOT here: "opt out", "sign up" and
#: "turn off" are what privacy questions are about.
_FUNCTION_WORDS = """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing during each few for from further
had has have having he her here hers herself him himself his how i if into is it its itself
just may me might more most must my myself no nor not now of once only or other our
ours ourselves own same shall she should so some such than that the their theirs them
themselves then there these they this those through to too under until upon very was we
were what when where which while who whom whose why will with would you your yours yourself
yourselves
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())


def content_mask(pieces: list[str]) -> np.ndarray:
    """Which word pieces to keep: words and numbers that are not function words.

    Continuations ("##ing") are kept: they belong to a longer, rarer word. Special tokens
    ([CLS], [SEP], <s>) and punctuation are dropped. SentencePiece and byte-level BPE mark a
    word's start ("▁data", "Ġdata") where WordPiece marks its continuations; the mark is
    ignored, so other models' tokenizers work too.
    """
    def keep(piece: str) -> bool:
        if piece.startswith("##"):
            return True
        word = piece.lstrip("\u2581\u0120")  # ▁ (SentencePiece), Ġ (byte-level BPE)
        return word.isalnum() and word.casefold() not in FUNCTION_WORDS

    return np.array([keep(p) for p in pieces], dtype=bool)


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class TextTokens:
    """The content tokens of one text: unit vectors and the tokenizer ids they came from."""

    vectors: np.ndarray  # (tokens, dim) float32
    ids: np.ndarray  # (tokens,) int32


def tokens_among(tokens: TextTokens, ids: np.ndarray) -> TextTokens:
    """The tokens of ``tokens`` whose tokenizer id is one of ``ids``: a part of a question
    read with the vectors the whole question gave its words."""
    keep = np.isin(tokens.ids, ids)
    return TextTokens(tokens.vectors[keep], tokens.ids[keep])


class TokenStore:
    """Every passage's content-token vectors: passage ``i`` owns rows ``offsets[i]:offsets[i+1]``.

    ``vectors`` is an in-memory float16 matrix, or the path of a flat float16 file whose
    rows are read only for the passages asked for. ``ids`` (tokenizer ids) give the IDF.
    """

    def __init__(self, vectors: np.ndarray | Path, offsets: np.ndarray, ids: np.ndarray,
                 dim: int) -> None:
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.ids = np.asarray(ids, dtype=np.int32)
        self.dim = dim
        self._vectors = vectors
        rows = int(self.offsets[-1]) if len(self.offsets) else 0
        if len(self.offsets) == 0 or self.offsets[0] != 0 or np.any(np.diff(self.offsets) < 0):
            raise ValueError("token offsets are not increasing from 0")
        if len(self.ids) != rows:
            raise ValueError(f"{len(self.ids)} token ids for {rows} token vectors")
        size = vectors.stat().st_size if isinstance(vectors, Path) else len(vectors) * 2 * dim
        if size != rows * 2 * dim:
            raise ValueError(f"{size} bytes of token vectors for {rows} offsets of width {dim}")

    @classmethod
    def from_tokens(cls, tokens: list[TextTokens], dim: int) -> TokenStore:
        """An in-memory store (for a corpus that is never written to disk)."""
        offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(t.ids) for t in tokens])
        vectors = (np.concatenate([t.vectors for t in tokens]).astype(np.float16)
                   if offsets[-1] else np.zeros((0, dim), dtype=np.float16))
        ids = (np.concatenate([t.ids for t in tokens]) if offsets[-1]
               else np.zeros(0, dtype=np.int32))
        return cls(vectors, offsets, ids, dim)

    @classmethod
    def open(cls, folder: Path, dim: int) -> TokenStore:
        """The store an index version wrote with :func:`write_tokens` (``dim``: its width)."""
        offsets = np.load(folder / "token_offsets.npy", allow_pickle=False)
        ids = np.load(folder / "token_ids.npy", allow_pickle=False)
        return cls(folder / "tokens.f16", offsets, ids, dim)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def groups(self, rows: list[int]) -> list[np.ndarray]:
        """The float16 token vectors of each passage in ``rows``."""
        if isinstance(self._vectors, np.ndarray):
            return [self._vectors[self.offsets[r] : self.offsets[r + 1]] for r in rows]
        width = 2 * self.dim
        out = []
        fd = os.open(self._vectors, os.O_RDONLY)
        try:
            for r in rows:
                start, end = int(self.offsets[r]), int(self.offsets[r + 1])
                data = os.pread(fd, (end - start) * width, start * width)
                if len(data) != (end - start) * width:
                    raise OSError(f"token file {self._vectors} is shorter than its offsets")
                out.append(np.frombuffer(data, dtype=np.float16).reshape(-1, self.dim))
        finally:
            os.close(fd)
        return out

    def token_ids(self, row: int) -> np.ndarray:
        return self.ids[self.offsets[row] : self.offsets[row + 1]]

    def text_tokens(self, row: int) -> TextTokens:
        """One passage's tokens as stored (float16 vectors)."""
        return TextTokens(self.groups([row])[0], self.token_ids(row))

    def idf(self) -> Idf:
        """BM25's inverse document frequency of each tokenizer id over the passages."""
        n = len(self)
        size = int(self.ids.max()) + 1 if len(self.ids) else 1
        owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(self.offsets))
        pairs = np.unique(owner * size + self.ids.astype(np.int64))  # each (passage, id) once
        df = np.bincount((pairs % size).astype(np.int64), minlength=size)
        return Idf(np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32),
                   unseen=float(math.log1p((n + 0.5) / 0.5)))


@dataclass(frozen=True)
class Idf:
    """IDF by tokenizer id; an id no passage has weighs as much as the rarest can."""

    values: np.ndarray
    unseen: float

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        known = ids < len(self.values)
        return np.where(known, self.values[np.where(known, ids, 0)], self.unseen).astype(
            np.float32)


class TokenWriter:
    """Appends passages' tokens to a flat float16 file, one passage at a time.

    The width is the first non-empty passage's (a model with a projection layer has token
    vectors wider or narrower than its sentence vectors); every passage must share it.
    """

    def __init__(self, path: Path, dim: int) -> None:
        self.path = path
        self.dim = dim
        self._width: int | None = None
        self._offsets = [0]
        self._ids: list[np.ndarray] = []
        self._handle = open(path, "wb")  # noqa: SIM115 - closed by finish()

    def add(self, tokens: TextTokens) -> int:
        """Append one passage's tokens; return its row."""
        vectors = np.asarray(tokens.vectors)
        ids = np.asarray(tokens.ids, dtype=np.int32)
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} token ids for {len(vectors)} token vectors")
        if len(vectors):
            if vectors.ndim != 2 or vectors.shape[1] != (self._width or vectors.shape[1]):
                raise ValueError(f"token vectors of shape {vectors.shape}, not width "
                                 f"{self._width}")
            self._width = vectors.shape[1]
            self._handle.write(np.ascontiguousarray(vectors, dtype=np.float16).tobytes())
        self._offsets.append(self._offsets[-1] + len(vectors))
        self._ids.append(ids)
        return len(self._offsets) - 2

    def finish(self) -> TokenStore:
        """Close the file and return a store that reads it."""
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        ids = np.concatenate(self._ids) if self._ids else np.zeros(0, dtype=np.int32)
        return TokenStore(self.path, np.array(self._offsets, dtype=np.int64), ids,
                          self._width or self.dim)


def write_tokens(folder: Path, groups: Iterable[TextTokens], dim: int) -> int:
    """Write each passage's tokens, in passage order, as the files ``TokenStore.open`` reads;
    return the width of the vectors written (``dim`` when there are none).

    Vectors are written one passage at a time: nothing holds them all.
    """
    writer = TokenWriter(folder / "tokens.f16", dim)
    for tokens in groups:
        writer.add(tokens)
    store = writer.finish()
    for name, array in (("token_offsets.npy", store.offsets), ("token_ids.npy", store.ids)):
        write_npy(folder / name, array)
    return store.dim


def maxsim(query: TextTokens, passages: list[np.ndarray], idf: Idf) -> np.ndarray:
    """Per passage: the IDF-weighted mean over the question's content tokens of each one's best
    cosine with the passage's content tokens (0 for a passage, or a question, without any)."""
    out = np.zeros(len(passages), dtype=np.float32)
    if not len(query.ids) or not passages:
        return out
    weights = idf(query.ids)
    lengths = np.array([len(p) for p in passages])
    present = np.flatnonzero(lengths)
    if not len(present):
        return out
    stacked = np.concatenate([passages[i] for i in present])  # float16, as stored
    sims = _cosines(np.ascontiguousarray(query.vectors, dtype=np.float32), stacked)
    bounds = np.concatenate([[0], np.cumsum(lengths[present])[:-1]])
    best = np.maximum.reduceat(sims, bounds, axis=1)  # (question tokens, candidates)
    out[present] = np.einsum("q,qc->c", weights, best) / weights.sum()
    return out


def _cosines(query: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """(question tokens, passage tokens) dot products, in torch.

    Measured per reranked question (20 candidates, ~1,200 float16 token vectors): numpy's
    float16 → float32 cast alone took 0.9 ms, torch's cast and product together 0.2 ms; and
    numpy's BLAS threads, woken by the product, spun while the model encoded the next question
    (its p95 went from 14 to ~100 ms). torch runs on the threads the model already uses, and is
    loaded whenever a model that gives tokens is.
    """
    import torch

    product = torch.from_numpy(query) @ torch.from_numpy(tokens).float().T
    return product.numpy()
