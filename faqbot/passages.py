"""Passages held compactly in memory: one UTF-8 buffer of texts, small arrays, shared metadata.

A Python object per passage (a pydantic model with a dozen strings) costs about 4 KB; 100,000
of them cost more than the model. Here a passage is a row: its text is a slice of one bytes
buffer, its section an index into the distinct section names, its document metadata (title,
url, date, kind, supersession) an index into the distinct combinations, which every passage
of a document shares. ``Passage`` objects are made on access, for the hits a question returns.
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from faqbot.models import Passage

#: Passage fields that are the same for every passage of a document.
_DOC_FIELDS = ("doc", "title", "url", "date", "kind", "superseded_by", "superseded_by_title")


_PASSAGE_FIELDS = frozenset(Passage.model_fields)


def _passage(fields: dict[str, object]) -> Passage:
    """A Passage from fields validated when the index was loaded: what ``model_construct``
    does for a frozen model without defaults to fill, at a quarter of its cost (a question
    builds one per candidate, ~100)."""
    passage = Passage.__new__(Passage)
    object.__setattr__(passage, "__dict__", fields)
    object.__setattr__(passage, "__pydantic_fields_set__", set(_PASSAGE_FIELDS))
    object.__setattr__(passage, "__pydantic_extra__", None)
    object.__setattr__(passage, "__pydantic_private__", None)
    return passage


class PassageTable(Sequence[Passage]):
    """An immutable sequence of passages; ``table[i]`` builds the ``Passage`` of row ``i``."""

    def __init__(self, passages: Iterable[Passage] = ()) -> None:
        self._fill(((p, None) for p in passages), None)

    @classmethod
    def from_jsonl(cls, path: Path) -> PassageTable:
        """Passages of an index's ``passages.jsonl``, validated row by row.

        Texts are not copied: the file is memory-mapped and a text is decoded from its JSON
        string when a passage is built. Its pages belong to the page cache (shared between
        processes, dropped by the kernel under pressure), not to this process's heap.
        """
        table = cls.__new__(cls)
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                table._fill((), None)
                return table
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if not table._fill(_jsonl_rows(mapped), mapped):
            # a text not written the way faqbot.durable.write_jsonl writes it: hold texts in memory
            table._fill(((p, None) for p, _ in _jsonl_rows(mapped)), None)
            mapped.close()
        table.drop_pages()
        return table

    def _fill(self, rows: Iterable[tuple[Passage, tuple[int, int] | None]],
              mapped: mmap.mmap | None) -> bool:
        """Build from (passage, span of its text's JSON string in ``mapped``); False when a
        span is missing in mapped mode."""
        docs: dict[tuple[str | None, ...], int] = {}
        sections: dict[str, int] = {}
        doc_rows: list[int] = []
        section_rows: list[int] = []
        ids: list[bytes] = []
        spans: list[int] = []
        offsets = [0]
        chunks: list[bytes] = []
        for p, literal in rows:
            key = tuple(getattr(p, f) for f in _DOC_FIELDS)
            doc_rows.append(docs.setdefault(key, len(docs)))
            section_rows.append(sections.setdefault(p.section, len(sections)))
            ids.append(p.id.encode())
            spans += (p.start, p.end)
            if mapped is None:
                text = p.text.encode()
                chunks.append(text)
                offsets.append(offsets[-1] + len(text))
            elif literal is None:
                return False
            else:
                offsets += literal
        self._docs = list(docs)
        self._sections = list(sections)
        self._doc_rows = np.array(doc_rows, dtype=np.int32)
        self._section_rows = np.array(section_rows, dtype=np.int32)
        self._ids = np.array(ids, dtype=bytes) if ids else np.zeros(0, dtype="S16")
        self._spans = np.array(spans, dtype=np.int64).reshape(-1, 2)
        if mapped is None:
            self._offsets = np.array(offsets, dtype=np.int64)
        else:  # (start, end) of each text's JSON string in the file
            self._offsets = np.array(offsets[1:], dtype=np.int64).reshape(-1, 2)
        self._text: bytes | mmap.mmap = b"".join(chunks) if mapped is None else mapped
        self._mapped = mapped is not None
        self._id_order: np.ndarray | None = None
        return True

    def drop_pages(self) -> None:
        """Tell the kernel this process no longer needs the file pages read so far (after
        loading, or after tokenising every text): they leave its RSS and stay in the page
        cache; a passage built later maps its page back in."""
        if self._mapped and hasattr(mmap, "MADV_DONTNEED"):
            self._text.madvise(mmap.MADV_DONTNEED)  # type: ignore[union-attr]

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
        return _passage({  # Passage's fields, in its order
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
        if self._mapped:
            start, end = self._offsets[row].tolist()
            inner = self._text[start + 1:end - 1]  # without the quotes
            # no backslash: nothing escaped, the JSON string is the UTF-8 text itself
            return inner.decode() if b"\\" not in inner else str(json.loads(self._text[start:end]))
        return self._text[self._offsets.item(row):self._offsets.item(row + 1)].decode()

    def doc(self, row: int) -> str:
        return str(self._docs[self._doc_rows[row]][0])

    def section(self, row: int) -> str:
        return self._sections[self._section_rows[row]]

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


_TEXT_KEY = b'"text": '


def _jsonl_rows(mapped: mmap.mmap) -> Iterator[tuple[Passage, tuple[int, int] | None]]:
    """Each row of a passages.jsonl as a validated Passage and the span of its text's JSON
    string (None when the row is not laid out as ``json.dumps`` writes it)."""
    mapped.seek(0)
    position = 0
    for line in iter(mapped.readline, b""):
        start, position = position, position + len(line)
        if not line.strip():
            continue
        row = json.loads(line)
        row.pop("vkey", None)
        passage = Passage.model_validate(row)
        literal = json.dumps(passage.text, ensure_ascii=False).encode()
        at = line.find(_TEXT_KEY)  # a key: inside a JSON string the quotes would be escaped
        span = None
        if at >= 0:
            lo = at + len(_TEXT_KEY)
            if line[lo:lo + len(literal)] == literal:
                span = (start + lo, start + lo + len(literal))
        yield passage, span


def find_passage(passages: Sequence[Passage], passage_id: str) -> Passage | None:
    """A passage by id from a table (fast) or any other sequence (a scan)."""
    if isinstance(passages, PassageTable):
        return passages.find(passage_id)
    return next((p for p in passages if p.id == passage_id), None)
