"""Start-up with a broken knowledge file: the rest is served and the admins are told."""

from __future__ import annotations

from pathlib import Path

import pytest

from faqbot.errors import KnowledgeError
from faqbot.index import IndexStore
from faqbot.service import StartupNotice, check_startup, open_engine
from faqbot.settings import Settings, load_settings
from faqbot.sources import load_knowledge, servable
from tests.fakes import FakeEmbedder

BROKEN_FAQ = "faq:\n  - id: x\n    question: \"unclosed\n    answer: a\n"
PARKING = "---\ntitle: Parking\nurl: https://intranet/parking\n---\n## Garage\n\n" \
          "The zebra garage opens at seven.\n"


def _docs(engine: object) -> set[str]:
    return {p.doc for p in engine.snapshot.passages}  # type: ignore[attr-defined]


def test_servable_leaves_out_broken_files_and_what_depends_on_them(knowledge: Path) -> None:
    (knowledge / "broken.md").write_text("---\ntitle: [oops\n---\ntext\n", encoding="utf-8")
    # an FAQ entry that cites the broken document breaks once it is left out
    (knowledge / "more.yml").write_text(
        "faq:\n  - id: cites-broken\n    question: What does broken say?\n    answer: a\n"
        "    sources: [{doc: broken.md, section: Any}]\n", encoding="utf-8")
    kb = load_knowledge(knowledge)
    assert {p.path for p in kb.errors} == {"broken.md", "more.yml"}
    good = servable(kb)
    assert good.errors == []
    assert {d.path for d in good.documents} == {"policies/sample-policy.md"}
    assert {p.path for p in good.skipped} == {"broken.md", "more.yml"}
    assert str(good.skipped[0]).startswith("broken.md:2: error: invalid YAML")
    assert "broken.md" not in good.file_hashes and "faq.yml" in good.file_hashes
    assert servable(good) is good  # nothing left to leave out


def test_servable_leaves_out_a_broken_sidecar_and_its_document(knowledge: Path) -> None:
    (knowledge / "page.html").write_text("<main><p>Body text.</p></main>", encoding="utf-8")
    (knowledge / "page.html.meta.yml").write_text("title: [x\n", encoding="utf-8")
    (knowledge / "orphan.pdf.meta.yml").write_text("title: Gone\n", encoding="utf-8")
    kb = load_knowledge(knowledge)
    assert {p.path for p in kb.errors} == {"page.html.meta.yml", "orphan.pdf.meta.yml"}
    good = servable(kb)
    assert good.errors == [] and [d.path for d in good.documents] == ["policies/sample-policy.md"]
    assert "page.html" not in good.file_hashes


def test_start_with_a_broken_file_and_no_index_serves_the_other_files(
        settings: Settings, knowledge: Path) -> None:
    (knowledge / "parking.md").write_text(PARKING, encoding="utf-8")
    (knowledge / "faq.yml").write_text(BROKEN_FAQ, encoding="utf-8")
    notices: list[StartupNotice] = []
    engine = open_engine(settings, FakeEmbedder(), on_notice=notices.append)
    assert _docs(engine) == {"policies/sample-policy.md", "parking.md"}
    assert engine.snapshot.faq == []  # the broken FAQ file is not served
    [notice] = notices
    assert check_startup(settings) == notice
    assert notice.served == "the other files" and notice.files == ("faq.yml",)
    assert "faq.yml:3: error: invalid YAML" in notice.text()
    assert "1 knowledge file(s) in error" in notice.text()


def test_start_with_a_broken_file_keeps_the_last_good_index(
        settings: Settings, knowledge: Path) -> None:
    first = open_engine(settings, FakeEmbedder())
    good_version = first.snapshot.name
    assert {e.id for e in first.snapshot.faq} == {"can-i-opt-out", "llm-training"}
    (knowledge / "faq.yml").write_text(BROKEN_FAQ, encoding="utf-8")  # a typo, then a restart
    notices: list[StartupNotice] = []
    embedder = FakeEmbedder()
    engine = open_engine(settings, embedder, on_notice=notices.append)
    # the index on disk still holds the last good FAQ: it is served as it is, nothing rebuilt
    assert engine.snapshot.name == good_version and embedder.embedded == []
    assert {e.id for e in engine.snapshot.faq} == {"can-i-opt-out", "llm-training"}
    assert notices[0].served == f"the last good index ({good_version})"


def test_start_with_a_broken_file_and_other_changes_indexes_the_good_files(
        settings: Settings, knowledge: Path) -> None:
    first = open_engine(settings, FakeEmbedder())
    (knowledge / "faq.yml").write_text(BROKEN_FAQ, encoding="utf-8")
    (knowledge / "parking.md").write_text(PARKING, encoding="utf-8")  # a good edit as well
    notices: list[StartupNotice] = []
    engine = open_engine(settings, FakeEmbedder(), on_notice=notices.append)
    assert engine.snapshot.name != first.snapshot.name
    assert "parking.md" in _docs(engine) and notices[0].served == "the other files"
    # fixing the file makes the index stale again, so the next start serves it
    (knowledge / "faq.yml").write_text((Path(__file__).parent / "data" / "knowledge" /
                                        "faq.yml").read_text("utf-8"), encoding="utf-8")
    notices.clear()
    fixed = open_engine(settings, FakeEmbedder(), on_notice=notices.append)
    assert check_startup(settings) is None
    assert notices == [] and {e.id for e in fixed.snapshot.faq} == {"can-i-opt-out",
                                                                     "llm-training"}


def test_nothing_servable_and_no_index_is_still_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "k"
    folder.mkdir()
    (folder / "a.md").write_text("---\ntitle: [x\n---\n", encoding="utf-8")
    settings = load_settings(knowledge_dir=folder, index_dir=tmp_path / "index")
    with pytest.raises(KnowledgeError, match=r"^a\.md:2: error: invalid YAML"):
        check_startup(settings)  # what a server checks before it binds its port
    with pytest.raises(KnowledgeError, match=r"^a\.md:2: error: invalid YAML"):
        open_engine(settings, FakeEmbedder())
    assert IndexStore(tmp_path / "index").current_name() is None


def test_nothing_servable_serves_the_index_on_disk(settings: Settings, knowledge: Path) -> None:
    first = open_engine(settings, FakeEmbedder())
    for path in knowledge.rglob("*.*"):
        path.write_text("---\ntitle: [x\n---\n" if path.suffix == ".md" else BROKEN_FAQ,
                        encoding="utf-8")
    notices: list[StartupNotice] = []
    engine = open_engine(settings, FakeEmbedder(), on_notice=notices.append)
    assert engine.snapshot.name == first.snapshot.name
    assert len(notices[0].files) == 3
    assert check_startup(settings) == notices[0]


def test_start_serves_the_index_on_disk_when_the_good_files_cannot_be_indexed(
        settings: Settings, knowledge: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = open_engine(settings, FakeEmbedder())
    (knowledge / "faq.yml").write_text(BROKEN_FAQ, encoding="utf-8")
    (knowledge / "parking.md").write_text(PARKING, encoding="utf-8")

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(IndexStore, "build", full_disk)
    notices: list[StartupNotice] = []
    engine = open_engine(settings, FakeEmbedder(), on_notice=notices.append)
    assert engine.snapshot.name == first.snapshot.name
    assert notices[0].served == f"the last good index ({first.snapshot.name})"
