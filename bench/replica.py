"""One replica as it is deployed: its start-to-ready time and the memory of all its processes.

``faqbot serve`` in HTTP mode (gunicorn master, its worker, the answer worker) starts fresh on
an index already on disk (a restart or a new replica on the shared volume); the clock runs
from just before the process is started to the first ``GET /readyz`` that answers 200. Then
``questions`` signed ``/privacy`` commands (our bench questions, cycled) go to it over HTTP,
answered through a fake Slack on 127.0.0.1, and every process of the replica is read from
/proc: VmRSS (resident, counting pages shared between processes once per process: the
target's measure), Pss (shared pages split between the processes that share them) and VmHWM
(each process's peak). The load average is recorded before and after.

With a stand-in model (tests), ``python -m bench.replica --serve SPEC`` runs the same server
with that model in the answer worker.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import MODEL_SPEC, process_tree, subprocess_env, summary_ms

#: Targets of issue 17, per replica (every process together).
RSS_TARGET_MB = 650.0
READY_TARGET_S = 10.0
CONCURRENCY = 8


def _kb_fields(path: Path, names: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        for line in path.read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in names:
                out[key] = int(rest.split()[0]) / 1024
    except (OSError, ValueError):
        pass
    return out


def process_memory(pid: int) -> dict[str, Any]:
    """One process: what it is, VmRSS, VmHWM, Pss (MB), whether torch is mapped in it."""
    status = _kb_fields(Path(f"/proc/{pid}/status"), ("VmRSS", "VmHWM"))
    rollup = _kb_fields(Path(f"/proc/{pid}/smaps_rollup"), ("Pss",))
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        cmdline, maps = "", ""
    return {"pid": pid, "role": _role(cmdline), "rss_mb": status.get("VmRSS"),
            "peak_rss_mb": status.get("VmHWM"), "pss_mb": rollup.get("Pss"),
            "torch_loaded": "libtorch" in maps}


def _role(cmdline: str) -> str:
    if "multiprocessing.resource_tracker" in cmdline:
        return "resource tracker"
    if "multiprocessing" in cmdline or "spawn_main" in cmdline:
        return "answer worker"
    return "server"


def replica_memory(pid: int) -> dict[str, Any]:
    """Every process of the replica rooted at ``pid`` and the sums."""
    processes = [process_memory(p) for p in process_tree(pid)]
    roles = iter(("gunicorn master", "gunicorn worker"))
    for p in processes:  # the tree is walked from the root: master first, then its worker
        if p["role"] == "server":
            p["role"] = next(roles, "server")
    total = {key: sum(p[key] or 0.0 for p in processes)
             for key in ("rss_mb", "pss_mb", "peak_rss_mb")}
    return {"processes": processes, **{f"total_{k}": v for k, v in total.items()},
            "processes_with_torch": sum(1 for p in processes if p["torch_loaded"])}


def start(knowledge: Path, index: Path, spec: str, port: int, api_url: str, bot_token: str,
          secret: str, log_path: Path) -> subprocess.Popen[bytes]:
    env = subprocess_env(SLACK_BOT_TOKEN=bot_token, SLACK_SIGNING_SECRET=secret,
                         FAQBOT_SLACK_API_URL=api_url, PORT=str(port),
                         FAQBOT_KNOWLEDGE_DIR=str(knowledge), FAQBOT_INDEX_DIR=str(index))
    command = ([sys.executable, "-m", "faqbot", "serve"] if spec == MODEL_SPEC
               else [sys.executable, "-m", "bench.replica", "--serve", spec])
    with open(log_path, "wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def run(knowledge: Path, index: Path, questions: Sequence[str], count: int, workdir: Path,
        spec: str = MODEL_SPEC, log: Callable[[str], None] = print,
        timeout: float = 600) -> dict[str, Any]:
    """Start the replica, time it to ready, send ``count`` questions, read its memory."""
    from bench import load as ld

    fake = ld.FakeSlack()
    port = ld._free_port()
    base_url = f"http://{ld.HOST}:{port}"
    load_before = list(os.getloadavg())
    started = time.perf_counter()
    proc = start(knowledge, index, spec, port, fake.api_url, ld.BOT_TOKEN, ld.SECRET,
                 workdir / "replica.log")
    try:
        ld.wait_healthy(base_url, timeout, lambda: proc.poll() is None)
        ready_s = time.perf_counter() - started
        load_at_ready = list(os.getloadavg())
        at_ready = replica_memory(proc.pid)
        log(f"replica: ready in {ready_s:.1f} s; {count} questions at concurrency "
            f"{CONCURRENCY}")
        keys = [f"r{i}" for i in range(count)]
        asked = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            sent = list(pool.map(lambda i: ld.send_command(base_url, fake, keys[i],
                                                           questions[i % len(questions)]),
                                 range(count)))
        fake.wait_answers([s.key for s in sent if s.status == 200], timeout=120)
        answering_s = time.perf_counter() - asked
        after = replica_memory(proc.pid)
        answered = sum(1 for k in keys if fake.arrivals.get(k))
        answer_s = [fake.arrivals[s.key][0][0] - s.started for s in sent
                    if fake.arrivals.get(s.key)]
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
        fake.close()
    return {
        "mode": "HTTP (faqbot serve: gunicorn master + worker + answer worker)",
        "model": "the bundled all-MiniLM-L6-v2" if spec == MODEL_SPEC else spec,
        "questions": count, "acked": sum(1 for s in sent if s.status == 200),
        "answered": answered, "answer": summary_ms(answer_s), "answering_s": answering_s,
        "ready_s": ready_s, "at_ready": at_ready, "after_questions": after,
        "load_avg_before": load_before, "load_avg_at_ready": load_at_ready,
        "load_avg_after": list(os.getloadavg()),
        "targets": {"rss_mb": RSS_TARGET_MB, "ready_s": READY_TARGET_S},
    }


def serve() -> int:
    """``faqbot serve``, with the stand-in model of ``--serve SPEC`` in the answer worker."""
    from faqbot.cli import main

    return main(["serve"])


def _stand_in_model() -> None:
    """With ``--serve SPEC``: the answer worker builds SPEC's model. The worker imports this
    module again as its main (multiprocessing spawn), so this runs there too."""
    if "--serve" not in sys.argv:
        return
    spec = sys.argv[sys.argv.index("--serve") + 1]
    if spec == MODEL_SPEC:
        return
    import faqbot.embedding as embedding
    from bench.common import load_embedder

    embedding.load_embedder = lambda _setting: load_embedder(spec)  # type: ignore[assignment]


if __name__ in ("__main__", "__mp_main__"):
    _stand_in_model()

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="One replica, for bench/replica.py.")
    parser.add_argument("--serve", required=True, metavar="SPEC")
    parser.parse_args()
    sys.exit(serve())
