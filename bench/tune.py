"""Choose ranking weights and the decline calibration by measurement on a question set.

    python -m bench.tune eval/calibration.yml [--check eval/questions.yml]
        [--also ../shared/data/realdocs/corpus ../shared/data/realdocs/questions.yml]

Fits on the first set (a grid over the ranking weights, then a logistic calibration of the
confidence and the threshold), and reports the chosen settings on the second, held-out set.
``--also KNOWLEDGE QUESTIONS`` adds a folder of other documents with its questions to the
calibration (not to the ranking grid): the confidence then holds on documents nobody here
wrote. Questions the engine declines before ranking (requests to act, other companies, other
languages) are left out of the fit, as they never reach the confidence.
Question vectors are computed once per run and kept in memory only.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np

from faqbot.evaluation import (
    NOT_COVERED,
    EvalQuestion,
    Outcome,
    decline_curve,
    first_relevant_rank,
    format_report,
    load_questions,
    metrics,
)
from faqbot.search import (
    Engine,
    RankingConfig,
    confidence,
    has_words,
    query_text,
    rank,
    word_query,
)
from faqbot.service import open_engine
from faqbot.settings import load_settings

#: Declines decided before ranking: their questions never reach the confidence.
GATED = frozenset({"action", "other_subject", "language", "empty"})


class Runner:
    """Ranks a question set under many configs, embedding each question once."""

    def __init__(self, engine: Engine, questions: list[EvalQuestion]) -> None:
        self.engine = engine
        self.questions = [q for q in questions
                          if engine.answer(q.question).reason not in GATED]
        snapshot = engine.snapshot
        texts = [query_text(snapshot, q.question, engine.config, engine.embedder)
                 for q in self.questions]
        self.vectors = engine.embedder.embed(texts)
        # as the engine does: the question without its subjects' names meets the out-of-scope
        # examples too; only the texts that differ are embedded again
        words = [word_query(snapshot, engine.embedder, q.question, text)
                 for q, text in zip(self.questions, texts, strict=True)]
        differ = [i for i, (w, t) in enumerate(zip(words, texts, strict=True)) if w != t]
        self.word_vectors = list(self.vectors)
        if differ:
            for i, vector in zip(differ, engine.embedder.embed([words[i] for i in differ]),
                                 strict=True):
                self.word_vectors[i] = vector

    def outcomes(self, config: RankingConfig) -> tuple[list[Outcome], np.ndarray]:
        """Outcomes plus the (in-domain, out-of-scope, names a subject) features of each
        question."""
        out, features = [], []
        for q, vector, words_vector in zip(self.questions, self.vectors, self.word_vectors,
                                           strict=True):
            if not has_words(q.question):
                out.append(Outcome(q, None, False, 0.0))
                features.append((0.0, 1.0, 0.0))
                continue
            ranked = rank(self.engine.snapshot, self.engine.embedder, q.question, config,
                          query_vector=vector, words_vector=words_vector)
            conf = confidence(ranked, config)
            hits = tuple(ranked.hits[:10])
            out.append(Outcome(q, first_relevant_rank(hits, q.expected),
                               conf >= config.min_confidence, conf))
            features.append((ranked.in_domain, ranked.out_of_scope, float(ranked.names_subject)))
        return out, np.array(features)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2) -> np.ndarray:
    """Weights (bias first) of an L2-regularised logistic regression, by Newton's method."""
    design = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(design.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ w))
        grad = design.T @ (p - y) + l2 * np.r_[0, w[1:]]
        ridge = l2 * np.diag(np.r_[0, np.ones(len(w) - 1)])
        hess = design.T @ (design * (p * (1 - p))[:, None]) + ridge
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def fit_confidence(outcomes: list[Outcome], features: np.ndarray) -> np.ndarray:
    """Calibration weights (bias first) of "the documents are about this" on the features.

    "Not covered" questions are on the documents' topic by design, so the confidence (is this
    what the documents are about?) is not fitted on them: as negatives they only pulled in-scope
    questions down with them. Their own checks (unknown specific words, a number no passage
    states) decline them.
    """
    fitted = np.array([o.question.kind != NOT_COVERED for o in outcomes], dtype=bool)
    labels = np.array([o.question.in_scope for o in outcomes], dtype=float)
    return fit_logistic(features[fitted], labels[fitted])


def search_grid(fit: Runner, base: RankingConfig, questions: Path) -> RankingConfig:
    """The ranking weights with the best MRR on the fitting set, from a small grid."""
    grid = {
        "keyword_weight": [0.15, 0.25, 0.35],
        "keyword_floor": [0.0, 3.0, 5.0, 8.0],
        "faq_weight": [0.5, 1.0],
        "faq_floor": [0.55, 0.65],
        "faq_entries": [1, 2],
    }
    results = []
    for values in itertools.product(*grid.values()):
        config = replace(base, **dict(zip(grid, values, strict=True)))
        m = metrics(fit.outcomes(config)[0])
        results.append((m.mrr, m.hit1, m.hit3, values))
    results.sort(reverse=True)
    print("best ranking settings on", questions)
    print("  MRR    Hit@1  Hit@3  " + "  ".join(grid))
    for mrr, h1, h3, values in results[:8]:
        print(f"  {mrr:.3f}  {h1:.3f}  {h3:.3f}  {values}")
    current = metrics(fit.outcomes(base)[0])
    print(f"  in service: MRR {current.mrr:.3f} Hit@1 {current.hit1:.3f} Hit@3 {current.hit3:.3f}")
    return replace(base, **dict(zip(grid, results[0][3], strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--check", type=Path, help="held-out question set to report on")
    parser.add_argument("--max-wrongly-declined", type=float, default=0.02)
    parser.add_argument("--also", nargs=2, action="append", default=[], type=Path,
                        metavar=("KNOWLEDGE", "QUESTIONS"),
                        help="another knowledge folder and its questions, for the calibration")
    parser.add_argument("--calibrate-only", action="store_true",
                        help="keep the ranking settings in service; fit the confidence only")
    args = parser.parse_args()

    engine = open_engine(load_settings())
    fit = Runner(engine, load_questions(args.questions))
    base = engine.config
    chosen = base if args.calibrate_only else search_grid(fit, base, args.questions)

    others = []
    for knowledge, questions in args.also:
        settings = load_settings(knowledge_dir=knowledge,
                                 index_dir=Path(".faqbot/tune") / knowledge.name)
        other = open_engine(settings, engine.embedder)
        others.append(Runner(other, load_questions(questions)))
    runners = [fit, *others]
    outcomes, features = [], []
    for runner in runners:
        found, x = runner.outcomes(chosen)
        outcomes += found
        features.append(x)
    weights = fit_confidence(outcomes, np.vstack(features))
    calibrated = replace(chosen, calibration=tuple(round(float(w), 3) for w in weights))
    outcomes = [o for runner in runners for o in runner.outcomes(calibrated)[0]]
    in_conf = sorted(o.confidence for o in outcomes if o.question.in_scope)
    allowed = int(args.max_wrongly_declined * len(in_conf))
    threshold = round(float(in_conf[allowed]) - 1e-3, 3) if in_conf else 0.5
    calibrated = replace(calibrated, min_confidence=max(0.05, min(threshold, 0.95)))
    print(f"\nchosen: {calibrated}")
    outcomes, _ = fit.outcomes(calibrated)
    threshold = calibrated.min_confidence
    print(format_report(metrics(outcomes), decline_curve(outcomes, threshold=threshold), threshold))
    if args.check:
        check = Runner(engine, load_questions(args.check))
        outcomes, _ = check.outcomes(calibrated)
        print(f"\nheld-out {args.check}:")
        print(format_report(metrics(outcomes), decline_curve(outcomes, threshold=threshold),
                            threshold))


if __name__ == "__main__":
    main()
