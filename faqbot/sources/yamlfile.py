"""YAML reading that remembers line numbers, so every problem can name its line."""

from __future__ import annotations

from typing import Any

import yaml
import yaml.scanner
from pydantic import ValidationError

from faqbot.errors import Problem


class YamlProblem(Exception):
    """A YAML text that does not parse; carries a Problem with its line."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


class _Loader(yaml.SafeLoader):
    """SafeLoader whose impossible timestamps ("2024-13-01") stay strings, for a clear message."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_timestamp(node)  # type: ignore[arg-type]
        except ValueError:
            return self.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _cause(exc: yaml.MarkedYAMLError, first_line: int) -> tuple[int, str]:
    """The file line that caused a YAML error, and a message naming both of YAML's marks.

    An unclosed quote or bracket is reported by YAML where the text ends (its "problem"),
    while the "while scanning …" or "while parsing a flow …" context marks where it was
    opened: that is the line to fix. A block-structure error is best named by its problem.
    """
    problem = exc.problem or str(exc).splitlines()[0]
    context, c_mark, p_mark = exc.context, exc.context_mark, exc.problem_mark
    p_line = first_line + p_mark.line if p_mark is not None else None
    if not context or c_mark is None:
        return p_line or first_line, problem
    c_line = first_line + c_mark.line
    if isinstance(exc, yaml.scanner.ScannerError) or "flow" in context:
        where = f" at line {p_line}" if p_line is not None and p_line != c_line else ""
        return c_line, f"{context} that starts here: {problem}{where}"
    return p_line or c_line, f"{problem} ({context} that starts at line {c_line})"


def parse(text: str, path: str, first_line: int = 1) -> tuple[Any, yaml.Node | None]:
    """Parse YAML safely; return the data and its node tree (for line look-ups).

    ``first_line`` is the file line of the text's first line (front matter starts at 2).
    An error names the line of its cause (see :func:`_cause`).
    """
    loader = _Loader(text)
    try:
        # one parse: the node tree (for lines) and the data built from it, as safe_load does
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        line, reason = _cause(exc, first_line)
        raise YamlProblem(Problem(path, line, f"invalid YAML: {reason}")) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(Problem(path, first_line, f"invalid YAML: {exc}")) from None
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
