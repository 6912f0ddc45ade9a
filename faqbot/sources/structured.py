"""YAML knowledge files: the curated FAQ (``faq:``) and the opt-out procedure (``opt_out:``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from faqbot.errors import Problem
from faqbot.models import FaqEntry, OptOutProcedure
from faqbot.sources import yamlfile

TOP_LEVEL_KEYS = {"faq", "opt_out", "out_of_scope"}


@dataclass
class StructuredFile:
    """What one YAML knowledge file held, with the line of each FAQ entry."""

    faq: list[tuple[FaqEntry, int]] = field(default_factory=list)  # (entry, its line)
    opt_out: OptOutProcedure | None = None
    out_of_scope: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def read_structured(text: str, rel: str) -> StructuredFile:
    """Read an FAQ or opt-out YAML file; every problem names its line."""
    out = StructuredFile()
    try:
        data, node = yamlfile.parse(text, rel)
    except yamlfile.YamlProblem as exc:
        out.problems.append(exc.problem)
        return out
    if not isinstance(data, dict) or not (TOP_LEVEL_KEYS & set(data)):
        out.problems.append(
            Problem(rel, 1, "a YAML knowledge file needs a top-level 'faq:' list, "
                    "an 'opt_out:' mapping or an 'out_of_scope:' list")
        )
        return out
    for key in sorted(set(data) - TOP_LEVEL_KEYS):
        out.problems.append(
            Problem(rel, yamlfile.line_of(node, (key,)), f"unknown top-level key '{key}'",
                    "warning")
        )
    if "faq" in data:
        _read_faq(data["faq"], node, rel, out)
    if "opt_out" in data:
        _read_opt_out(data["opt_out"], node, rel, out)
    if "out_of_scope" in data:
        _read_out_of_scope(data["out_of_scope"], node, rel, out)
    return out


def _read_out_of_scope(examples: Any, node: Any, rel: str, out: StructuredFile) -> None:
    """Questions the bot must decline: each a string, used as a near-neighbour of 'no'."""
    if not isinstance(examples, list):
        out.problems.append(Problem(rel, yamlfile.line_of(node, ("out_of_scope",)),
                                    "'out_of_scope' must be a list of example questions"))
        return
    for i, example in enumerate(examples):
        if not isinstance(example, str) or not example.strip():
            out.problems.append(Problem(rel, yamlfile.line_of(node, ("out_of_scope", i)),
                                        f"out_of_scope.{i}: must be a non-empty string"))
        else:
            out.out_of_scope.append(example.strip())


def _read_faq(entries: Any, node: Any, rel: str, out: StructuredFile) -> None:
    if not isinstance(entries, list):
        out.problems.append(Problem(rel, yamlfile.line_of(node, ("faq",)), "'faq' must be a list"))
        return
    for i, raw in enumerate(entries):
        line = yamlfile.line_of(node, ("faq", i))
        if not isinstance(raw, dict):
            out.problems.append(Problem(rel, line, f"faq.{i}: each entry must be a mapping"))
            continue
        try:
            entry = FaqEntry.model_validate(raw)
        except ValidationError as exc:
            out.problems.extend(yamlfile.validation_problems(exc, node, rel, ("faq", i)))
            continue
        out.faq.append((entry, line or 1))


def _read_opt_out(raw: Any, node: Any, rel: str, out: StructuredFile) -> None:
    try:
        out.opt_out = OptOutProcedure.model_validate(raw)
    except ValidationError as exc:
        out.problems.extend(yamlfile.validation_problems(exc, node, rel, ("opt_out",)))
