"""Front matter as admins write it: human dates, aliases, titles and kinds they left out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from faqbot.chunking import chunk_all
from faqbot.sources import load_knowledge
from faqbot.sources.meta import parse_human_date


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Effective July 5, 2023", "2023-07-05"),
        ("May 2024", "2024-05"),
        ("Last Updated: June 17, 2025", "2025-06-17"),
        ("Updated: 27 June 2025", "2025-06-27"),
        ("Effective as of October 3, 2025", "2025-10-03"),
        ("2024", "2024"),
        (2024, "2024"),
        ("2024-05", "2024-05"),
        (dt.date(2024, 1, 2), "2024-01-02"),
        (dt.datetime(2024, 1, 2, 10, 30), "2024-01-02"),
        ("2024-13-01", None),  # ISO-looking but impossible: not silently re-read as 13 January
        ("yesterday", None),  # no year: a relative date would change every day
        ("soon", None),
        ("", None),
        (["2024"], None),
    ],
)
def test_human_dates(value: object, expected: str | None) -> None:
    assert parse_human_date(value) == expected


def test_issue_front_matter_line_is_indexed_with_its_date(tmp_path: Path) -> None:
    write(tmp_path, "k/p.md", '---\ntitle: Policy\nurl: https://x\ndate: "Effective July 5, 2023"'
          "\n---\n## Scope\n\nText about data.\n")
    kb = load_knowledge(tmp_path / "k")
    assert kb.errors == [] and kb.documents[0].meta.date == "2023-07-05"


def test_unreadable_date_is_a_warning_and_the_document_is_indexed(tmp_path: Path) -> None:
    write(tmp_path, "k/p.md", "---\ntitle: Policy\nurl: https://x\n\nupdated: sometime soon\n"
          "---\n## Scope\n\nText about data.\n")
    kb = load_knowledge(tmp_path / "k")
    assert kb.errors == []
    assert [str(p) for p in kb.warnings] == [
        "p.md:5: warning: date: cannot read 'sometime soon' as a date; indexed without it"]
    assert kb.documents[0].meta.date is None and kb.documents[0].sections


def test_aliases_are_understood(tmp_path: Path) -> None:
    write(tmp_path, "k/a.md", "---\ntitle: A\nsource_url: https://a.example/p\n"
          "last_updated: June 17, 2025\n---\nText.\n")
    write(tmp_path, "k/b.md", "---\ntitle: B\nlink: https://b.example\nurl: https://b.example/u\n"
          "updated: 2024\n---\nText.\n")
    kb = load_knowledge(tmp_path / "k")
    a, b = kb.documents
    assert (a.meta.url, a.meta.date) == ("https://a.example/p", "2025-06-17")
    assert (b.meta.url, b.meta.date) == ("https://b.example/u", "2024")
    assert "b.md:3: warning: 'link' ignored: 'url' is given too" in [str(p) for p in kb.warnings]
    assert a.meta.extra == {} and b.meta.extra == {"link": "https://b.example"}  # kept as is


def test_markdown_without_front_matter_takes_title_and_date_from_its_body(tmp_path: Path) -> None:
    write(tmp_path, "k/legal/privacy-notice.md",
          "Intro line.\n\n# Política de privacidad — “Café”\n\nLast Updated: June 17, 2025\n\n"
          "## Uses\n\nWe use data.\n")
    write(tmp_path, "k/notes_on-retention.md", "Just text, no heading at all.\n")
    kb = load_knowledge(tmp_path / "k")
    assert kb.errors == []
    first, second = kb.documents
    assert first.meta.title == "Política de privacidad — “Café”"
    assert first.meta.date == "2025-06-17" and first.meta.kind == "policy"  # legal/ folder
    assert second.meta.title == "notes on retention" and second.meta.kind == "internal"


def test_front_matter_without_title_uses_the_first_heading(tmp_path: Path) -> None:
    write(tmp_path, "k/a.md", "---\nurl: https://x\n---\n# Terms of **Use**\n\nText.\n")
    assert load_knowledge(tmp_path / "k").documents[0].meta.title == "Terms of Use"


def test_kind_from_defaults_file_folder_name_and_official_domains(tmp_path: Path) -> None:
    k = tmp_path / "k"
    write(k, "_defaults.yml", "official_domains: [slack.com]\n")
    write(k, "vendor/_defaults.yml", "kind: Policy\nowner: legal@example.com\n")
    write(k, "vendor/terms.md", "# Terms\n\nText.\n")
    write(k, "vendor/explicit.md", "---\ntitle: E\nkind: news\n---\nText.\n")
    write(k, "news/story.md", "---\ntitle: S\nurl: https://slack.com/blog/x\n---\nText.\n")
    write(k, "misc/official.md", "---\ntitle: O\nurl: https://app.slack.com/help/x\n---\nText.\n")
    write(k, "misc/retold.md", "---\ntitle: R\nurl: https://www.example-news.com/x\n---\nText.\n")
    write(k, "misc/lookalike.md", "---\ntitle: L\nurl: https://notslack.com/x\n---\nText.\n")
    kb = load_knowledge(k)
    assert kb.errors == []
    kinds = {d.path: d.meta.kind for d in kb.documents}
    assert kinds == {
        "vendor/terms.md": "policy",  # the folder's _defaults.yml
        "vendor/explicit.md": "news",  # the file's own kind wins
        "news/story.md": "news",  # the folder name outranks the host
        "misc/official.md": "official",  # a sub-domain of an official domain
        "misc/retold.md": "news",
        "misc/lookalike.md": "news",  # not a sub-domain
    }
    assert kb.document("vendor/terms.md").meta.owner == "legal@example.com"  # type: ignore[union-attr]
    # ranking reads the passage's kind (search.py's AUTHORITY): the inferred kind is on it
    assert {p.doc: p.kind for p in chunk_all(kb.documents)} == kinds
    # a defaults file is part of what the index was built from
    assert {"_defaults.yml", "vendor/_defaults.yml"} <= set(kb.file_hashes)


def test_bad_defaults_file_names_its_line(tmp_path: Path) -> None:
    write(tmp_path, "k/_defaults.yml", "owner: x\nkind: rumour\ncolour: blue\n")
    write(tmp_path, "k/a.md", "# A\n\nText.\n")
    problems = [str(p) for p in load_knowledge(tmp_path / "k").problems]
    assert any(p.startswith("_defaults.yml:2: error: kind: must be one of") for p in problems)
    assert "_defaults.yml:3: warning: unknown key 'colour'" in problems


def test_windows_file_with_bom_and_crlf_keeps_its_front_matter(tmp_path: Path) -> None:
    text = "\ufeff---\r\ntitle: Règles\r\nupdated: May 2024\r\n---\r\n## Portée\r\n\r\nTexte.\r\n"
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "a.md").write_bytes(text.encode("utf-8"))
    kb = load_knowledge(tmp_path / "k")
    doc = kb.documents[0]
    assert (doc.meta.title, doc.meta.date) == ("Règles", "2024-05")
    assert [s.path for s in doc.sections] == [("Portée",)] and "\r" not in doc.text
