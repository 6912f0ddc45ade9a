"""What every benchmark shares: statistics, memory and CPU readings, the machine, questions.

Readings come from /proc (Linux) and ``resource``; nothing here needs psutil.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import platform
import resource
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faqbot.embedding import Embedder

REPO = Path(__file__).resolve().parents[1]
EVAL_FILES = (REPO / "eval" / "questions.yml", REPO / "eval" / "calibration.yml")
#: The real model; anything else is "module:attribute" naming an Embedder class (tests).
MODEL_SPEC = "model"
_TICKS = os.sysconf("SC_CLK_TCK")


# -- statistics ------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """Median, p95, p99, mean and max of durations given in seconds, in milliseconds."""
    ms = [s * 1000 for s in seconds]
    if not ms:
        return {"n": 0}
    return {"n": len(ms), "median": statistics.median(ms), "p95": percentile(ms, 95),
            "p99": percentile(ms, 99), "mean": statistics.fmean(ms), "max": max(ms)}


# -- memory ----------------------------------------------------------------------------------


def proc_status_mb(field_name: str = "VmRSS", pid: int | str = "self") -> float:
    """A memory line of /proc/<pid>/status (VmRSS, VmHWM...) in MB; nan when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return float("nan")


def peak_rss_mb() -> float:
    """This process's peak resident set (ru_maxrss, KiB on Linux) in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- CPU -------------------------------------------------------------------------------------


def _machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (the first line of /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / _TICKS


def own_cpu_seconds() -> float:
    """User + system CPU of this process and its reaped children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _proc_stats() -> dict[int, list[str]]:
    """Every live process's /proc stat fields after its name (field 3 onwards), by pid."""
    found: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        found[int(entry.name)] = stat.rsplit(")", 1)[1].split()
    return found


def _tree(pid: int, stats: dict[int, list[str]], depth: int | None = None) -> list[int]:
    """``pid`` and its live descendants down to ``depth`` generations (all when None),
    parents before children."""
    found, level = [pid], [pid]
    while level and (depth is None or depth > 0):
        level = [child for child, rest in stats.items() if int(rest[1]) in level]
        found += level
        depth = None if depth is None else depth - 1
    return found


def process_tree(pid: int, depth: int | None = None) -> list[int]:
    """``pid`` and its live descendants (from /proc): its children only with ``depth=1``."""
    return _tree(pid, _proc_stats(), depth)


def process_tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process and all its live descendants (from /proc)."""
    stats = _proc_stats()
    return sum((int(stats[p][11]) + int(stats[p][12])) / _TICKS
               for p in _tree(pid, stats) if p in stats)


@dataclass
class CpuMeter:
    """Wall time, this process's CPU, and CPU used by everything else on the machine.

    ``other_share`` is the fraction of the machine's capacity that other processes used
    meanwhile: a contention warning, since benchmarks share the 2 cores with whatever runs.
    """

    started: float = field(default_factory=time.perf_counter)
    own0: float = field(default_factory=own_cpu_seconds)
    busy0: float = field(default_factory=_machine_busy_seconds)

    def read(self, extra_cpu: float = 0.0) -> dict[str, float]:
        """``extra_cpu``: CPU seconds of our own unreaped subprocesses (a server under test)."""
        wall = time.perf_counter() - self.started
        own = own_cpu_seconds() - self.own0 + extra_cpu
        busy = _machine_busy_seconds() - self.busy0
        cores = os.cpu_count() or 1
        other = max(0.0, busy - own)
        return {"wall_s": wall, "own_cpu_s": own,
                "other_share": other / (wall * cores) if wall > 0 else 0.0}


# -- the machine -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM, versions and the date, for the report header."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    out: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(_mem_total_gb(), 1),
        "python": platform.python_version(), "platform": platform.platform(),
        "load_avg_at_start": list(os.getloadavg()),
    }
    from importlib.metadata import PackageNotFoundError, version

    for name, package in (("torch", "torch"), ("faiss", "faiss-cpu"), ("numpy", "numpy"),
                          ("bm25s", "bm25s"), ("sentence_transformers", "sentence-transformers"),
                          ("slack_bolt", "slack-bolt"), ("gunicorn", "gunicorn")):
        try:
            out[name] = version(package)
        except PackageNotFoundError:
            out[name] = None
    try:
        import torch

        out["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return out


def _mem_total_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


# -- embedders and questions --------------------------------------------------------------------


def load_embedder(spec: str = MODEL_SPEC) -> Embedder:
    """The bundled model for ``"model"``, else the class named by ``"module:attribute"``."""
    if spec == MODEL_SPEC:
        from faqbot.embedding import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder()
    module, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module), attribute)()  # type: ignore[no-any-return]


def bench_questions(limit: int | None = None) -> list[str]:
    """Our own question sets (eval/questions.yml + eval/calibration.yml), ones with words."""
    from faqbot.evaluation import load_questions
    from faqbot.search import has_words

    texts = [q.question for path in EVAL_FILES for q in load_questions(path)]
    texts = [t for t in texts if has_words(t)]
    return texts[:limit] if limit else texts


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python: offline, the repo importable, no Slack/faqbot vars."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "FAQBOT_")) and k != "PORT"}
    env["HF_HUB_OFFLINE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env
