"""YAML reading that remembers line numbers, so every problem can name its line."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from faqbot.errors import Problem


class YamlProblem(Exception):
    """A YAML text that does not parse; carries a Problem with its line."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def parse(text: str, path: str, first_line: int = 1) -> tuple[Any, yaml.Node | None]:
    """Parse YAML safely; return the data and its node tree (for line look-ups).

    ``first_line`` is the file line of the text's first line (front matter starts at 2).
    """
    loader = yaml.SafeLoader(text)
    try:
        # one parse: the node tree (for lines) and the data built from it, as safe_load does
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = first_line + mark.line if mark is not None else first_line
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlProblem(Problem(path, line, f"invalid YAML: {reason}")) from None
    finally:
        loader.dispose()
    return data, node


def line_of(node: yaml.Node | None, loc: tuple[int | str, ...], first_line: int = 1) -> int | None:
    """File line of the value at ``loc`` (keys and list indexes), or of its nearest parent."""
    if node is None:
        return None
    best = node
    current: yaml.Node | None = node
    for key in loc:
        if current is None:
            break
        nxt: yaml.Node | None = None
        if isinstance(current, yaml.MappingNode):
            for k, v in current.value:
                if getattr(k, "value", None) == key:
                    nxt = v if not isinstance(v, yaml.ScalarNode) or v.value != "" else k
                    best = k
                    break
        elif (isinstance(current, yaml.SequenceNode) and isinstance(key, int)
              and 0 <= key < len(current.value)):
            nxt = current.value[key]
        if nxt is None:
            break
        current = nxt
        best = nxt
    return first_line + best.start_mark.line


def validation_problems(
    error: ValidationError,
    node: yaml.Node | None,
    path: str,
    prefix: tuple[int | str, ...] = (),
    first_line: int = 1,
) -> list[Problem]:
    """Turn a pydantic ValidationError into problems with file lines."""
    problems = []
    for err in error.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in prefix + loc) or "value"
        message = err["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        line = line_of(node, prefix + loc, first_line)
        problems.append(Problem(path, line, f"{field}: {message}"))
    return problems
