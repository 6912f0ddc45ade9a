"""Generated knowledge folders of any size, indexed through faqbot's own build.

A corpus of N passages is the bundled ``knowledge/`` folder (FAQ, opt-out, out-of-scope
examples and documents, as in production) plus generated Markdown documents. Each generated
section mixes 2-6 sentences drawn from the bundled documents and the PolicyQA segments, under a
numbered heading, so every passage text (and vector) differs while reading like a policy.
File ``i`` depends only on ``i``: a smaller corpus is a prefix of a larger one, and vectors
cached for the largest serve them all.

Run as a module it builds one corpus in a child process, so the parent can read its peak
memory (``python -m bench.corpus --passages N --knowledge DIR --index DIR``).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from bench.common import MODEL_SPEC, REPO, load_embedder, peak_rss_mb, proc_status_mb
from bench.policyqa import DEFAULT_PATH as POLICYQA_PATH

BUNDLED = REPO / "knowledge"
SECTIONS_PER_FILE = 20
SEED = "faqbot-bench-v1"
TOPICS = (
    "Information we collect", "How we use information", "Data retention", "Sharing with third "
    "parties", "Cookies and tracking", "Your choices", "Security", "Children's privacy",
    "International transfers", "Advertising", "Machine learning and models", "Customer data",
    "Contacting us", "Changes to this notice", "Access and deletion", "Workspace owners",
)
KINDS = ("policy", "official", "news", "internal")
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


@lru_cache(maxsize=1)
def sentence_pool(policyqa: Path = POLICYQA_PATH) -> tuple[str, ...]:
    """Sentences of 4-60 words from the bundled documents and the PolicyQA segments."""
    from faqbot.sources import load_knowledge

    texts = [d.text for d in load_knowledge(BUNDLED).documents]
    if policyqa.exists():
        data = json.loads(policyqa.read_text(encoding="utf-8"))["data"]
        texts += [p["context"] for item in data for p in item["paragraphs"]]
    seen: dict[str, None] = {}
    for text in texts:
        for line in text.splitlines():
            for sentence in _SPLIT.split(line.strip(" \t-*#>")):
                words = sentence.split()
                if 4 <= len(words) <= 60 and sentence[0].isupper() and "---" not in sentence:
                    seen.setdefault(" ".join(words), None)
    return tuple(seen)


def _section(rng: random.Random, pool: tuple[str, ...], max_words: int = 100) -> str:
    target = rng.randint(35, 90)
    chosen: list[str] = []
    words = 0
    while words < target:
        sentence = pool[rng.randrange(len(pool))]
        n = len(sentence.split())
        if words + n > max_words:
            if chosen:
                break
            continue
        chosen.append(sentence)
        words += n
    return " ".join(chosen)


def generated_file(number: int, sections: int = SECTIONS_PER_FILE) -> tuple[str, str]:
    """(relative path, Markdown text) of generated document ``number``; one passage a section."""
    pool = sentence_pool()
    rng = random.Random(f"{SEED}:{number}")
    site = rng.choice(("Acme", "Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay"))
    kind = KINDS[number % len(KINDS)]
    date = f"20{rng.randint(15, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    head = ["---", f"title: {json.dumps(f'{site} privacy notice, edition {number}')}",
            f"url: https://example.com/bench/{number}", f"kind: {kind}", f"date: {date}", "---",
            ""]
    body = []
    for s in range(1, sections + 1):
        topic = TOPICS[rng.randrange(len(TOPICS))]
        body += [f"## {topic} ({number}.{s})", "", _section(rng, pool), ""]
    return f"generated/{number // 1000:03d}/doc-{number:06d}.md", "\n".join(head + body)


@lru_cache(maxsize=4)
def base_passages(base: Path = BUNDLED) -> int:
    """How many passages the base knowledge folder makes."""
    from faqbot.chunking import MAX_WORDS, chunk_all
    from faqbot.sources import load_knowledge

    return len(chunk_all(load_knowledge(base).documents, MAX_WORDS))


def write_knowledge(target: Path, passages: int, base: Path = BUNDLED,
                    sections: int = SECTIONS_PER_FILE) -> dict[str, int]:
    """Copy ``base`` to ``target`` and add generated documents up to about ``passages``."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(base, target)
    extra = max(0, passages - base_passages(base))
    files = -(-extra // sections)
    for number in range(files):
        rel, text = generated_file(number, sections)
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return {"generated_files": files, "expected_passages": base_passages(base) + files * sections}


def small_files(target: Path, count: int, base: Path | None = None) -> Path:
    """A folder of ``count`` small Markdown documents (1-3 sections each), plus ``base``."""
    if target.exists():
        shutil.rmtree(target)
    if base is not None:
        shutil.copytree(base, target)
    target.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        sections = 1 + number % 3
        rel, text = generated_file(10_000_000 + number, sections)
        path = target / "small" / Path(rel).name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target


def iter_sizes(text: str) -> Iterator[int]:
    for part in text.split(","):
        yield int(float(part.strip().lower().replace("k", "e3")))


def build(knowledge: Path, index: Path, embedder: Any, hnsw_from: int) -> dict[str, Any]:
    """Load the folder and build its index with faqbot's IndexStore; what it took."""
    from faqbot.index import IndexStore
    from faqbot.sources import load_knowledge

    started = time.perf_counter()
    kb = load_knowledge(knowledge)
    loaded = time.perf_counter() - started
    report = IndexStore(index).build(kb, embedder, hnsw_from=hnsw_from)
    return {"passages": report.passages, "files": report.files, "embedded": report.embedded,
            "load_knowledge_s": loaded, "build_s": report.seconds,
            "total_s": time.perf_counter() - started, "full_build": report.rebuilt_from_scratch}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate and index one benchmark corpus.")
    parser.add_argument("--passages", type=int, required=True)
    parser.add_argument("--knowledge", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--base", type=Path, default=BUNDLED)
    parser.add_argument("--cache", type=Path, help="vector cache folder (real model only)")
    parser.add_argument("--embedder", default=MODEL_SPEC)
    parser.add_argument("--hnsw-from", type=int, default=10**12)
    args = parser.parse_args(argv)

    from bench.vectors import CachingEmbedder, VectorCache, caching_embedder

    written = write_knowledge(args.knowledge, args.passages, args.base)
    started = time.perf_counter()
    inner = load_embedder(args.embedder)
    model_s = time.perf_counter() - started
    rss_model = proc_status_mb()
    embedder: Any = inner
    if args.cache is not None:
        embedder = caching_embedder(inner, VectorCache(args.cache, inner.model_id, inner.dim))
    try:
        result = build(args.knowledge, args.index, embedder, args.hnsw_from)
    finally:
        if isinstance(embedder, CachingEmbedder):
            embedder.cache.save()
    result |= written | {"model_load_s": model_s, "rss_after_model_mb": rss_model,
                         "peak_rss_mb": peak_rss_mb()}
    if isinstance(embedder, CachingEmbedder):
        result["cache"] = embedder.stats() | {"size": len(embedder.cache)}
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
