"""Ranking and declining with the fake embedder (the real model has its own tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faqbot.chunking import embedding_text
from faqbot.embedding import ContentTokenizer
from faqbot.index import Snapshot, make_faiss_index
from faqbot.late import TokenStore, write_tokens
from faqbot.models import FaqEntry, Passage, SourceRef
from faqbot.search import (
    Engine,
    Ranked,
    RankingConfig,
    confidence,
    cover_parts,
    has_words,
    normalise_query,
    prepare,
    question_parts,
    rank,
    word_query,
)
from faqbot.service import open_engine
from faqbot.settings import Settings
from tests.fakes import FakeEmbedder, FakeTokenEmbedder


def test_faq_match_brings_its_answer_and_sources_first(engine: Engine) -> None:
    answer = engine.answer("How do I opt out?")
    assert answer.answered and answer.faq is not None and answer.faq.id == "can-i-opt-out"
    assert answer.hits[0].passage.section == "Opting out > How to opt out"
    assert "feedback@example.com" in answer.hits[0].passage.text
    assert len(answer.hits) == 3
    assert [h.score for h in answer.hits[2:]] == sorted((h.score for h in answer.hits[2:]),
                                                        reverse=True)


def test_exact_terms_are_found_by_keyword(engine: Engine) -> None:
    answer = engine.answer("feedback@example.com")
    assert "feedback@example.com" in answer.hits[0].passage.text
    assert answer.hits[0].keyword > 0


@pytest.mark.parametrize("question", ["", "   ", "🙂🔒🎉", "???", "\x00\x07\x1b", "-- !! --"])
def test_nothing_to_search_is_declined(engine: Engine, question: str) -> None:
    answer = engine.answer(question)
    assert not answer.answered and answer.hits == () and answer.related


def test_unrelated_question_is_declined_with_related_questions(engine: Engine) -> None:
    answer = engine.answer("zebra quantum lasagne")
    assert not answer.answered and answer.faq is None
    assert answer.hits  # ranked passages are still listed
    assert {e.id for e in answer.related} <= {"can-i-opt-out", "llm-training"}


def test_huge_question_is_bounded(engine: Engine) -> None:
    engine.embedder.calls.clear()  # type: ignore[attr-defined]
    engine.answer("opt out " * 5000)
    asked = engine.embedder.calls[0][0]  # type: ignore[attr-defined]
    assert len(asked) <= engine.config.max_query_chars + 200


def test_swap_changes_the_snapshot_atomically(engine: Engine, settings: Settings) -> None:
    other = open_engine(settings, FakeEmbedder()).snapshot
    old = engine.swap(other)
    assert engine.snapshot is other and old is not other
    assert engine.answer("How do I opt out?").answered


def test_normalise_query_expands_informal_words() -> None:
    assert "direct messages" in normalise_query("are my DMs used")
    assert "large language models" in normalise_query("does chatgpt read slack")
    assert normalise_query("plain  question\n") == "plain question"
    assert has_words("ok?") and not has_words("🙂 ?")


def test_answer_highlights_the_matching_sentence(engine: Engine) -> None:
    answer = engine.answer("Are large language models trained on customer messages?")
    assert answer.answered
    hit = next(h for h in answer.hits if h.passage.section == "Generative AI")
    assert hit.highlight is not None
    start, end = hit.highlight
    assert hit.passage.text[start:end] == (
        "The company does not train large language models on customer messages."
    )


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("who can opt out and what email do they use", ["who can opt out",
                                                        "what email do they use"]),
        ("Can I opt out? How long does it take?", ["Can I opt out", "How long does it take"]),
        ("how do i opt out and also when was it updated", ["how do i opt out",
                                                           "when was it updated"]),
        ("does slack train on DMs", ["does slack train on DMs"]),
        ("is it safe? ok", ["is it safe? ok"]),
    ],
)
def test_question_parts(question: str, parts: list[str]) -> None:
    assert question_parts(question) == parts


def test_each_part_of_a_question_gets_a_passage(engine: Engine,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    question = "opt out owners email feedback workspace URL subject line? how long is data kept"
    sections = [h.passage.section for h in engine.answer(question, top_k=2).hits]
    assert sections == ["Opting out > How to opt out", "Retention"]
    # without splitting, the opt-out words crowd the retention part out
    monkeypatch.setattr("faqbot.search.question_parts", lambda q: [q])
    sections = [h.passage.section for h in engine.answer(question, top_k=2).hits]
    assert "Retention" not in sections


def _ranked(rows: list[int], scores: list[float], passages: list[Passage]) -> Ranked:
    return Ranked(passages=passages, rows=np.array(rows), scores=np.array(scores),
                  dense=np.array(scores) / 2, keyword=np.zeros(len(rows)), faq_scores=[],
                  top_dense=0.0, out_of_scope=0.0)


def _passages(n: int) -> list[Passage]:
    return [Passage(id=f"p{i}", doc="d.md", title="D", section="S", url=None, date=None,
                    kind="faq", text=f"text {i}", start=0, end=6) for i in range(n)]


def test_cover_parts_puts_each_parts_best_after_the_wholes_best() -> None:
    passages = _passages(6)
    whole = _ranked([0, 1, 2, 3], [0.9, 0.8, 0.7, 0.6], passages)
    found_by_whole = _ranked([3, 0], [0.5, 0.4], passages)  # keeps the whole's score 0.6
    only_the_part = _ranked([5, 1], [0.3, 0.2], passages)
    same_as_whole = _ranked([0], [0.1], passages)  # no repeat
    covered = cover_parts(whole, [found_by_whole, only_the_part, same_as_whole])
    assert covered.rows.tolist() == [0, 3, 5, 1, 2]
    assert covered.scores.tolist() == [0.9, 0.6, 0.3, 0.8, 0.7]
    assert [h.passage.id for h in covered.top(3)] == ["p0", "p3", "p5"]
    assert cover_parts(_ranked([], [], passages), []).rows.tolist() == []


def test_equal_scores_are_ordered_by_passage_id_and_only_shown_hits_are_built(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = engine.snapshot
    ranked = rank(snapshot, engine.embedder, "opt out email", engine.config)
    ids = [snapshot.passages[int(r)].id for r in ranked.rows]
    for a, b, sa, sb in zip(ids, ids[1:], ranked.scores, ranked.scores[1:], strict=False):
        assert sa > sb or (sa == sb and a < b)
    built: list[int] = []
    table = type(snapshot.passages)
    original = table.__getitem__
    monkeypatch.setattr(table, "__getitem__", lambda self, row: built.append(row)
                        or original(self, row))
    engine.answer("opt out email", top_k=2)
    assert len(built) == 2  # not one per candidate


def _late_snapshot(tmp_path: Path, faq_cites: str | None = None) -> Snapshot:
    """Three passages, stored with their tokens on disk; optionally an FAQ entry citing one."""
    texts = {
        "short": "Retention period.",
        "long": "We describe the retention period and how deletion works for accounts, backups, "
                "logs, archives, exports, invoices, tickets, recordings, calendars and uploads.",
        "other": "Cookies help us remember your language and sign-in choices.",
    }
    passages = [Passage(id=key, doc="policy.md", title="", section=key, url=None, date=None,
                        kind="policy", text=text, start=0, end=len(text))
                for key, text in texts.items()]
    embedder = FakeTokenEmbedder()
    vectors, tokens = embedder.embed_with_tokens([embedding_text(p) for p in passages])
    write_tokens(tmp_path, tokens, embedder.dim)
    faq = ([FaqEntry(id="keep", question="retention period deletion", answer="See policy.",
                     sources=(SourceRef(doc="policy.md", section=faq_cites),))]
           if faq_cites else [])
    rows: list[tuple[str | None, str]] = [(e.id, e.question) for e in faq]
    return Snapshot(name="late", manifest={}, passages=passages,
                    passage_index=make_faiss_index(vectors), faq=faq, faq_rows=rows,
                    faq_index=make_faiss_index(embedder.embed([t for _, t in rows])
                                               if rows else np.zeros((0, embedder.dim),
                                                                     np.float32)),
                    documents=[], opt_out=None,
                    tokens=TokenStore.open(tmp_path, embedder.dim))


def _order(snapshot: Snapshot, config: RankingConfig) -> list[str]:
    ranked = rank(snapshot, FakeTokenEmbedder(), "retention period deletion", config)
    return [snapshot.passages[int(r)].id for r in ranked.rows]


def test_late_interaction_finds_the_passage_with_every_question_word(tmp_path: Path) -> None:
    snapshot = _late_snapshot(tmp_path)
    # one pooled vector: the short passage is closer, though it lacks "deletion"
    assert _order(snapshot, RankingConfig(late_weight=0.0))[0] == "short"
    assert _order(snapshot, RankingConfig())[0] == "long"


def test_late_interaction_does_not_reorder_when_an_faq_entry_vouches(tmp_path: Path) -> None:
    snapshot = _late_snapshot(tmp_path, faq_cites="other")
    order = _order(snapshot, RankingConfig())
    assert "other" in order  # lifted by the FAQ entry, which also turns token matching off
    assert order.index("short") < order.index("long")


def test_unreadable_token_file_ranks_without_it(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    snapshot = _late_snapshot(tmp_path)
    (tmp_path / "tokens.f16").unlink()
    assert _order(snapshot, RankingConfig()) == _order(snapshot, RankingConfig(late_weight=0.0))
    assert "token vectors unreadable" in caplog.text and "retention" not in caplog.text


def test_engine_answers_with_the_question_tokens_and_each_parts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import faqbot.ranking as ranking

    engine = Engine(embedder=FakeTokenEmbedder(), snapshot=_late_snapshot(tmp_path))
    assert engine.answer("retention period deletion", top_k=1).hits[0].passage.id == "long"
    asked: list[int] = []
    real_maxsim = ranking.maxsim
    monkeypatch.setattr(ranking, "maxsim", lambda query, groups, idf: asked.append(
        len(query.ids)) or real_maxsim(query, groups, idf))
    engine.answer("what is the retention period for deletion? do cookies remember my language")
    assert asked == [6, 3, 3]  # the whole question, then each part, each with its own tokens


def _company_snapshot(tmp_path: Path, texts: dict[str, str] | None = None,
                      news: tuple[str, ...] = ()) -> Snapshot:
    """Passages of a document about Adobe (by default two: one repeats the name, one
    answers); those keyed in ``news`` are of a news article about Adobe."""
    texts = texts or {"names": "Adobe publishes Adobe news about Adobe events.",
                      "answers": "You keep ownership of what you make with the services."}
    passages = [Passage(id=key, doc="adobe-news.md" if key in news else "adobe-terms.md",
                        title="Adobe General Terms", section=key, url=None, date=None,
                        kind="news" if key in news else "policy", text=text, start=0,
                        end=len(text))
                for key, text in texts.items()]
    embedder = FakeTokenEmbedder()
    vectors, tokens = embedder.embed_with_tokens([embedding_text(p) for p in passages])
    write_tokens(tmp_path, tokens, embedder.dim)
    return Snapshot(name="company", manifest={}, passages=passages,
                    passage_index=make_faiss_index(vectors), faq=[], faq_rows=[],
                    faq_index=make_faiss_index(np.zeros((0, embedder.dim), np.float32)),
                    documents=[], opt_out=None, tokens=TokenStore.open(tmp_path, embedder.dim))


def test_word_scores_leave_out_the_names_of_the_company_the_documents_are_about(
        tmp_path: Path) -> None:
    snapshot = _company_snapshot(tmp_path)
    embedder = FakeTokenEmbedder()
    assert word_query(snapshot, embedder, "does adobe own what i make",
                      "does adobe own what i make") == "does own what i make"
    # a company the documents are not about keeps its name; so does a question of names only
    assert word_query(snapshot, embedder, "does zoom own it", "does zoom own it") == \
        "does zoom own it"
    assert word_query(snapshot, embedder, "adobe?", "adobe?") == "adobe?"
    ranked = rank(snapshot, embedder, "does adobe own what i make", RankingConfig())
    keyword = {snapshot.passages[int(r)].id: float(k)
               for r, k in zip(ranked.rows, ranked.keyword, strict=True)}
    assert keyword.get("names", 0.0) == 0.0 and keyword["answers"] > 0


def test_naming_the_documents_subject_raises_the_confidence(tmp_path: Path) -> None:
    snapshot = _company_snapshot(tmp_path)
    embedder = FakeTokenEmbedder()
    named = rank(snapshot, embedder, "does adobe own what i make", RankingConfig())
    other = rank(snapshot, embedder, "does zoom own what i make", RankingConfig())
    assert named.names_subject and not other.names_subject
    assert cover_parts(named, []).names_subject  # kept when parts are merged
    bias, w_in, w_out, w_subject = RankingConfig().calibration
    assert w_subject > 0
    flat = RankingConfig(calibration=(bias, w_in, w_out, 0.0))
    assert confidence(named, RankingConfig()) > confidence(named, flat)
    assert confidence(other, RankingConfig()) == confidence(other, flat)


def test_a_product_name_only_the_companys_documents_use_names_the_company(
        tmp_path: Path) -> None:
    texts = {"names": "Adobe publishes Adobe news about Adobe events.",
             "answers": "You keep ownership of what you make with the services.",
             "product": "Files you keep in CloudDocs stay private.",
             "again": "CloudDocs folders can be shared with a link.",
             "report": "TechWire reported on Adobe's terms.",
             "follow-up": "TechWire asked Adobe again."}
    # a news article names its publisher, not a product
    snapshot = _company_snapshot(tmp_path, texts, news=("report", "follow-up"))
    embedder = FakeTokenEmbedder()
    assert prepare(snapshot, embedder).product_terms == {"clouddoc": "Adobe"}
    # the question does not say "Adobe", but names its product: it is about Adobe
    assert rank(snapshot, embedder, "are my clouddocs private?", RankingConfig()).names_subject
    assert not rank(snapshot, embedder, "are my files private?", RankingConfig()).names_subject


def test_the_word_query_joins_the_questions_forward_pass(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = FakeTokenEmbedder()
    engine = Engine(embedder=embedder, snapshot=_company_snapshot(tmp_path))
    calls: list[list[str]] = []
    real = embedder.embed_with_tokens
    monkeypatch.setattr(embedder, "embed_with_tokens",
                        lambda texts: calls.append(list(texts)) or real(texts))
    engine.answer("does adobe own what i make")
    assert calls == [["does adobe own what i make", "does own what i make"]]


def test_a_question_in_parts_takes_one_forward_pass_for_all_of_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = FakeTokenEmbedder()
    engine = Engine(embedder=embedder, snapshot=_company_snapshot(tmp_path))
    calls: list[list[str]] = []
    tokenized: list[list[str]] = []
    real_embed, real_ids = embedder.embed_with_tokens, embedder.content_ids
    monkeypatch.setattr(embedder, "embed_with_tokens",
                        lambda texts: calls.append(list(texts)) or real_embed(texts))
    monkeypatch.setattr(embedder, "content_ids",
                        lambda texts: tokenized.append(list(texts)) or real_ids(texts))
    engine.answer("does adobe own what i make and who can see my files")
    # the model reads the whole question (and its words without "adobe") once; the parts
    # are only tokenized, to pick their words' tokens out of the whole question's
    assert calls == [["does adobe own what i make and who can see my files",
                      "does own what i make and who can see my files"]]
    assert tokenized == [["does own what i make and who can see my files",
                          "does own what i make", "who can see my files"]]


def test_a_token_model_that_cannot_tokenize_alone_embeds_the_parts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class NoContentIds(FakeTokenEmbedder):
        content_ids = None  # type: ignore[assignment]

    import faqbot.ranking as ranking

    embedder = NoContentIds()
    assert not isinstance(embedder, ContentTokenizer)
    engine = Engine(embedder=embedder, snapshot=_company_snapshot(tmp_path))
    calls: list[list[str]] = []
    real = embedder.embed_with_tokens
    monkeypatch.setattr(embedder, "embed_with_tokens",
                        lambda texts: calls.append(list(texts)) or real(texts))
    late: list[int] = []
    real_maxsim = ranking.maxsim
    monkeypatch.setattr(ranking, "maxsim", lambda query, groups, idf: late.append(
        len(query.ids)) or real_maxsim(query, groups, idf))
    answer = engine.answer("does adobe own what i make and who can see my files")
    # the question and its parts, and those naming Adobe without the name, in one pass
    assert calls == [["does adobe own what i make and who can see my files",
                      "does adobe own what i make", "who can see my files",
                      "does own what i make and who can see my files", "does own what i make"]]
    # each reads the tokens of its own words (without "adobe"): the whole question's, then
    # each part's
    own = [len(real([text])[1][0].ids) for text in (
        "does own what i make and who can see my files", "does own what i make",
        "who can see my files")]
    assert late == own and own[0] == own[1] + own[2] and answer.hits


def test_a_part_beyond_the_models_length_gets_a_vector_of_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = FakeTokenEmbedder()
    engine = Engine(embedder=embedder, snapshot=_company_snapshot(tmp_path))
    real_ids = embedder.content_ids
    # the whole question as the model would cut it: without its last words
    monkeypatch.setattr(embedder, "content_ids", lambda texts: [
        real_ids([texts[0]])[0][:-2], *real_ids(texts[1:])])
    calls: list[list[str]] = []
    real = embedder.embed_with_tokens
    monkeypatch.setattr(embedder, "embed_with_tokens",
                        lambda texts: calls.append(list(texts)) or real(texts))
    engine.answer("does adobe own what i make and who can see my files")
    assert len(calls) == 1 and "who can see my files" in calls[0]


def test_the_out_of_scope_examples_meet_the_question_without_the_subjects_names(
        tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "adobe-terms.md").write_text(
        "---\ntitle: Adobe General Terms\n---\n# Your content\n\n"
        "Adobe does not claim ownership of what you make with Adobe services.\n",
        encoding="utf-8")
    engine = open_engine(Settings(knowledge_dir=knowledge, index_dir=tmp_path / "index"),
                         FakeTokenEmbedder())
    question = "is adobe down right now?"  # the shipped "Is the service down right now?"
    ranked = rank(engine.snapshot, engine.embedder, question, engine.config)
    query = normalise_query(question)
    with_names = rank(engine.snapshot, engine.embedder, question, engine.config, words=query)
    assert ranked.out_of_scope > with_names.out_of_scope
    # the engine's path (one forward pass for all its texts) gives the same figure
    calls = len(engine.embedder.calls)
    assert engine.answer(question).confidence == pytest.approx(
        confidence(ranked, engine.config))
    assert len(engine.embedder.calls) == calls + 1


def test_the_passage_closest_in_meaning_is_kept_among_the_three_shown() -> None:
    from faqbot.ranking import _closest_by_meaning_within

    rows = np.array([4, 3, 2, 1, 0])  # best first by the fused score
    fused = np.array([2.0, 1.9, 1.8, 1.7, 1.6])
    dense = np.array([0.9, 0.2, 0.3, 0.4, 0.5])  # by passage row: row 0 is closest in meaning
    moved, scores = _closest_by_meaning_within(rows, fused, dense, 3)
    assert moved.tolist() == [4, 3, 0, 2, 1]
    assert scores.tolist() == [2.0, 1.9, 1.6, 1.8, 1.7]  # it keeps its own score
    # no lower place to come from (as many candidates as the place), or the rule off
    assert _closest_by_meaning_within(rows, fused, dense, 5)[0].tolist() == rows.tolist()
    assert _closest_by_meaning_within(rows, fused, dense, 0)[0].tolist() == rows.tolist()
    near = np.array([0.1, 0.2, 0.3, 0.95, 0.5])  # row 3, second by score
    assert _closest_by_meaning_within(rows, fused, near, 3)[0].tolist() == rows.tolist()


def test_the_closest_in_meaning_displaces_the_less_close_of_the_second_and_third() -> None:
    from faqbot.ranking import _closest_by_meaning_within

    rows = np.array([4, 3, 2, 1, 0])  # best first by the fused score
    fused = np.array([2.0, 1.9, 1.8, 1.7, 1.6])
    # row 3 (second) is less close in meaning than row 2 (third); row 4 (first) least of all
    dense = np.array([0.9, 0.5, 0.4, 0.2, 0.1])
    moved, scores = _closest_by_meaning_within(rows, fused, dense, 3)
    assert moved.tolist() == [4, 2, 0, 3, 1]  # the first keeps its place
    assert scores.tolist() == [2.0, 1.8, 1.6, 1.9, 1.7]
    # behind a curated FAQ lift, the one at the third place gives way, whatever its cosine
    curated, _ = _closest_by_meaning_within(rows, fused, dense, 3, curated=True)
    assert curated.tolist() == [4, 3, 0, 2, 1]
