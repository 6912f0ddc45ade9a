"""Give freed heap memory back to the operating system after a large transient allocation."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def release_free_memory() -> bool:
    """Collect garbage, then ask glibc to return free heap pages (``malloc_trim``).

    Loading an index and building the keyword index parse and tokenise every passage; the
    temporary objects are freed, but glibc keeps the pages (about 200 MB at 100k passages)
    unless asked. Returns False where there is no glibc (nothing to do there).
    """
    gc.collect()
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
