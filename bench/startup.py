"""Start-up: seconds from process start to ready (model + index loaded), and resident memory
when idle and after answering questions, in a fresh process each time.

The child (``python -m bench.startup --child ...``) calls ``open_engine`` as the CLI and the
Slack app do, prints ``READY`` the moment it returns, then answers the bench questions
(cycled) and reports VmRSS / VmHWM from /proc/self/status. The parent's clock runs from just
before it starts the child to the READY line. Also timed: ``faqbot ask - --json`` end to end.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import MODEL_SPEC, bench_questions, proc_status_mb, subprocess_env

READY = "READY"


def child(knowledge: Path, index: Path, spec: str, questions: int) -> None:
    started = time.perf_counter()
    from bench.common import load_embedder
    from faqbot.service import open_engine
    from faqbot.settings import load_settings

    imported = time.perf_counter()
    from faqbot.embedding import load_embedder as faqbot_embedder

    settings = load_settings(knowledge_dir=knowledge, index_dir=index)
    # what open_engine does first when given no embedder, done here to time it apart
    embedder = (faqbot_embedder(settings.embedding_model) if spec == MODEL_SPEC
                else load_embedder(spec))
    model_loaded = time.perf_counter()
    rss_model = proc_status_mb("VmRSS")
    engine = open_engine(settings, embedder)
    ready = time.perf_counter()
    print(READY, flush=True)
    gc.collect()
    time.sleep(0.5)
    rss_idle = proc_status_mb("VmRSS")
    rss_file_idle = proc_status_mb("RssFile")
    rss_anon_idle = proc_status_mb("RssAnon")
    texts = bench_questions()
    answer_started = time.perf_counter()
    for i in range(questions):
        engine.answer(texts[i % len(texts)])
    answering = time.perf_counter() - answer_started
    gc.collect()
    print(json.dumps({
        "imports_s": imported - started, "model_s": model_loaded - imported,
        "index_and_keyword_s": ready - model_loaded, "rss_model_mb": rss_model,
        "passages": len(engine.snapshot.passages),
        "index_type": engine.snapshot.manifest.get("index_type"),
        "rss_idle_mb": rss_idle, "rss_after_questions_mb": proc_status_mb("VmRSS"),
        # of which file pages (torch's and faiss's library code as it runs, the mapped
        # passage texts): page cache, shared between processes, reclaimable
        "rss_file_idle_mb": rss_file_idle, "rss_file_after_questions_mb": proc_status_mb("RssFile"),
        # the process's own memory (heap, model weights, index, arrays)
        "rss_anon_idle_mb": rss_anon_idle, "rss_anon_after_questions_mb": proc_status_mb("RssAnon"),
        "peak_rss_mb": proc_status_mb("VmHWM"), "questions": questions,
        "answer_mean_ms": answering * 1000 / questions if questions else None,
    }), flush=True)


def measure(knowledge: Path, index: Path, spec: str = MODEL_SPEC, questions: int = 1000,
            timeout: float = 1800) -> dict[str, Any]:
    """Start a child, time it to READY, and collect its memory readings."""
    cmd = [sys.executable, "-m", "bench.startup", "--child", "--knowledge", str(knowledge),
           "--index", str(index), "--embedder", spec, "--questions", str(questions)]
    ready_s = None
    lines: list[str] = []
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errors:
        started = time.perf_counter()
        deadline = started + timeout
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, text=True,
                              env=subprocess_env()) as proc:
            assert proc.stdout is not None
            try:
                while time.perf_counter() < deadline:
                    readable, _, _ = select.select([proc.stdout], [], [], 1.0)
                    if not readable:
                        if proc.poll() is not None:
                            break
                        continue
                    line = proc.stdout.readline()
                    if not line:
                        break
                    if line.strip() == READY and ready_s is None:
                        ready_s = time.perf_counter() - started
                    else:
                        lines.append(line)
                proc.wait(timeout=max(1.0, deadline - time.perf_counter()))
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        errors.seek(0)
        stderr = errors.read()
    if proc.returncode != 0 or ready_s is None or not lines:
        raise RuntimeError(f"start-up child failed ({proc.returncode}): {stderr[-2000:]}")
    return {"ready_s": ready_s, **json.loads(lines[-1])}


def time_command(cmd: Sequence[str], stdin: str, env: dict[str, str],
                 timeout: float = 600) -> dict[str, Any]:
    """Wall time of one command (e.g. ``faqbot ask - --json``) fed ``stdin``."""
    started = time.perf_counter()
    done = subprocess.run(list(cmd), input=stdin, capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)
    seconds = time.perf_counter() - started
    ok = done.returncode == 0
    if ok:
        try:
            json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            ok = False
    return {"seconds": seconds, "ok": ok, "returncode": done.returncode}


def faqbot_cli() -> list[str]:
    """The installed ``faqbot`` script next to this Python, else ``python -m faqbot``."""
    script = Path(sys.executable).with_name("faqbot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "faqbot"]


def run(cases: dict[str, tuple[Path, Path]], spec: str = MODEL_SPEC, questions: int = 1000,
        cli: Sequence[str] | None = None) -> dict[str, Any]:
    """Measure each (knowledge, index) case; time the CLI on the first case."""
    out: dict[str, Any] = {}
    for name, (knowledge, index) in cases.items():
        out[name] = measure(knowledge, index, spec, questions)
    if cli is not None and cases:
        knowledge, index = next(iter(cases.values()))
        env = subprocess_env(FAQBOT_KNOWLEDGE_DIR=str(knowledge), FAQBOT_INDEX_DIR=str(index))
        # one of our own bench questions, fed on stdin
        out["cli_ask_json"] = time_command([*cli, "ask", "-", "--json"],
                                           bench_questions(1)[0] + "\n", env)
        out["cli_ask_json"]["command"] = "faqbot ask - --json (one question on stdin)"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start-up benchmark (child process).")
    parser.add_argument("--child", action="store_true", required=True)
    parser.add_argument("--knowledge", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--embedder", default=MODEL_SPEC)
    parser.add_argument("--questions", type=int, default=1000)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    child(args.knowledge, args.index, args.embedder, args.questions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
