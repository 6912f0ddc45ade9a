"""Run faqbot's benchmarks on demand and write a Markdown + JSON report.

    python -m bench                 # everything, full sizes (long: see bench/README.md)
    python -m bench --quick         # small sizes, a few minutes
    python -m bench --only latency,quality --out /tmp/reports

Sections: latency, indexing, startup, load, replica, quality. Questions are our own bench sets; no
question text is printed, only counts and timings.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import MODEL_SPEC, REPO, CpuMeter, bench_questions, load_embedder, machine
from bench.corpus import BUNDLED

SECTIONS = ("latency", "indexing", "startup", "load", "replica", "quality")
FULL_SIZES = (100, 10_000, 100_000)
QUICK_SIZES = (100, 1_000)
#: The what-if run: answers computed in the server process, as before the answer worker.
#: Same load level, other settings, for comparison: (report key, environment, description)
WHATIFS = (
    ("whatif_in_process_answers", {"FAQBOT_ANSWER_PROCESS": "false"},
     "answers computed in the server process"),
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, fast")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "reports",
                        help="report folder (default bench/reports/)")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections: {', '.join(SECTIONS)}")
    parser.add_argument("--sizes", help="corpus sizes in passages, e.g. 100,10k,100k")
    parser.add_argument("--questions", type=int, help="latency questions (default: all)")
    parser.add_argument("--embed-budget-min", type=float, default=40.0,
                        help="largest corpus shrinks if embedding its uncached passages "
                        "would take longer than this (default 40)")
    parser.add_argument("--cache", type=Path, help="vector cache (default OUT/cache)")
    parser.add_argument("--keep", action="store_true", help="keep the generated corpora")
    # for tests: a stand-in model, a smaller base folder, tiny counts, the in-process server
    parser.add_argument("--embedder", default=MODEL_SPEC, help=argparse.SUPPRESS)
    parser.add_argument("--base", type=Path, default=BUNDLED, help=argparse.SUPPRESS)
    parser.add_argument("--startup-questions", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--indexing-files", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--load-commands", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--load-levels", help=argparse.SUPPRESS)
    parser.add_argument("--replica-questions", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--policies", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--server", choices=("gunicorn", "inprocess"), default=None,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    return args


def plan_sizes(args: argparse.Namespace, embedder: Any, workdir: Path, cache: Path,
               notes: list[str]) -> tuple[list[int], str | None]:
    """The corpus sizes; the largest shrinks to fit the embedding budget (rounded to 10k)."""
    from bench.corpus import iter_sizes

    sizes = sorted(iter_sizes(args.sizes)) if args.sizes else list(
        QUICK_SIZES if args.quick else FULL_SIZES)
    if args.embedder != MODEL_SPEC:
        return sizes, None
    missing, rate = uncached(sizes[-1], embedder, workdir, cache)
    needed_min = sum(missing) / rate / 60 if rate else 0.0
    notes.append(f"Embedding rate on a sample of generated passages: {rate:.1f} passages/s; "
                 f"{sum(missing):,} of the {sizes[-1]:,}-passage corpus's texts were not "
                 f"cached (≈ {needed_min:.0f} min to embed).")
    if needed_min <= args.embed_budget_min:
        return sizes, None
    budget = int(args.embed_budget_min * 60 * rate)
    fits = 0
    for n, flag in enumerate(missing, start=1):
        budget -= flag
        if budget < 0:
            break
        fits = n
    largest = max(10_000, fits // 10_000 * 10_000)
    note = (f"The {sizes[-1]:,}-passage corpus would need ≈ {needed_min:.0f} min of embedding "
            f"(> {args.embed_budget_min:.0f} min budget): the largest corpus measured is "
            f"{largest:,} passages and 100k figures are extrapolated.")
    notes.append(note)
    return sorted({*sizes[:-1], largest}), note


def uncached(size: int, embedder: Any, workdir: Path, cache: Path) -> tuple[list[int], float]:
    """Per text of the corpus (in build order): 1 if not in the vector cache; and texts/s."""
    from bench.corpus import write_knowledge
    from bench.vectors import VectorCache, text_key
    from faqbot.chunking import MAX_WORDS, chunk_all, embedding_text
    from faqbot.sources import load_knowledge

    folder = workdir / "plan" / "knowledge"
    write_knowledge(folder, size)
    kb = load_knowledge(folder)
    passages = [embedding_text(p) for p in chunk_all(kb.documents, MAX_WORDS)]
    texts = passages + [t for e in kb.faq for t in e.phrasings] + list(kb.out_of_scope)
    store = VectorCache(cache, embedder.model_id, embedder.dim)
    missing = [int(store.get(text_key(t)) is None) for t in dict.fromkeys(texts)]
    shutil.rmtree(workdir / "plan", ignore_errors=True)
    sample = passages[len(passages) // 2:][:128]  # generated passages, as the build embeds
    started = time.perf_counter()
    embedder.embed(sample)
    return missing, len(sample) / (time.perf_counter() - started)


def extrapolate(latency: dict[str, Any]) -> tuple[str, float] | None:
    """A linear fit of (answer p95 − floor p95) against passages, out to 100k."""
    import numpy as np

    sizes = latency["sizes"]
    if len(sizes) < 2 or sizes[-1]["passages"] >= 90_000:
        return None
    xs = np.array([s["passages"] for s in sizes], dtype=float)
    over = np.array([s[s["faqbot_uses"]]["answer"]["p95"] - s[s["faqbot_uses"]]["floor"]["p95"]
                     for s in sizes])
    slope, intercept = np.polyfit(xs, over, 1)
    if slope < 0:  # the time above the floor fell as the corpus grew: noise, not a trend
        return None
    floor = float(np.median([s["flat"]["floor"]["p95"] for s in sizes]))
    at = floor + intercept + slope * 100_000
    return (f"Measured up to {int(xs[-1]):,} passages. A linear fit of the time above the floor "
            f"(p95) gives {slope * 10_000:.2f} ms per 10k passages; with the floor p95 of "
            f"{floor:.1f} ms the answer p95 at 100k would be ≈ {at:.0f} ms (extrapolated, not "
            "measured).", float(at))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    only = [s for s in SECTIONS if s in args.only.split(",")]
    started = time.perf_counter()
    result: dict[str, Any] = {"machine": machine(), "sections": only, "notes": [],
                              "errors": {}, "contention": {},
                              "command": "python -m bench " + " ".join(argv or sys.argv[1:])}
    notes: list[str] = result["notes"]
    cache = args.cache or args.out / "cache"
    workdir = Path(tempfile.mkdtemp(prefix="faqbot-bench-"))
    log(f"sections {', '.join(only)}; scratch folder {workdir}")
    embedder = load_embedder(args.embedder)
    questions = bench_questions(args.questions or (60 if args.quick else None))
    corpora: dict[str, tuple[Path, Path]] = {}

    def section(name: str, body: Callable[[], dict[str, Any]]) -> None:
        if name not in only:
            return
        log(f"{name}: start")
        meter = CpuMeter()
        try:
            result[name] = body()
        except Exception as exc:  # one failed section must not lose the others
            result["errors"][name] = f"{type(exc).__name__}: {exc}"[:2000]
            log(f"{name}: FAILED\n{traceback.format_exc()}")
        result["contention"][name] = meter.read()["other_share"]
        log(f"{name}: done in {meter.read()['wall_s']:.0f} s")
        finish(final=False)  # a run stopped later still leaves what it measured

    def finish(final: bool) -> tuple[Path, Path]:
        from bench.report import write

        result["seconds"] = time.perf_counter() - started
        result["load_avg_at_end"] = list(os.getloadavg())
        result["complete"] = final
        return write(result, args.out)

    def latency() -> dict[str, Any]:
        from bench import latency as lat

        sizes, _ = plan_sizes(args, embedder, workdir, cache, notes)
        options = lat.LatencyOptions(sizes=sizes, workdir=workdir, cache=cache,
                                     embedder_spec=args.embedder, base=args.base)
        out = lat.run(embedder, questions, options, log)
        extra = extrapolate(out)
        if extra is not None:
            out["extrapolation"], out["extrapolated_p95_100k_ms"] = extra
        big = out["sizes"][-1]
        corpora["large"] = (Path(big["knowledge"]), Path(big["index"]))
        return out

    def indexing() -> dict[str, Any]:
        from bench import indexing as ix

        files = args.indexing_files or (100 if args.quick else 1000)
        return ix.run(workdir, files, args.embedder, args.base)

    def bundled() -> tuple[Path, Path]:
        """The base knowledge folder alone, indexed (for start-up and the HTTP app)."""
        if "bundled" not in corpora:
            from bench import latency as lat

            options = lat.LatencyOptions(sizes=[0], workdir=workdir, cache=cache,
                                         embedder_spec=args.embedder, base=args.base)
            knowledge, index, _ = lat.build_corpus(0, options)
            corpora["bundled"] = (knowledge, index)
        return corpora["bundled"]

    def startup() -> dict[str, Any]:
        from bench import startup as st

        cases = {"bundled": bundled()}
        if "large" not in corpora:
            from bench import latency as lat

            sizes, _ = plan_sizes(args, embedder, workdir, cache, notes)
            options = lat.LatencyOptions(sizes=sizes, workdir=workdir, cache=cache,
                                         embedder_spec=args.embedder, base=args.base)
            knowledge, index, _ = lat.build_corpus(sizes[-1], options)
            corpora["large"] = (knowledge, index)
        cases["large"] = corpora["large"]
        count = args.startup_questions or (100 if args.quick else 1000)
        cli = st.faqbot_cli() if args.embedder == MODEL_SPEC else None
        return st.run(cases, args.embedder, count, cli)

    def load() -> dict[str, Any]:
        from bench import load as ld

        knowledge, index = bundled()
        count = args.load_commands or (40 if args.quick else 500)
        levels = [int(x) for x in (args.load_levels or ("5,10" if args.quick else "10,20,50"))
                  .split(",")]
        mode = args.server or ("gunicorn" if args.embedder == MODEL_SPEC else "inprocess")

        def start(extra: dict[str, str]) -> Any:
            if mode == "gunicorn":
                return ld.start_gunicorn(fake, knowledge, index, workdir / "server.log", **extra)
            return _in_process_server(ld, fake, knowledge, index, embedder)

        fake = ld.FakeSlack()
        try:
            server = start({})
            try:
                out = ld.run(server, fake, questions, count, levels,
                             max_concurrency=max(levels) if args.quick else 200, log=log)
            finally:
                server.stop()
            concurrency = 20 if 20 in levels else levels[-1]
            for key, env, description in WHATIFS:
                log(f"load: what-if, {description}, concurrency {concurrency}")
                server = start(env)
                try:
                    level = ld.run_level(server, fake, questions, count, concurrency, key)
                finally:
                    server.stop()
                out[key] = {"settings": env, "description": description, **level}
            return out
        finally:
            fake.close()

    def replica() -> dict[str, Any]:
        from bench import replica as rp

        knowledge, index = bundled()
        count = args.replica_questions or 1000
        return rp.run(knowledge, index, questions, count, workdir, args.embedder, log=log)

    def quality() -> dict[str, Any]:
        from bench import quality as qa

        return qa.run(embedder, limit=args.policies or (3 if args.quick else None))

    try:
        section("latency", latency)
        section("indexing", indexing)
        section("startup", startup)
        section("load", load)
        section("replica", replica)
        section("quality", quality)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if "latency" in result and cache.exists():
        notes.append(f"Corpus vectors come from the real model, cached in {cache} (.npy, "
                     "allow_pickle=False) so reruns skip re-embedding; question vectors are "
                     "always computed live.")
    md_path, json_path = finish(final=True)
    log(f"report: {md_path} and {json_path} ({result['seconds'] / 60:.1f} min)")
    return 1 if result["errors"] else 0


def _in_process_server(ld: Any, fake: Any, knowledge: Path, index: Path, embedder: Any) -> Any:
    """The Bolt app on this process's engine (tests, or a stand-in model)."""
    from faqbot.service import open_engine
    from faqbot.settings import load_settings
    from faqbot.slack.app import build_client, create_app

    settings = load_settings(knowledge_dir=knowledge, index_dir=index,
                             slack_api_url=fake.api_url, slack_bot_token=ld.BOT_TOKEN,
                             slack_signing_secret=ld.SECRET)
    engine = open_engine(settings, embedder)
    app = create_app(settings, engine, client=build_client(settings))
    return ld.serve_in_process(app)


if __name__ == "__main__":
    sys.exit(main())
