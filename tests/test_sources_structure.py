"""Scraped legal pages: numbered clauses and bold lines as sections, artefacts dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from faqbot.chunking import chunk_all
from faqbot.models import Document
from faqbot.sources import load_knowledge
from faqbot.sources.structure import clean_body, inline_text

REALDOCS = Path(__file__).resolve().parents[2] / "shared" / "data" / "realdocs" / "corpus"

TERMS = """---
title: Terms of Service
---
Please read these terms (“**Terms**”) carefully.

**1\\. ACCOUNTS; SHARING**

**1.1 Registration**. You must give true information about yourself.

**1.2**\u00a0**No Sharing**. You may not share an account with anyone.

**2\\. CUSTOMER CONTENT**

10.4 Customer Content

We never sell Customer Content.

**Data Rights**

You may ask for a copy of your data.

**Marketing**

You may opt out of marketing email.
"""

SCRAPED = """---
title: Privacy
---
![](https://cdn.example/banner.png?v=1)

Select language

English (United States)العربيةአማርኛбългарскиΕλληνικάहिन्दी日本語한국어

Table of contents

*   [1\\. Data we collect](#data-we-collect)
*   [2\\. How we use it](#how-we-use-it)

1.  ## Introduction

    We are a network for **professionals**. See [our cookie policy](https://ex.com/cookies).

    ### Services

    This applies to the site\u2060 and apps.

style

**xs-spacing, grid-width-12**

1 | 2

## [](#)Retention

We keep data for 30 days.
"""


def _document(tmp_path: Path, text: str) -> Document:
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "doc.md").write_text(text, encoding="utf-8")
    kb = load_knowledge(tmp_path / "k")
    assert kb.errors == []
    return kb.documents[0]


def _load(tmp_path: Path, text: str) -> tuple[list[tuple[str, ...]], str]:
    doc = _document(tmp_path, text)
    return [s.path for s in doc.sections], doc.text


def test_numbered_clauses_and_bold_lines_are_sections(tmp_path: Path) -> None:
    paths, text = _load(tmp_path, TERMS)
    assert paths == [
        (),
        ("1. ACCOUNTS; SHARING", "1.1 Registration"),
        ("1. ACCOUNTS; SHARING", "1.2 No Sharing"),
        ("2. CUSTOMER CONTENT", "10.4 Customer Content"),
        # a bold line belongs to the clause above it; bold lines are siblings, not nested
        ("2. CUSTOMER CONTENT", "10.4 Customer Content", "Data Rights"),
        ("2. CUSTOMER CONTENT", "10.4 Customer Content", "Marketing"),
    ]
    assert "Please read these terms (“Terms”) carefully." in text  # bold inside prose is kept


def test_inline_clause_text_stays_in_its_section(tmp_path: Path) -> None:
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "t.md").write_text(TERMS, encoding="utf-8")
    kb = load_knowledge(tmp_path / "k")
    doc = kb.documents[0]
    by_path = {s.path[-1] if s.path else "": doc.text[s.start:s.end].strip() for s in doc.sections}
    assert by_path["1.1 Registration"] == "You must give true information about yourself."
    assert by_path["10.4 Customer Content"] == "We never sell Customer Content."
    section_line = {s.path[-1]: s.line for s in doc.sections if s.path}
    assert section_line["1.1 Registration"] == 8 and section_line["Marketing"] == 22  # file lines


RUN_IN = """---
title: Example Terms
---
## Registration and access

**Minimum age.** You must be at least 13 years old to use the Services.

**Registration**. You may not share your account credentials with anyone else.

Another paragraph of the registration section, with **bold words** inside.

**Personal Data You Provide:**\u00a0We collect your name.

**This whole paragraph is one bold sentence, far too long to be anyone's label for a section.** It is text.
"""


def test_a_paragraph_led_by_a_bold_label_is_a_section_that_keeps_its_label(tmp_path: Path) -> None:
    doc = _document(tmp_path, RUN_IN)
    assert [s.path for s in doc.sections] == [
        ("Registration and access", "Minimum age"),
        ("Registration and access", "Registration"),
        ("Registration and access", "Personal Data You Provide"),
    ]
    body = {s.path[-1]: doc.text[s.start:s.end].strip() for s in doc.sections}
    # the label stays in the text (a bold sentence read as a label would lose nothing), and the
    # paragraphs after it belong to it until the next label or heading
    assert body["Minimum age"] == "Minimum age. You must be at least 13 years old to use the Services."
    assert body["Registration"].startswith("Registration. You may not share your account")
    assert body["Registration"].endswith("with bold words inside.")
    assert "one bold sentence, far too long" in body["Personal Data You Provide"]
    passages = chunk_all([doc])
    assert [p.section for p in passages][:2] == ["Registration and access > Minimum age",
                                                  "Registration and access > Registration"]


def test_scraped_artefacts_are_dropped_and_headings_in_lists_found(tmp_path: Path) -> None:
    paths, text = _load(tmp_path, SCRAPED)
    assert paths == [("Introduction",), ("Introduction", "Services"), ("Retention",)]
    for gone in ("banner.png", "Select language", "العربية", "Data we collect", "xs-spacing",
                 "style", "1 | 2", "](", "**", "\u2060"):
        assert gone not in text, gone
    assert "We are a network for professionals. See our cookie policy." in text
    assert text.count("\n") == SCRAPED.split("---\n", 2)[2].count("\n")  # lines are kept


@pytest.mark.parametrize(
    ("markdown", "plain"),
    [
        ("[Settings](https://x/y) are **available**", "Settings are available"),
        ("*[Effective November 3, 2025](https://x)*", "Effective November 3, 2025"),
        ("section 1\\.2 \\(b\\)", "section 1.2 (b)"),
        ("*   a list item stays a list item", "*   a list item stays a list item"),
        ("snake_case_name and 2 * 3 * 4", "snake_case_name and 2 * 3 * 4"),
    ],
)
def test_inline_markup_becomes_plain_text(markdown: str, plain: str) -> None:
    assert inline_text(markdown) == plain


def test_code_fences_are_left_alone() -> None:
    body = "```\n[link](#x)\n**bold**\n```\n"
    assert clean_body(body) == body


def test_ordered_list_steps_are_not_headings(tmp_path: Path) -> None:
    paths, _ = _load(tmp_path, "---\ntitle: How to\n---\n## Steps\n\n1. Open Settings\n\n"
                     "2. Click Export\n\n3. Wait for the email\n")
    assert paths == [("Steps",)]


@pytest.mark.skipif(not REALDOCS.is_dir(), reason="../shared/data/realdocs is not on this machine")
def test_realdocs_legal_structure_is_found() -> None:
    kb = load_knowledge(REALDOCS)
    assert kb.errors == []
    docs = {d.path: d for d in kb.documents}
    zoom = {" > ".join(s.path) for s in docs["zoom-terms.md"].sections}
    assert "10. DATA USAGE, LICENSES AND RESPONSIBILITIES > 10.1 Customer Content" in zoom
    linkedin = {s.path[-1] for s in docs["linkedin-privacy.md"].sections if s.path}
    assert {"Introduction", "Services", "Data Controllers and Contracting Parties"} <= linkedin
    passages = chunk_all(kb.documents)
    for p in passages:
        assert "Select language" not in p.text and "](" not in p.text, (p.doc, p.text[:80])
        assert "\u200d" not in p.text and "**" not in p.text
