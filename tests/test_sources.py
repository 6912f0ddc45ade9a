"""Reading the knowledge folder: formats, metadata, non-ASCII, and problems with file:line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from faqbot.sources import load_knowledge


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_folder_loads_cleanly(knowledge: Path) -> None:
    kb = load_knowledge(knowledge, today=dt.date(2026, 1, 1))
    assert kb.errors == []
    assert [d.path for d in kb.documents] == ["policies/sample-policy.md"]
    assert {e.id for e in kb.faq} == {"can-i-opt-out", "llm-training"}
    assert kb.opt_out is not None and kb.opt_out.email == "feedback@example.com"
    assert set(kb.file_hashes) == {"faq.yml", "opt-out.yml", "policies/sample-policy.md"}


def test_markdown_sections_metadata_and_unknown_keys(knowledge: Path) -> None:
    doc = load_knowledge(knowledge).documents[0]
    assert doc.meta.title == "Sample Privacy Principles — “Café” édition"
    assert doc.meta.kind == "policy" and doc.meta.date == "2024-05-17"
    assert doc.meta.extra == {"custom_key": "kept as is"}
    paths = [s.path for s in doc.sections]
    assert paths == [(), ("Opting out", "Who can opt out"), ("Opting out", "How to opt out"),
                     ("Generative AI",), ("Retention",)]
    how = doc.sections[2]
    assert doc.text[how.start : how.end].strip().startswith("An owner emails feedback@example.com")
    assert how.line == 17  # the line of its heading


def test_non_ascii_round_trips_exactly(tmp_path: Path) -> None:
    text = "Données « personnelles » — naïve café, 東京, emoji 🔒, ‘quotes’."
    write(tmp_path, "k/a.md", f"---\ntitle: Überblick\n---\n## Résumé\n\n{text}\n")
    doc = load_knowledge(tmp_path / "k").documents[0]
    assert doc.meta.title == "Überblick"
    assert text in doc.text
    assert doc.sections[0].path == ("Résumé",)


@pytest.mark.parametrize(
    ("rel", "content", "expected"),
    [
        ("bad.md", "---\ntitle: x\nkind: polcy\n---\ntext\n", "bad.md:3: error: kind:"),
        ("bad.md", "---\ntitle: [unclosed\n---\ntext\n",
         "bad.md:2: error: invalid YAML: while parsing a flow sequence that starts here"),
        ("bad.md", "---\ntitle: 1\nkind: [policy]\n---\ntext\n", "bad.md:3: error: kind:"),
        ("bad.md", "---\ntitle: x\ndate: 2024-13-01\n", "bad.md:1: error: front matter opened"),
        ("bad.md", "---\ntitle: x\nreview_by: [2024]\n---\nx\n", "bad.md:3: warning: review_by:"),
        ("f.yml", "faq:\n  - id: ok\n    question: Fine?\n    answer: yes it is\n"
                  "    sources: []\n", "f.yml:5: error: faq.0.sources:"),
        ("f.yml", "faq:\n  - id: Bad Id\n    question: Fine?\n    answer: a\n"
                  "    sources: [{doc: a.md, section: b}]\n", "f.yml:2: error: faq.0.id:"),
        ("f.yml", "faq:\n  - id: a\n   question: misindented\n", "f.yml:3: error: invalid YAML"),
        ("f.yml", "something: else\n", "f.yml:1: error: a YAML knowledge file needs"),
        ("o.yml", "opt_out:\n  email: not-an-address\n", "o.yml:2: error: opt_out.email:"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path: Path, rel: str, content: str, expected: str) -> None:
    write(tmp_path, f"k/{rel}", content)
    problems = [str(p) for p in load_knowledge(tmp_path / "k").problems]
    assert any(p.startswith(expected) for p in problems), problems


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "k" / "a.md"
    path.parent.mkdir()
    path.write_bytes(b"---\ntitle: x\n---\nline four\n\xff\xfe broken\n")
    assert [str(p) for p in load_knowledge(tmp_path / "k").errors] == [
        "a.md:5: error: not valid UTF-8"
    ]


def test_cross_checks(tmp_path: Path) -> None:
    write(tmp_path, "k/a.md", "---\ntitle: A\nurl: https://a\nsuperseded_by: gone.md\n"
          "review_by: 2020-01-01\n---\n## Real\n\ntext.\n")
    write(tmp_path, "k/faq.yml", """faq:
  - id: one
    question: First question?
    variants: [Shared phrasing]
    answer: a
    sources: [{doc: a.md, section: Missing}]
  - id: one
    question: Duplicate id?
    answer: a
    sources: [{doc: a.md, section: Real}]
  - id: two
    question: shared phrasing
    answer: a
    sources: [{doc: nowhere.md, section: Real}]
""")
    kb = load_knowledge(tmp_path / "k", today=dt.date(2026, 1, 1))
    messages = [str(p) for p in kb.problems]
    assert "a.md:1: error: superseded_by: 'gone.md' is not a document in the folder" in messages
    assert "faq.yml:2: error: FAQ 'one': section 'Missing' not found in 'a.md'" in messages
    assert any(m.startswith("faq.yml:7: error: duplicate FAQ id 'one'") for m in messages)
    assert any("'nowhere.md' does not exist" in m for m in messages)
    assert any("phrasing 'shared phrasing' is used by another entry" in m for m in messages)
    assert "a.md:1: warning: review_by 2020-01-01 has passed: review the document" in messages


def test_html_drops_scripts_and_navigation(tmp_path: Path) -> None:
    write(tmp_path, "k/page.html", """<!doctype html><html><head>
<title>Privacy Policy – Café</title><link rel="canonical" href="https://example.com/p">
<meta name="faqbot:kind" content="policy"><meta name="faqbot:date" content="2023-07-05">
<script>var secret = "do not index";</script><style>.x{color:red}</style></head>
<body><nav><a href="/">Home</a> Menu items</nav>
<main><h1>Privacy Policy</h1><p>Intro paragraph.</p>
<h2>How we use data</h2><p>We use data to run the service.</p><ul><li>Search ranking.</li></ul>
<h3>Machine learning</h3><p>Models learn from aggregate data.</p></main>
<footer>Copyright</footer></body></html>""")
    kb = load_knowledge(tmp_path / "k")
    doc = kb.documents[0]
    assert doc.meta.title == "Privacy Policy – Café"
    assert doc.meta.url == "https://example.com/p" and doc.meta.kind == "policy"
    assert "do not index" not in doc.text and "Menu items" not in doc.text
    assert "Copyright" not in doc.text
    assert [s.path for s in doc.sections] == [
        ("Privacy Policy",),
        ("Privacy Policy", "How we use data"),
        ("Privacy Policy", "How we use data", "Machine learning"),
    ]
    assert "- Search ranking." in doc.text


def test_text_file_with_sidecar_metadata(tmp_path: Path) -> None:
    write(tmp_path, "k/notes.txt", "Plain notes. Second sentence.\n")
    write(tmp_path, "k/notes.txt.meta.yml", "title: Internal notes\nkind: internal\n"
          "url: https://intranet/notes\n")
    kb = load_knowledge(tmp_path / "k")
    assert kb.errors == []
    assert kb.documents[0].meta.title == "Internal notes"
    assert kb.documents[0].sections[0].path == ()


def _tiny_pdf(text: str) -> bytes:
    """A one-page PDF with one line of text (built by hand; no PDF writer needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_pdf_pages_become_sections(tmp_path: Path) -> None:
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "policy.pdf").write_bytes(_tiny_pdf("Owners can opt out by email."))
    write(tmp_path, "k/policy.pdf.meta.yml", "title: Policy PDF\nkind: policy\n")
    kb = load_knowledge(tmp_path / "k")
    assert kb.errors == []
    doc = kb.documents[0]
    assert doc.meta.title == "Policy PDF"
    assert "Owners can opt out by email." in doc.text
    assert doc.sections[0].path == ("Page 1",)


def test_hidden_and_underscore_files_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "k/.draft.md", "not even front matter")
    write(tmp_path, "k/_notes/x.md", "nor here")
    write(tmp_path, "k/a.md", "---\ntitle: A\nurl: https://a\n---\ntext.\n")
    kb = load_knowledge(tmp_path / "k")
    assert kb.errors == [] and [d.path for d in kb.documents] == ["a.md"]
