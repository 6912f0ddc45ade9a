"""Writing one index version: chunk, embed what is new, write the files and the manifest.

Unchanged texts are not embedded again: their vectors (and token vectors) come from the
previous version, found by a hash of the text. The store (``faqbot.index``) decides where the
version goes and makes it current.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faqbot.chunking import CHUNKER_VERSION, MAX_WORDS, chunk_all, embedding_text
from faqbot.durable import file_sha, write_jsonl, write_text
from faqbot.embedding import Embedder, TokenEmbedder
from faqbot.late import (
    TOKEN_FILES,
    TOKENS_UP_TO,
    TOKENS_VERSION,
    TokenStore,
    TokenWriter,
    write_tokens,
)
from faqbot.passages import FILES as PASSAGE_FILES
from faqbot.passages import write_passages
from faqbot.scope import defaults_digest, out_of_scope_examples
from faqbot.snapshot import DocInfo
from faqbot.sources import Knowledge
from faqbot.vector_index import PASSAGE_STORAGE, stack_vectors, write_faiss

#: 2: passage texts in a UTF-8 blob with offsets (faqbot.passages), not in passages.jsonl
FORMAT_VERSION = 2
FILES = (*PASSAGE_FILES, "passages.faiss", "faq.jsonl", "faq.faiss", "knowledge.json")

#: What a previous version offers a build: vectors and (store, row) of token vectors by text
#: key, and the file hashes it was built from.
Reusable = tuple[dict[str, np.ndarray], dict[str, tuple[TokenStore, int]], dict[str, str]]


@dataclass(frozen=True)
class Written:
    """What ``write_version`` wrote."""

    passages: int
    embedded: int  # texts embedded (not reused)
    files: dict[str, str]  # knowledge file -> content hash


def text_key(text: str) -> str:
    """The key a text's vector is stored and reused under."""
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def chunker_id() -> str:
    """The chunker's version and limit, and the shipped out-of-scope examples: a change means
    every passage is re-made."""
    return f"{CHUNKER_VERSION}/{MAX_WORDS}/{defaults_digest()}"


def version_name() -> str:
    """A new version's name; names sort by creation time."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


def write_version(tmp: Path, kb: Knowledge, embedder: Embedder, old: Reusable | None, *,
                  progress: Callable[[int, int], None] | None, hnsw_from: int) -> Written:
    """Write every file of a version of ``kb`` into the empty folder ``tmp``."""
    old_vectors, token_sources, _old_files = old if old else ({}, {}, {})
    passages = chunk_all(kb.documents, MAX_WORDS)
    p_keys = [text_key(embedding_text(p)) for p in passages]
    faq_rows: list[tuple[str | None, str]] = [
        (e.id, text) for e in kb.faq for text in e.phrasings
    ]
    faq_rows += [(None, text) for text in out_of_scope_examples(kb.out_of_scope)]
    f_keys = [text_key(text) for _, text in faq_rows]
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
    # new passages' tokens go to a spool file as they are embedded, not into memory
    spool = TokenWriter(tmp / "tokens.spool", embedder.dim) if to_tokenise else None
    embedded, new_rows = _embed_in_batches(
        embedder, [texts[k] for k in to_tokenise + missing], to_tokenise + missing,
        progress, spool=spool, with_tokens=len(to_tokenise))
    vectors.update(embedded)
    if spool is not None:
        spooled = spool.finish()
        token_sources.update((k, (spooled, row)) for k, row in new_rows.items())
    p_matrix = stack_vectors(vectors, p_keys, embedder.dim)
    f_matrix = stack_vectors(vectors, f_keys, embedder.dim)
    write_passages(tmp, passages, p_keys)
    write_jsonl(tmp / "faq.jsonl",
                ({"faq_id": fid, "text": text, "vkey": k}
                 for (fid, text), k in zip(faq_rows, f_keys, strict=True)))
    write_faiss(tmp / "passages.faiss", p_matrix, hnsw_from, PASSAGE_STORAGE)
    write_faiss(tmp / "faq.faiss", f_matrix, hnsw_from)
    files: tuple[str, ...] = FILES
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
    write_text(tmp / "knowledge.json", json.dumps(knowledge, ensure_ascii=False))
    new_files = kb.file_hashes
    manifest = {
        "format": FORMAT_VERSION,
        "model_id": embedder.model_id,
        "dim": embedder.dim,
        "chunker": chunker_id(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "index_type": "hnsw" if len(passages) >= hnsw_from else "flat",
        "vector_storage": PASSAGE_STORAGE,
        "tokens": TOKENS_VERSION if with_tokens else False,
        "token_dim": token_dim,
        "files": new_files,
        "counts": {"documents": len(kb.documents), "passages": len(passages),
                   "faq": len(kb.faq), "faq_phrasings": len(faq_rows),
                   "out_of_scope_examples": len(out_of_scope_examples(kb.out_of_scope))},
        "checksums": {f: file_sha(tmp / f) for f in files},
    }
    write_text(tmp / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return Written(passages=len(passages), embedded=len(to_tokenise) + len(missing),
                   files=new_files)


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
