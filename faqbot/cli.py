"""The faqbot command line: index, ask, check, eval, serve. Thin wrappers over the core."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from faqbot.errors import FaqbotError, KnowledgeError
from faqbot.settings import Settings, load_settings


def _progress_bar(label: str) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """A tqdm bar on a terminal, nothing otherwise; returns (update, close)."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar: list[tqdm] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc=label, unit="text", file=sys.stderr, leave=False))
        bar[0].n = done
        bar[0].refresh()

    def close() -> None:
        if bar:
            bar[0].close()

    return update, close


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        knowledge_dir=getattr(args, "knowledge", None),
        index_dir=getattr(args, "index", None),
    )


def cmd_index(args: argparse.Namespace) -> int:
    from faqbot.embedding import load_embedder
    from faqbot.service import index_store, update_index

    settings = _settings(args)
    if args.rollback:
        started = time.perf_counter()
        name = index_store(settings).rollback()
        print(f"rolled back to index version {name} in {time.perf_counter() - started:.2f} s")
        return 0
    embedder = load_embedder(settings.embedding_model)
    update, close = _progress_bar("embedding")
    try:
        report = update_index(settings, embedder, rebuild=args.rebuild, progress=update)
    finally:
        close()
    if report is None:
        print("index is up to date")
    else:
        print(report.summary())
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from faqbot.render_text import render_answer
    from faqbot.service import open_engine

    settings = _settings(args)
    update, close = _progress_bar("embedding")
    try:
        engine = open_engine(settings, progress=update,
                             on_build=lambda r: print(r.summary(), file=sys.stderr))
    finally:
        close()
    questions: Sequence[str] = (
        [line.rstrip("\n") for line in sys.stdin if line.strip()]
        if args.question == "-" else [args.question]
    )
    top_k = args.top_k or settings.top_k
    for n, question in enumerate(questions):
        answer = engine.answer(question, top_k=top_k)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            if n:
                print("\n" + "-" * 40)
            print(render_answer(answer), flush=True)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from faqbot.sources import load_knowledge

    settings = _settings(args)
    kb = load_knowledge(settings.knowledge_dir)
    for problem in kb.problems:
        print(problem)
    print(
        f"{len(kb.documents)} documents, {len(kb.faq)} FAQ entries, "
        f"opt-out procedure {'present' if kb.opt_out else 'missing'}; "
        f"{len(kb.errors)} errors, {len(kb.warnings)} warnings"
    )
    return 1 if kb.errors else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from faqbot.evaluation import (
        RANK_DEPTH,
        decline_curve,
        format_report,
        load_questions,
        metrics,
        outcome,
    )
    from faqbot.service import open_engine

    settings = _settings(args)
    questions = load_questions(Path(args.questions))
    engine = open_engine(settings)
    outcomes = [outcome(q, engine.answer(q.question, top_k=RANK_DEPTH)) for q in questions]
    m = metrics(outcomes)
    print(format_report(m, decline_curve(outcomes, threshold=engine.config.min_confidence),
                       engine.config.min_confidence))
    if args.show_failures:
        print("\nfailures:")
        for o in outcomes:
            q = o.question
            if q.in_scope and (o.rank != 1 or not o.answered):
                print(f"  {q.id} [{q.kind}] rank={o.rank} answered={o.answered} "
                      f"conf={o.confidence:.2f}")
            elif not q.in_scope and o.answered:
                print(f"  {q.id} [{q.kind}] answered, should decline conf={o.confidence:.2f}")
    gates = [
        ("in-scope correct", m.correct, args.min_correct, True),
        ("must-decline declined", m.must_decline_declined, args.min_must_decline, True),
        ("not-covered declined", m.not_covered_declined,
         args.min_not_covered if m.n_not_covered else None, True),
        ("Hit@1", m.hit1, args.min_hit1, True),
        ("Hit@3", m.hit3, args.min_hit3, True),
        ("MRR", m.mrr, args.min_mrr, True),
        ("out-of-scope declined", m.correctly_declined, args.min_declined, True),
        ("in-scope wrongly declined", m.wrongly_declined, args.max_wrongly_declined, False),
    ]
    failed = [
        f"{name} {value:.3f} {'<' if low else '>'} {limit}"
        for name, value, limit, low in gates
        if limit is not None and (value < limit if low else value > limit)
    ]
    for line in failed:
        print(f"faqbot: eval below minimum: {line}", file=sys.stderr)
    return 1 if failed else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from faqbot.server import serve

    return serve(_settings(args))


def cmd_manifest(args: argparse.Namespace) -> int:
    from faqbot.slack.manifest import http_manifest, load_manifest, render

    manifest = load_manifest(args.source)
    if args.http is None:
        heading = "faqbot's Slack app manifest, Socket Mode (manifest.yml)"
        print(render(manifest, heading), end="")
        return 0
    variant = http_manifest(manifest, args.http, rotate_tokens=args.rotate_tokens)
    heading = (f"faqbot's Slack app manifest, HTTP mode with the OAuth install, for "
               f"{args.http}\n(made by `faqbot manifest --http` from manifest.yml; "
               "see docs/install.md)")
    print(render(variant, heading), end="")
    return 0


def cmd_token_key(args: argparse.Namespace) -> int:
    from faqbot.slack.installations import new_key

    print(new_key())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faqbot",
        description="Answer privacy questions from cited documents (local model, no logs of "
        "questions).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str,
            index: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        p.add_argument("--knowledge", metavar="DIR", type=Path,
                       help="knowledge folder (default: $FAQBOT_KNOWLEDGE_DIR or ./knowledge)")
        if index:
            p.add_argument("--index", metavar="DIR", type=Path,
                           help="index folder (default: $FAQBOT_INDEX_DIR or ./.faqbot/index)")
        return p

    p = add("index", cmd_index, "Build or update the index (only new or changed files are "
            "embedded).")
    p.add_argument("--rebuild", action="store_true", help="embed everything again")
    p.add_argument("--rollback", action="store_true", help="return to the previous version")

    p = add("ask", cmd_ask, "Answer a question with cited passages, or decline.")
    p.add_argument("question", metavar="QUESTION", help="the question, or - to read one per "
                   "line from standard input")
    p.add_argument("--top-k", type=int, metavar="N", help="passages to show (default 3)")
    p.add_argument("--json", action="store_true", help="one JSON object per question")

    add("check", cmd_check, "Validate the knowledge folder; exit 1 on errors.", index=False)

    p = add("eval", cmd_eval, "Measure retrieval and declining on a question set.")
    p.add_argument("questions", metavar="QUESTIONS.yml")
    p.add_argument("--min-correct", type=float, metavar="X",
                   help="minimum share of in-scope questions answered with an expected passage "
                   "in the top 3")
    p.add_argument("--min-must-decline", type=float, metavar="X",
                   help="minimum share declined of the must-decline questions (not-covered ones "
                   "apart)")
    p.add_argument("--min-not-covered", type=float, metavar="X",
                   help="minimum share declined of the not-covered questions")
    p.add_argument("--min-hit1", type=float, metavar="X")
    p.add_argument("--min-hit3", type=float, metavar="X")
    p.add_argument("--min-mrr", type=float, metavar="X")
    p.add_argument("--min-declined", type=float, metavar="X",
                   help="minimum share of out-of-scope questions declined")
    p.add_argument("--max-wrongly-declined", type=float, metavar="X",
                   help="maximum share of in-scope questions declined")
    p.add_argument("--show-failures", action="store_true")

    add("serve", cmd_serve, "Run the Slack app (Socket Mode or HTTP), or the local demo "
        "without tokens.")

    help_ = ("Print the Slack app manifest: Socket Mode, or with --http the HTTP variant with "
             "the OAuth install (request URLs, redirect URL, org-wide install).")
    p = sub.add_parser("manifest", help=help_, description=help_)
    p.set_defaults(func=cmd_manifest)
    p.add_argument("--http", metavar="URL", help="the public https:// address faqbot is "
                   "served at, e.g. https://faqbot.example.com")
    p.add_argument("--rotate-tokens", action="store_true", help="turn on Slack's token "
                   "rotation (tokens expire after 12 hours; Slack cannot turn it off again)")
    p.add_argument("--from", dest="source", metavar="FILE", type=Path,
                   help="the manifest to start from (default: faqbot's manifest.yml)")

    help_ = ("Print a new FAQBOT_TOKEN_KEY: the key that encrypts the OAuth installs' tokens "
             "at rest.")
    p = sub.add_parser("token-key", help=help_, description=help_)
    p.set_defaults(func=cmd_token_key)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(f"faqbot: {problem}", file=sys.stderr)
        return 1
    except FaqbotError as exc:
        print(f"faqbot: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        # an unexpected failure: its message may quote the question, so name the class and
        # place only (FAQBOT_LOG_LEVEL=DEBUG does not change this)
        from faqbot.privacy import describe_exception

        print(f"faqbot: internal error: {describe_exception(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
