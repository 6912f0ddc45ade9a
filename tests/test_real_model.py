"""The tests that matter, with the real bundled model (loaded once per session)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from faqbot.evaluation import RANK_DEPTH, load_questions, metrics, outcome
from faqbot.search import Engine
from faqbot.service import open_engine
from faqbot.settings import Settings, load_settings
from tests.conftest import REPO

pytestmark = pytest.mark.model

#: The knowledge issue's minimums on the held-out set (eval/questions.yml), gated as they are.
#: Measured with the bundled model: Hit@1 0.870, Hit@3 0.950, 100% declined, 2.0% wrongly
#: declined; Hit@3 sits exactly on its minimum, so one more miss fails CI.
MIN_HIT3, MIN_HIT1, MIN_DECLINED, MAX_WRONGLY_DECLINED = 0.95, 0.85, 0.95, 0.03


@pytest.fixture(scope="module")
def bundled(real_embedder, tmp_path_factory: pytest.TempPathFactory) -> Engine:  # type: ignore[no-untyped-def]
    settings = load_settings(knowledge_dir=REPO / "knowledge",
                             index_dir=tmp_path_factory.mktemp("bundled-index"))
    return open_engine(settings, real_embedder)


def test_paraphrase_finds_the_right_passage(settings: Settings, real_embedder) -> None:  # type: ignore[no-untyped-def]
    engine = open_engine(settings, real_embedder)
    answer = engine.answer("which people are allowed to ask for our company to be excluded?")
    assert answer.answered
    assert answer.hits[0].passage.section == "Opting out > Who can opt out"
    assert engine.answer("what is on the canteen menu on friday").answered is False


def test_can_i_opt_out_is_answered_from_the_opt_out_sections(bundled: Engine) -> None:
    answer = bundled.answer("Can I opt out?")
    assert answer.answered and answer.faq is not None and "opt" in answer.faq.id
    top = answer.hits[0].passage
    assert top.doc == "principles/privacy-principles-2024-05-17.md"
    assert top.section.startswith("Opting out")
    assert all(h.passage.url and h.passage.date for h in answer.hits)


def test_how_to_opt_out_cites_the_address(bundled: Engine) -> None:
    answer = bundled.answer("How do I opt out?")
    assert answer.answered
    assert "feedback@slack.com" in answer.hits[0].passage.text


@pytest.mark.parametrize("question", [
    "what's the wifi password?",
    "how do I reset my slack password",
    "write me a poem about the sea",
])
def test_out_of_scope_is_declined(bundled: Engine, question: str) -> None:
    assert not bundled.answer(question).answered


def test_eval_gate_on_the_bundled_question_set(bundled: Engine) -> None:
    questions = load_questions(REPO / "eval" / "questions.yml")
    outcomes = [outcome(q, bundled.answer(q.question, top_k=RANK_DEPTH)) for q in questions]
    m = metrics(outcomes)
    failures = [o.question.id for o in outcomes
                if (o.question.in_scope and (o.rank is None or o.rank > 3 or not o.answered))
                or (not o.question.in_scope and o.answered)]
    summary = (f"Hit@1 {m.hit1:.3f} Hit@3 {m.hit3:.3f} declined {m.correctly_declined:.3f} "
               f"wrongly declined {m.wrongly_declined:.3f}; failing: {failures}")
    assert m.n_in >= 80 and m.n_out >= 20, summary
    assert m.hit3 >= MIN_HIT3, summary
    assert m.hit1 >= MIN_HIT1, summary
    assert m.correctly_declined >= MIN_DECLINED, summary
    assert m.wrongly_declined <= MAX_WRONGLY_DECLINED, summary


def test_model_loads_and_answers_with_networking_disabled(tmp_path: Path) -> None:
    """Any socket connection attempt fails the child process: the model must not need one."""
    script = textwrap.dedent("""
        import socket, sys
        def refuse(*args, **kwargs):
            print("NETWORK ATTEMPT", args[1:] if len(args) > 1 else args, file=sys.stderr)
            raise OSError("network disabled by the test")
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from faqbot.cli import main
        sys.exit(main(["ask", "Can I opt out?", "--json", "--knowledge", sys.argv[1],
                       "--index", sys.argv[2]]))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    result = subprocess.run(
        [sys.executable, "-c", script, str(REPO / "knowledge"), str(tmp_path / "ix")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "NETWORK ATTEMPT" not in result.stderr
    assert '"answered": true' in result.stdout


def test_content_ids_are_the_tokens_a_forward_pass_keeps(bundled: Engine) -> None:
    """A question's parts pick their tokens out of the whole question's by these ids."""
    from faqbot.embedding import ContentTokenizer, TokenEmbedder

    embedder = bundled.embedder
    assert isinstance(embedder, TokenEmbedder) and isinstance(embedder, ContentTokenizer)
    texts = ["does slack train AI on my DMs?", "who can opt out and what email do they use",
             "opt-out@slack.com, Slack's Privacy Principles (2024)"]
    _, tokens = embedder.embed_with_tokens(texts)
    for ids, found in zip(embedder.content_ids(texts), tokens, strict=True):
        assert ids.tolist() == found.ids.tolist() and len(ids)


def test_batched_texts_embed_like_one_at_a_time(bundled: Engine) -> None:
    """Texts embedded in one call (a question beside its words, an index build's batch):
    padding changes nothing."""
    from faqbot.search import query_text, question_parts

    question = "who can opt out of model training and what email address do they write to"
    texts = [query_text(bundled.snapshot, q, bundled.config, bundled.embedder)
             for q in [question, *question_parts(question)]]
    assert len(texts) == 3
    batched = bundled.embedder.embed(texts)
    single = [bundled.embedder.embed([t])[0] for t in texts]
    assert max(float(abs(b - s).max()) for b, s in zip(batched, single, strict=True)) < 1e-5


def test_token_vectors_come_from_the_same_forward_pass(bundled: Engine) -> None:
    """Late interaction's tokens: unpadded, content words only, beside an unchanged vector."""
    import numpy as np

    from faqbot.embedding import TokenEmbedder
    from faqbot.late import FUNCTION_WORDS

    embedder = bundled.embedder
    assert isinstance(embedder, TokenEmbedder)
    assert bundled.snapshot.tokens is not None
    assert len(bundled.snapshot.tokens) == len(bundled.snapshot.passages)
    texts = ["How long do you keep my data?",
             "We keep account data for as long as the workspace exists, and delete backups "
             "within 90 days of a deletion request."]
    pooled, tokens = embedder.embed_with_tokens(texts)
    assert float(abs(pooled - embedder.embed(texts)).max()) < 1e-5
    for text, found in zip(texts, tokens, strict=True):
        _, (alone,) = embedder.embed_with_tokens([text])  # batch padding changes nothing
        np.testing.assert_array_equal(found.ids, alone.ids)
        np.testing.assert_allclose(found.vectors, alone.vectors, atol=1e-4)
        np.testing.assert_allclose(np.linalg.norm(found.vectors, axis=1), 1.0, rtol=1e-5)
    pieces = embedder._model.tokenizer.convert_ids_to_tokens(tokens[0].ids.tolist())  # type: ignore[attr-defined]
    assert pieces == ["long", "keep", "data"]
    assert not FUNCTION_WORDS & set(embedder._model.tokenizer.convert_ids_to_tokens(  # type: ignore[attr-defined]
        tokens[1].ids.tolist()))
