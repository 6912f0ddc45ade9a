"""The FAISS side: which index type for how many vectors, search on one thread, writing.

Vectors are unit length, so inner product is cosine similarity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from faqbot.durable import fsync_file

#: From this many passages an HNSW graph replaces exact search: exact search costs ~1.4 ms
#: per 10k passages, HNSW (settings below) ~0.2-0.5 ms with recall@10 ≥ 0.98 (bench/README.md).
HNSW_FROM = 20_000
#: HNSW graph: neighbours per node, build-time and search-time candidate lists. efConstruction
#: 200 instead of 80 buys more recall per unit of search time than a larger efSearch does.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 256
#: Passage vectors are stored as float16 (faiss scalar quantizer): half the memory of float32,
#: cosines within 1e-4 of exact. FAQ phrasings (few, and they decide declining) stay float32.
PASSAGE_STORAGE = "fp16"


def stack_vectors(vectors: dict[str, np.ndarray], keys: list[str], dim: int) -> np.ndarray:
    """The rows of ``vectors`` for ``keys``, in that order, as one float32 matrix."""
    if not keys:
        return np.zeros((0, dim), dtype=np.float32)
    return np.ascontiguousarray(np.stack([vectors[k] for k in keys]), dtype=np.float32)


def make_faiss_index(matrix: np.ndarray, hnsw_from: int = HNSW_FROM,
                     storage: str = "fp32") -> Any:
    """Exact inner-product search for small sets, an HNSW graph for large ones.

    ``storage``: "fp32" keeps vectors as they are, "fp16" halves them (scalar quantizer).
    """
    import faiss

    dim = matrix.shape[1]
    metric = faiss.METRIC_INNER_PRODUCT
    if storage not in ("fp32", "fp16"):
        raise ValueError(f"unknown vector storage {storage!r}")
    if len(matrix) >= hnsw_from:
        # the stubs type the quantizer argument as a class; faiss takes the QT_* constant
        index: Any = (faiss.IndexHNSWFlat(dim, HNSW_M, metric) if storage == "fp32" else
                      faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_fp16,  # type: ignore[arg-type]
                                        HNSW_M, metric))
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = (faiss.IndexFlatIP(dim) if storage == "fp32" else
                 faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, metric))
    if len(matrix):
        if not index.is_trained:
            index.train(matrix)  # fp16 needs no statistics; this only marks it trained
        index.add(matrix)
    return index


def search_one_query(index: Any, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``index.search`` for one query vector, on one OpenMP thread.

    FAISS splits a search across queries, and a question is one query, so a second thread only
    adds an OpenMP barrier. When the other core is busy (the server acking, a reload build,
    another process) that barrier waits for a time slice: at 10k passages a search took about
    10 ms instead of 0.5 ms (bench/README.md). The thread count is restored at once: OpenMP
    keeps it per thread and torch shares it, and encoding the question does use both cores.
    """
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(vector, k)
    finally:
        faiss.omp_set_num_threads(before)


def tune_loaded_index(index: Any) -> Any:
    """Search settings are ours, not the file's: an older index gets today's efSearch."""
    hnsw = getattr(index, "hnsw", None)
    if hnsw is not None:
        hnsw.efSearch = max(int(hnsw.efSearch), HNSW_EF_SEARCH)
    return index


def write_faiss(path: Path, matrix: np.ndarray, hnsw_from: int, storage: str = "fp32") -> None:
    """Build the index for ``matrix`` (``make_faiss_index``) and write it, fsynced."""
    import faiss

    faiss.write_index(make_faiss_index(matrix, hnsw_from, storage), str(path))
    fsync_file(path)
