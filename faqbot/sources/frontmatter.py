"""YAML front matter between '---' lines at the top of a Markdown or text file."""

from __future__ import annotations

import re
from typing import Any

import yaml

from faqbot.errors import Problem
from faqbot.sources import yamlfile

_FENCE = re.compile(r"^---[ \t]*$", re.MULTILINE)


def split(text: str, path: str) -> tuple[dict[str, Any] | None, yaml.Node | None, str, int]:
    """Split a file into (front matter, its YAML nodes, body, body's first line).

    Returns ``(None, None, text, 1)`` when the file has no front matter.
    """
    if not text.startswith("---"):
        return None, None, text, 1
    first = text.find("\n")
    if first == -1 or text[:first].strip() != "---":
        return None, None, text, 1
    closing = _FENCE.search(text, first + 1)
    if closing is None:
        raise yamlfile.YamlProblem(
            Problem(path, 1, "front matter opened with '---' is never closed")
        )
    raw = text[first + 1 : closing.start()]
    data, node = yamlfile.parse(raw, path, first_line=2)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise yamlfile.YamlProblem(Problem(path, 2, "front matter must be a mapping of keys"))
    body_start = closing.end() + 1 if closing.end() < len(text) else closing.end()
    body_line = text.count("\n", 0, body_start) + 1
    return data, node, text[body_start:], body_line
