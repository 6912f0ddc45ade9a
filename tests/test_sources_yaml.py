"""Broken YAML names the line of its cause, in FAQ files and in front matter alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from faqbot.sources import load_knowledge

FAQ_OK = "faq:\n  - id: a\n    question: Is it fine?\n    answer: yes\n"


@pytest.mark.parametrize(
    ("rel", "content", "line", "says"),
    [
        # an unclosed quote: YAML's problem is at the end of the file, the cause where it opened
        ("f.yml", FAQ_OK + '  - id: b\n    question: "Unclosed?\n    answer: no\n' + "\n" * 8,
         6, "while scanning a quoted scalar that starts here"),
        ("f.yml", FAQ_OK + "  - id: b\n    question: 'single\n    answer: no\n", 6,
         "while scanning a quoted scalar"),
        ("f.yml", "faq: [\n  {id: a, question: fine}\n\nother: 1\n", 1,
         "while parsing a flow sequence that starts here"),
        ("f.yml", "faq:\n  - id: a\n   question: misindented\n", 3,
         "(while parsing a block collection that starts at line 2)"),
        ("f.yml", "faq:\n\t- id: a\n", 2, "found character '\\t' that cannot start any token"),
        ("f.yml", "faq:\n  - id: a\n    question: Why: because\n", 3,
         "mapping values are not allowed here"),
        ("f.yml", "faq: *nowhere\n", 1, "found undefined alias 'nowhere'"),
        ("f.yml", "faq:\n  - id: a\n    answer: |\n  x\n  y\nz\n", 4, "simple key that starts here"),
        # front matter: lines are the file's, not the front matter's
        ("d.md", '---\ntitle: A\nurl: "https://x\nkind: policy\n---\nBody.\n', 3,
         "while scanning a quoted scalar that starts here"),
        ("d.md", "---\ntitle: A\n- stray\n---\nBody.\n", 3, "expected <block end>"),
    ],
)
def test_yaml_errors_name_the_line_of_the_cause(tmp_path: Path, rel: str, content: str,
                                                 line: int, says: str) -> None:
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / rel).write_text(content, encoding="utf-8")
    errors = load_knowledge(tmp_path / "k").errors
    assert len(errors) == 1, errors
    assert errors[0].path == rel and errors[0].line == line, str(errors[0])
    assert errors[0].message.startswith("invalid YAML: ") and says in errors[0].message


def test_impossible_date_in_front_matter_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "d.md").write_text("---\ntitle: A\ndate: 2024-13-01\n---\nBody text.\n")
    kb = load_knowledge(tmp_path / "k")
    assert kb.errors == [] and kb.documents[0].meta.date is None
    assert "d.md:3: warning: date: cannot read '2024-13-01' as a date; indexed without it" in [
        str(p) for p in kb.warnings]
