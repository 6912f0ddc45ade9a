"""Files that survive a crash: written, flushed and fsynced; checksums; folder syncs."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np


def write_jsonl(path: Path, rows: Any) -> None:
    """One JSON object per line (UTF-8, not ASCII-escaped), fsynced."""
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def write_text(path: Path, text: str) -> None:
    """``text`` as UTF-8, fsynced."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def read_lines(path: Path) -> list[str]:
    """The non-blank lines of a UTF-8 file."""
    return [line for line in path.read_text("utf-8").splitlines() if line.strip()]


def file_sha(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_file(path: Path) -> None:
    """Flush a file (or, on Linux, a folder) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk, where the system allows it."""
    with contextlib.suppress(OSError):
        fsync_file(path)


def write_npy(path: Path, array: np.ndarray) -> None:
    """An array in numpy's own format (no pickle), fsynced."""
    with open(path, "wb") as handle:
        np.save(handle, array, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
