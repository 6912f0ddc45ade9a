"""Cut documents into passages: section-aware, whole sentences, stable ids, exact offsets."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator

from faqbot.models import Document, Passage

#: all-MiniLM-L6-v2 reads 256 word pieces; ~120 English words stay well inside that.
MAX_WORDS = 120
# v3: readers clean scraped Markdown and HTML and find clauses and bold headings, and links,
# addresses and emphasis are kept out of the model's text; v4: a paragraph led by a bold
# label ("**Registration**. You must…") is a section of its own: an index built before is stale
CHUNKER_VERSION = "sentences-v4"

_ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "inc", "ltd", "llc", "co",
                  "no", "st", "u.s", "u.k", "e.u", "approx", "fig", "cf", "al"}
# A sentence ends at . ! ? (optionally closed by quotes or brackets) before whitespace;
# paragraphs and list items end at line breaks.
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s)")
_BLOCK_BREAK = re.compile(r"\n[ \t]*\n|\n(?=[ \t]*(?:[-*+•]|\d+[.)])[ \t])")


def passage_id(doc: str, section: str, text: str) -> str:
    """Stable id: the same text in the same document and section always gets the same id."""
    digest = hashlib.sha256(f"{doc}\n{section}\n{text}".encode()).hexdigest()
    return digest[:16]


def sentence_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Sentence spans (start, end) within text[start:end], whitespace trimmed."""
    blocks = []
    cursor = start
    for match in _BLOCK_BREAK.finditer(text, start, end):
        blocks.append((cursor, match.start()))
        cursor = match.end()
    blocks.append((cursor, end))
    for b_start, b_end in blocks:
        cursor = b_start
        for match in _SENTENCE_END.finditer(text, b_start, b_end):
            word = re.search(r"(\S+)$", text[cursor : match.start()])
            if word and word.group(1).casefold().rstrip(".") in _ABBREVIATIONS:
                continue
            following = text[match.end() : match.end() + 3].lstrip()
            if following and following[0].islower():
                continue  # "2.5 mm", "p. 3": not an end of sentence
            yield from _trimmed(text, cursor, match.end())
            cursor = match.end()
        yield from _trimmed(text, cursor, b_end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        yield start + lead, start + lead + len(stripped)


def _words(text: str, span: tuple[int, int]) -> int:
    return len(text[span[0] : span[1]].split())


def _pack(text: str, spans: list[tuple[int, int]], max_words: int) -> list[tuple[int, int]]:
    """Group consecutive sentences into runs of at most ``max_words`` words."""
    groups: list[list[tuple[int, int]]] = []
    count = 0
    for span in spans:
        n = _words(text, span)
        if groups and count + n <= max_words:
            groups[-1].append(span)
            count += n
        else:
            groups.append([span])
            count = n
    # a very short tail (under a fifth of the limit) joins the passage before it when the
    # pair stays within 120% of the limit: a lone closing sentence reads badly on its own
    if len(groups) > 1:
        tail = sum(_words(text, s) for s in groups[-1])
        head = sum(_words(text, s) for s in groups[-2])
        if tail < max_words // 5 and head + tail <= max_words * 1.2:
            groups[-2].extend(groups.pop())
    return [(g[0][0], g[-1][1]) for g in groups]


def chunk_document(doc: Document, max_words: int = MAX_WORDS) -> list[Passage]:
    """Passages of one document, in reading order."""
    passages = []
    meta = doc.meta
    for section in doc.sections:
        name = " > ".join(section.path)
        spans = list(sentence_spans(doc.text, section.start, section.end))
        for start, end in _pack(doc.text, spans, max_words):
            body = doc.text[start:end]
            passages.append(
                Passage(
                    id=passage_id(doc.path, name, body),
                    doc=doc.path,
                    title=meta.title,
                    section=name,
                    url=meta.url,
                    date=meta.date,
                    kind=meta.kind,
                    superseded_by=meta.superseded_by,
                    text=body,
                    start=start,
                    end=end,
                )
            )
    return passages


def chunk_all(docs: Iterable[Document], max_words: int = MAX_WORDS) -> list[Passage]:
    """Passages of every document, with each superseded document's replacement title filled in."""
    docs = list(docs)
    titles = {d.path: d.meta.title for d in docs}
    out = []
    for doc in docs:
        for passage in chunk_document(doc, max_words):
            if passage.superseded_by:
                passage = passage.model_copy(
                    update={"superseded_by_title": titles.get(passage.superseded_by)}
                )
            out.append(passage)
    return out


def embedding_text(passage: Passage) -> str:
    """What the model and keyword index read: title and heading path give the chunk context."""
    from faqbot.normalise import for_embedding

    heading = f" — {passage.section}" if passage.section else ""
    return for_embedding(f"{passage.title}{heading}\n{passage.text}")
