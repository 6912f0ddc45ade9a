"""A page saved from a browser reads like the same text in Markdown."""

from __future__ import annotations

from pathlib import Path

from faqbot.chunking import chunk_all
from faqbot.sources import load_knowledge

SAVED_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Terms of Service | Exemple</title>
<link rel="canonical" href="https://exemple.com/terms">
<script>window.track("do not index");</script>
<style>.x { color: red }</style>
</head>
<body>
<header><a href="/">Home</a> <a href="/pricing">Pricing</a></header>
<div id="cookie-banner">We use cookies. <button>Accept all</button></div>
<div class="lang-picker"><a hreflang="de" href="/de">Deutsch</a><a hreflang="fr" href="/fr">Français</a></div>
<main>
  <h1>Terms of Service</h1>
  <p>Last Updated: June 17, 2025</p>
  <p>Please read these terms (“<strong>Terms</strong>”) carefully.</p>
  <p>Table of contents</p>
  <ul><li><a href="#accounts">1. Accounts</a></li><li><a href="#content">2. Content</a></li></ul>
  <p><img src="banner.png" alt="banner"></p>
  <p><strong>1. ACCOUNTS; SHARING</strong></p>
  <p><strong>1.1 Registration</strong>. You must give true information about yourself.</p>
  <div><strong>1.2 No Sharing</strong>. You may not share an account
     with anyone, <a href="https://exemple.com/help">see help</a>.</div>
  <h2>Customer content</h2>
  <p>10.4 Customer Content</p>
  <p>We never sell Customer Content — “café” data included.</p>
  <table><tr><th>Data</th><th>Kept for</th></tr><tr><td>Logs</td><td>30 days</td></tr></table>
</main>
<footer>© Exemple <a href="/privacy">Privacy</a></footer>
</body></html>
"""

SAME_IN_MARKDOWN = """---
title: Terms of Service | Exemple
url: https://exemple.com/terms
---
# Terms of Service

Last Updated: June 17, 2025

Please read these terms (“**Terms**”) carefully.

Table of contents

- [1. Accounts](#accounts)
- [2. Content](#content)

![banner](banner.png)

**1\\. ACCOUNTS; SHARING**

**1.1 Registration**. You must give true information about yourself.

**1.2 No Sharing**. You may not share an account with anyone, [see help](https://exemple.com/help).

## Customer content

10.4 Customer Content

We never sell Customer Content — “café” data included.

Data | Kept for

Logs | 30 days
"""


def test_saved_page_keeps_main_content_and_drops_page_chrome(tmp_path: Path) -> None:
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "terms.html").write_text(SAVED_PAGE, encoding="utf-8")
    kb = load_knowledge(tmp_path / "k")
    assert kb.errors == []
    doc = kb.documents[0]
    assert doc.meta.url == "https://exemple.com/terms" and doc.meta.date == "2025-06-17"
    for gone in ("do not index", "color", "Pricing", "cookies", "Accept", "Deutsch", "©",
                 "banner", "1. Accounts", "Table of contents", "**", "]("):
        assert gone not in doc.text, gone
    assert "You may not share an account with anyone, see help." in doc.text
    assert "Logs | 30 days" in doc.text
    lines = {s.path[-1]: s.line for s in doc.sections if s.path}
    assert lines["1.2 No Sharing"] == 21 and lines["10.4 Customer Content"] == 24  # HTML lines


def test_saved_page_reads_like_the_same_markdown(tmp_path: Path) -> None:
    (tmp_path / "h").mkdir()
    (tmp_path / "m").mkdir()
    (tmp_path / "h" / "terms.html").write_text(SAVED_PAGE, encoding="utf-8")
    (tmp_path / "m" / "terms.md").write_text(SAME_IN_MARKDOWN, encoding="utf-8")
    html_kb, md_kb = load_knowledge(tmp_path / "h"), load_knowledge(tmp_path / "m")
    assert html_kb.errors == md_kb.errors == []
    html_doc, md_doc = html_kb.documents[0], md_kb.documents[0]
    assert [s.path for s in html_doc.sections] == [s.path for s in md_doc.sections] == [
        ("Terms of Service",),
        ("Terms of Service", "1. ACCOUNTS; SHARING", "1.1 Registration"),
        ("Terms of Service", "1. ACCOUNTS; SHARING", "1.2 No Sharing"),
        # "Customer content" has no text of its own before its first clause: no section
        ("Terms of Service", "Customer content", "10.4 Customer Content"),
    ]
    assert html_doc.meta.model_dump() == md_doc.meta.model_dump()

    def texts(docs: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
        return [(p.section, " ".join(p.text.split())) for p in chunk_all(docs)]

    assert texts(html_kb.documents) == texts(md_kb.documents)


def test_a_paragraph_led_by_a_bold_label_is_a_section_in_a_saved_page(tmp_path: Path) -> None:
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "terms.html").write_text(
        "<html><head><title>Example Terms</title></head><body><main>"
        "<h2>Registration and access</h2>"
        "<p><strong>Minimum age.</strong> You must be at least 13 years old.</p>"
        "<p><b>Registration</b>.&nbsp;You may not share your account credentials.</p>"
        "</main></body></html>", encoding="utf-8")
    kb = load_knowledge(tmp_path / "k")
    assert kb.errors == []
    sections = [p.section for p in chunk_all(kb.documents)]
    assert sections == ["Registration and access > Minimum age",
                        "Registration and access > Registration"]
