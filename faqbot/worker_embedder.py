"""The server's embedder when the model lives in the answer worker: one model per replica.

The server (the gunicorn worker, or the Socket Mode process) loads no model and never imports
torch. What it embeds is document text for index builds (start-up, hot reload, repair):
each batch goes to the answer worker (``faqbot.answerer``), which embeds it with the model it
answers with, so a question waits at most one batch while a build runs. Questions are never
embedded here: they are answered in the worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from faqbot.embedding import Embedder
from faqbot.late import TextTokens

if TYPE_CHECKING:
    from faqbot.answerer import ModelInfo

#: Runs a module-level function in the answer worker (``ProcessAnswerer.run``).
Run = Callable[..., Any]


class WorkerEmbedder:
    """Embeds in the answer worker; ``model_id`` and ``dim`` are the worker's model's."""

    def __init__(self, info: ModelInfo, run: Run) -> None:
        self.model_id = info.model_id
        self.dim = info.dim
        self._run = run
        self._vocabulary: frozenset[str] | None = None
        self._lock = threading.Lock()

    @property
    def vocabulary(self) -> frozenset[str]:
        """The model's whole words, asked of the worker once (only if this process ranks)."""
        from faqbot.answerer import _vocabulary

        with self._lock:
            if self._vocabulary is None:
                self._vocabulary = frozenset(self._run(_vocabulary))
            return self._vocabulary

    def embed(self, texts: list[str]) -> np.ndarray:
        from faqbot.answerer import _embed

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(self._run(_embed, list(texts)), dtype=np.float32)


class WorkerTokenEmbedder(WorkerEmbedder):
    """The same, for a model that gives content-token vectors too (faqbot.late)."""

    def embed_with_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[TextTokens]]:
        from faqbot.answerer import _embed_with_tokens

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        vectors, tokens = self._run(_embed_with_tokens, list(texts))
        return np.ascontiguousarray(vectors, dtype=np.float32), list(tokens)


def worker_embedder(info: ModelInfo, run: Run) -> Embedder:
    """The embedder matching the worker's model (with tokens when it gives them)."""
    return WorkerTokenEmbedder(info, run) if info.tokens else WorkerEmbedder(info, run)
