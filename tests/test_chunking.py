"""Passages: whole sentences, bounded size, exact offsets, stable ids."""

from __future__ import annotations

from pathlib import Path

from faqbot.chunking import chunk_document
from faqbot.models import Document, DocumentMeta, Section
from faqbot.sources import load_knowledge


def _doc(text: str) -> Document:
    return Document(path="d.md", meta=DocumentMeta(title="T"), text=text,
                    sections=(Section(path=("S",), start=0, end=len(text), line=1),))


def test_passages_are_whole_sentences_within_the_limit() -> None:
    sentences = [f"Sentence number {i} talks about data use and retention rules." for i in range(60)]
    doc = _doc(" ".join(sentences))
    passages = chunk_document(doc, max_words=50)
    assert len(passages) > 5
    for p in passages:
        assert len(p.text.split()) <= 50
        assert p.text.startswith("Sentence number") and p.text.endswith(".")
        assert doc.text[p.start : p.end] == p.text
    assert " ".join(p.text for p in passages) == doc.text


def test_long_sentence_is_never_cut() -> None:
    long_sentence = "Word " + "word " * 199 + "end."
    passages = chunk_document(_doc(f"Short one. {long_sentence} Last."), max_words=50)
    assert any(p.text.endswith("word end.") and len(p.text.split()) == 201 for p in passages)


def test_ids_are_stable_and_depend_on_text(knowledge: Path) -> None:
    doc = load_knowledge(knowledge).documents[0]
    first = [p.id for p in chunk_document(doc)]
    assert first == [p.id for p in chunk_document(doc)]
    assert len(set(first)) == len(first)
    changed = doc.model_copy(update={"text": doc.text.replace("Members", "People")})
    assert [p.id for p in chunk_document(changed)] != first


def test_passages_carry_citation_fields(knowledge: Path) -> None:
    doc = load_knowledge(knowledge).documents[0]
    how = next(p for p in chunk_document(doc) if p.section.endswith("How to opt out"))
    assert how.section == "Opting out > How to opt out"
    assert how.doc == "policies/sample-policy.md" and how.kind == "policy"
    assert how.url == "https://example.com/principles" and how.date == "2024-05-17"
    assert doc.text[how.start : how.end] == how.text


def test_bullets_split_at_items_not_mid_item() -> None:
    text = "Intro sentence.\n- first item, e.g. emoji.\n- second item.\n\nAfter."
    passages = chunk_document(_doc(text), max_words=4)
    assert [p.text for p in passages] == ["Intro sentence.", "- first item, e.g. emoji.",
                                          "- second item.\n\nAfter."]
