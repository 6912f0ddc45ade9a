"""faqbot.catalog: the read API the Slack layer uses over the engine."""

from __future__ import annotations

from faqbot.catalog import Catalog, CatalogView
from faqbot.search import Engine


def test_view_is_the_snapshot_in_service(engine: Engine) -> None:
    snapshot = engine.snapshot
    view = Catalog(engine).view()
    assert view == CatalogView.of(snapshot)
    assert view.version == snapshot.name and view.model_id == "fake/bag-of-words"
    assert view.built_at == snapshot.manifest["created"] and view.built_at
    assert view.passages == len(snapshot.passages) > 0
    assert list(view.faq) == snapshot.faq and list(view.documents) == snapshot.documents
    assert view.opt_out == snapshot.opt_out and view.opt_out is not None


def test_faq_entry_by_id(engine: Engine) -> None:
    catalog = Catalog(engine)
    entry = engine.snapshot.faq[0]
    assert catalog.faq_entry(entry.id) == entry
    assert catalog.faq_entry("no-such-id") is None and catalog.faq_entry(None) is None


def test_answer_from_refs_keeps_known_ids_in_order(engine: Engine) -> None:
    catalog = Catalog(engine)
    passages = list(engine.snapshot.passages)
    entry = engine.snapshot.faq[0]
    ids = [passages[2].id, "0" * 16, passages[0].id]
    answer = catalog.answer_from_refs(entry.id, ids)
    assert answer is not None and answer.answered and answer.faq == entry
    assert [h.passage for h in answer.hits] == [passages[2], passages[0]]
    only_passages = catalog.answer_from_refs(None, [passages[1].id])
    assert only_passages is not None and only_passages.faq is None
    assert catalog.answer_from_refs("gone", ["0" * 16]) is None
    assert catalog.answer_from_refs(None, []) is None


def test_a_swap_is_seen_by_the_next_call(engine: Engine) -> None:
    from dataclasses import replace

    catalog = Catalog(engine)
    before = catalog.view()
    engine.swap(replace(engine.snapshot, name="swapped", faq=[]))
    after = catalog.view()
    assert after.version == "swapped" and list(after.faq) == []
    assert before.version != "swapped" and len(before.faq) > 0  # a view does not change
