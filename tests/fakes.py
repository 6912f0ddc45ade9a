"""Deterministic stand-ins for the embedding model (shared by every test module)."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from faqbot.late import FUNCTION_WORDS, TextTokens


class FakeEmbedder:
    """Bag-of-words hashed into a small space: same text, same vector; shared words, closer.

    Records every text it was asked to embed, so tests can assert what was (not) embedded.
    """

    model_id = "fake/bag-of-words"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.calls: list[list[str]] = []

    @property
    def embedded(self) -> list[str]:
        return [t for call in self.calls for t in call]

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.casefold()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
                out[i, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
            norm = np.linalg.norm(out[i])
            if norm == 0:
                out[i, 0] = 1.0
            else:
                out[i] /= norm
        return out


class FakeTokenEmbedder(FakeEmbedder):
    """FakeEmbedder that also gives content tokens: one hashed unit vector per word, so a
    question word's best cosine in a passage is 1 when the passage has the word, else ~0."""

    model_id = "fake/bag-of-words+tokens"

    def embed_with_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[TextTokens]]:
        pooled = self.embed(texts)
        tokens = []
        for text in texts:
            hashes = self._hashes(text)
            vectors = np.zeros((len(hashes), self.dim), dtype=np.float32)
            vectors[np.arange(len(hashes)), hashes % self.dim] = 1.0
            tokens.append(TextTokens(vectors, (hashes % 30_000).astype(np.int32)))
        return pooled, tokens

    def content_ids(self, texts: list[str]) -> list[np.ndarray]:
        return [(self._hashes(text) % 30_000).astype(np.int32) for text in texts]

    @staticmethod
    def _hashes(text: str) -> np.ndarray:
        words = [w for w in re.findall(r"\w+", text.casefold()) if w not in FUNCTION_WORDS]
        return np.array([int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(),
                                        "big") for w in words], dtype=np.uint64)
