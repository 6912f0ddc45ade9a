"""Passages on disk and in memory: one UTF-8 blob of texts with offsets, small arrays, metadata.

An index version holds its passages in three files: ``passages.jsonl`` (one row of metadata
per passage, no text), ``passage_texts.utf8`` (every text, UTF-8, back to back) and
``passage_offsets.npy`` (int64, n + 1: text i is bytes ``offsets[i]:offsets[i + 1]``), the
layout faqbot.late uses for token vectors.

A Python object per passage (a pydantic model with a dozen strings) costs about 4 KB; 100,000
of them cost more than the model. Here a passage is a row: its text a slice of the blob
(memory-mapped when loaded), its section an index into the distinct section names, its
document metadata (title, url, date, kind, supersession) an index into the distinct
combinations, which every passage of a document shares. ``Passage`` objects are made on
access, for the hits a question returns.
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from faqbot.durable import fsync_file, read_lines, write_jsonl, write_npy
from faqbot.models import Passage

META_FILE = "passages.jsonl"
TEXTS_FILE = "passage_texts.utf8"
OFFSETS_FILE = "passage_offsets.npy"
FILES = (META_FILE, TEXTS_FILE, OFFSETS_FILE)

#: Passage fields that are the same for every passage of a document.
_DOC_FIELDS = ("doc", "title", "url", "date", "kind", "superseded_by", "superseded_by_title")


def write_passages(folder: Path, passages: Sequence[Passage], keys: Sequence[str]) -> None:
    """Write the three passage files into ``folder``; ``keys[i]`` is passage i's vector key."""
    write_jsonl(folder / META_FILE,
                (p.model_dump(mode="json", exclude={"text"}) | {"vkey": k}
                 for p, k in zip(passages, keys, strict=True)))
    offsets = np.zeros(len(passages) + 1, dtype=np.int64)
    with open(folder / TEXTS_FILE, "wb") as handle:
        for i, p in enumerate(passages):
            data = p.text.encode()
            handle.write(data)
            offsets[i + 1] = offsets[i] + len(data)
        handle.flush()
        os.fsync(handle.fileno())
    write_npy(folder / OFFSETS_FILE, offsets)
    fsync_file(folder)


class PassageTable(Sequence[Passage]):
    """An immutable sequence of passages; ``table[i]`` builds the ``Passage`` of row ``i``."""

    def __init__(self, passages: Iterable[Passage] = ()) -> None:
        rows = list(passages)
        data = [p.text.encode() for p in rows]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(d) for d in data], out=offsets[1:])
        self._fill(rows, b"".join(data), offsets)

    @classmethod
    def open(cls, folder: Path) -> PassageTable:
        """The passages an index version wrote with :func:`write_passages`.

        Texts are not copied: the blob is memory-mapped and a text is decoded when a passage
        is built. Its pages belong to the page cache (shared between processes, dropped by
        the kernel under pressure), not to this process's heap. Raises ValueError or OSError
        when the files do not fit together.
        """
        rows = [_metadata(line) for line in read_lines(folder / META_FILE)]
        offsets = np.load(folder / OFFSETS_FILE, allow_pickle=False)
        with open(folder / TEXTS_FILE, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            blob: bytes | mmap.mmap = (
                mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b"")
        if (offsets.dtype != np.int64 or offsets.shape != (len(rows) + 1,) or offsets[0] != 0
                or offsets[-1] != size or (np.diff(offsets) < 0).any()):
            raise ValueError(f"{OFFSETS_FILE} does not fit {META_FILE} and {TEXTS_FILE}")
        table = cls.__new__(cls)
        table._fill(rows, blob, offsets)
        table.drop_pages()
        return table

    def _fill(self, rows: list[Passage], blob: bytes | mmap.mmap, offsets: np.ndarray) -> None:
        """Keep the rows' metadata compactly; texts are ``blob[offsets[i]:offsets[i + 1]]``."""
        docs: dict[tuple[str | None, ...], int] = {}
        sections: dict[str, int] = {}
        doc_rows: list[int] = []
        section_rows: list[int] = []
        ids: list[bytes] = []
        spans: list[int] = []
        for p in rows:
            key = tuple(getattr(p, f) for f in _DOC_FIELDS)
            doc_rows.append(docs.setdefault(key, len(docs)))
            section_rows.append(sections.setdefault(p.section, len(sections)))
            ids.append(p.id.encode())
            spans += (p.start, p.end)
        self._docs = list(docs)
        self._sections = list(sections)
        self._doc_rows = np.array(doc_rows, dtype=np.int32)
        self._section_rows = np.array(section_rows, dtype=np.int32)
        self._ids = np.array(ids, dtype=bytes) if ids else np.zeros(0, dtype="S16")
        self._spans = np.array(spans, dtype=np.int64).reshape(-1, 2)
        self._offsets = offsets
        self._text = blob
        self._mapped = isinstance(blob, mmap.mmap)
        self._id_order: np.ndarray | None = None

    def drop_pages(self) -> None:
        """Tell the kernel this process no longer needs the file pages read so far (after
        loading, or after tokenising every text): they leave its RSS and stay in the page
        cache; a passage built later maps its page back in."""
        if isinstance(self._text, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
            self._text.madvise(mmap.MADV_DONTNEED)

    def __len__(self) -> int:
        return len(self._doc_rows)

    @overload
    def __getitem__(self, row: int) -> Passage: ...

    @overload
    def __getitem__(self, row: slice) -> list[Passage]: ...

    def __getitem__(self, row: int | slice) -> Passage | list[Passage]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        row = int(row)
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError("passage row out of range")
        doc = self._docs[self._doc_rows.item(row)]
        start, end = self._spans[row].tolist()
        # model_validate of known-good fields costs what model_construct's shortcuts would
        return Passage.model_validate({
            "id": self._ids[row].decode(), "doc": doc[0], "title": doc[1],
            "section": self._sections[self._section_rows.item(row)], "url": doc[2],
            "date": doc[3], "kind": doc[4], "superseded_by": doc[5],
            "superseded_by_title": doc[6], "text": self.text(row), "start": start, "end": end,
        })

    def __iter__(self) -> Iterator[Passage]:
        for row in range(len(self)):
            yield self[row]

    def text(self, row: int) -> str:
        """The text of one passage, without building the whole ``Passage``."""
        return self._text[self._offsets.item(row):self._offsets.item(row + 1)].decode()

    def rows_by_doc(self) -> dict[str, list[int]]:
        """Rows of each document, in order."""
        out: dict[str, list[int]] = {}
        doc_of = [str(key[0]) for key in self._docs]
        for row, doc in enumerate(self._doc_rows.tolist()):
            out.setdefault(doc_of[doc], []).append(row)
        return out

    def find(self, passage_id: str) -> Passage | None:
        """The passage with this id (binary search over the ids), None when there is none."""
        if self._id_order is None:
            self._id_order = np.argsort(self._ids, kind="stable")
        key = np.array(passage_id.encode(), dtype=self._ids.dtype)
        if key.item() != passage_id.encode():  # longer than any stored id
            return None
        at = int(np.searchsorted(self._ids, key, sorter=self._id_order))
        if at < len(self) and self._ids[self._id_order[at]] == key:
            return self[int(self._id_order[at])]
        return None

    def nbytes(self) -> int:
        """Approximate memory held (arrays and the text buffer; shared metadata excluded)."""
        arrays = (self._doc_rows, self._section_rows, self._ids, self._spans, self._offsets)
        return (0 if self._mapped else len(self._text)) + sum(a.nbytes for a in arrays)


def _metadata(line: str) -> Passage:
    """A row of passages.jsonl, validated, with an empty text (the text is in the blob)."""
    row = json.loads(line)
    row.pop("vkey", None)
    row["text"] = ""
    return Passage.model_validate(row)


def find_passage(passages: Sequence[Passage], passage_id: str) -> Passage | None:
    """A passage by id from a table (fast) or any other sequence (a scan)."""
    if isinstance(passages, PassageTable):
        return passages.find(passage_id)
    return next((p for p in passages if p.id == passage_id), None)
