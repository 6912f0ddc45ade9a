"""/privacy over real HTTP: ack at once, then the private answer at the response_url."""

from __future__ import annotations

import json
import threading
import time

import pytest

from faqbot.slack.blocks import FRIENDLY_ERROR
from tests.slack.slack_fakes import MEMBER, ORG_OWNER, OWNER, SlackSender, serve_wsgi


def answer_of(fake, key: str = "cmd") -> dict:
    return fake.wait_response(key)[0].data


def action_ids(data: dict) -> list[str]:
    return [e["action_id"] for b in data["blocks"] if b["type"] == "actions"
            for e in b["elements"]]


def test_question_gets_ack_then_private_cited_answer(slack, fake):
    response = slack.command("Are language models trained on my messages?")
    assert response.status == 200 and response.body == b""
    data = answer_of(fake)
    assert data["response_type"] == "ephemeral"
    text = json.dumps(data, ensure_ascii=False)
    assert "Large language models are not trained on customer messages." in text
    assert "> *The company does not train large language models" in text  # highlighted
    assert "<https://example.com/principles|Sample Privacy Principles" in text
    assert "Generative AI · 2024-05-17 · policy" in text
    assert data["text"].startswith("No. Large language models")
    assert action_ids(data) == ["share_answer", "feedback_helpful", "feedback_not_helpful"]


def test_the_question_is_never_echoed(slack, fake):
    slack.command("Are language models trained on my messages, quokka-7781?")
    assert "quokka" not in json.dumps(answer_of(fake))


def test_unanswerable_question_declines_with_related_questions(slack, fake):
    slack.command("What is the office wifi password?")
    data = answer_of(fake)
    assert "couldn't find this in the privacy documents" in data["text"]
    assert "Related questions" in data["text"]
    assert set(action_ids(data)) == {"ask_faq"}
    values = [e["value"] for b in data["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert set(values) <= {"can-i-opt-out", "llm-training"}


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "?"])
def test_help(slack, fake, text):
    slack.command(text)
    data = answer_of(fake)
    body = json.dumps(data, ensure_ascii=False)
    assert "/privacy opt-out" in body and "/privacy about" in body
    assert "Can I opt out of data usage?" in body  # common topics are the FAQ questions
    assert action_ids(data).count("ask_faq") == 2 and "opt_out_guide" in action_ids(data)


def test_help_lists_the_most_asked_topics_first(slack, fake):
    def topics() -> list[str]:
        slack.command("help", key="help")
        data = fake.wait_response("help")[0].data
        fake.reset()
        return [e["value"] for b in data["blocks"] if b["type"] == "actions"
                for e in b["elements"] if e["action_id"] == "ask_faq"]

    assert topics() == ["can-i-opt-out", "llm-training"]  # the curated order at first
    for i in range(2):
        slack.command("Are language models trained on my messages?", key=f"q{i}")
        assert "not trained" in fake.wait_response(f"q{i}")[0].data["text"]
    assert topics() == ["llm-training", "can-i-opt-out"]


def test_about_says_exactly_what_is_stored(slack, fake):
    slack.command("about")
    body = json.dumps(answer_of(fake), ensure_ascii=False)
    assert "Your questions are not stored" in body
    assert "event ids for 10 minutes" in body
    assert "Helpful" in body and "not who clicked" in body
    assert "Sample Privacy Principles" in body and "2024-05-17" in body


@pytest.mark.parametrize("text", ["opt-out", "optout", "opt out", "how can I opt out?",
                                  "I want to opt-out"])
def test_opt_out_as_member(slack, fake, text):
    slack.command(text, user_id=MEMBER)
    data = answer_of(fake)
    body = json.dumps(data, ensure_ascii=False)
    assert fake.api_calls("users.info")[0].data["user"] == MEMBER
    assert "You're not an owner" in body
    assert "message you could forward to an owner" in body
    assert "Ask a workspace owner to send the request." in body
    assert "Acme &amp; Co (https://acme-co.slack.com/)" in body
    assert "What happens next" in body and "Not stated in the sources" in body
    assert "How long it takes." in body and "Sources" in body
    assert "mailto:" not in body


@pytest.mark.parametrize("user", [OWNER, ORG_OWNER])
def test_opt_out_as_owner_gets_ready_email(slack, fake, user):
    slack.command("opt-out", user_id=user)
    data = answer_of(fake)
    body = "\n".join(b["text"]["text"] for b in data["blocks"] if b["type"] == "section")
    assert "You're an owner" in body
    assert "*To:* feedback@example.com" in body
    assert "*Subject:* Global model opt-out request" in body
    assert ("Hello, please opt Acme &amp; Co (https://acme-co.slack.com/) out of global model "
            "training.") in body
    assert ("<mailto:feedback@example.com?subject=Global%20model%20opt-out%20request&amp;body="
            "Hello%2C%20please%20opt%20Acme%20%26%20Co%20%28https%3A%2F%2Facme-co.slack.com%2F"
            "%29%20out%20of%20global%20model%20training.|") in body
    assert "What happens next" in body


def test_opt_out_when_role_cannot_be_checked(slack, fake):
    fake.fail_next("users.info", body={"ok": False, "error": "missing_scope"})
    slack.command("opt-out", user_id=OWNER)
    body = json.dumps(answer_of(fake), ensure_ascii=False)
    assert "couldn't check your role" in body and "forward to an owner" in body


def test_personal_data_gets_a_private_note_and_is_not_echoed(slack, fake):
    slack.command("my email is jane.doe@example.org, are language models trained on my messages?")
    body = json.dumps(answer_of(fake), ensure_ascii=False)
    assert "no need to share personal data" in body and "an email address" in body
    assert "jane.doe" not in body
    assert "Large language models are not trained" in body


@pytest.mark.parametrize("text, expected", [
    ("🤔🤔🤔", "I need a question in words"),
    ("!!! ??? ...", "Ask me with /privacy"),
    ("### %%% &&&", "I need a question in words"),
    ("\x00\x07\x1b[31m are language\u200b models trained on my messages?\x7f",
     "not trained on customer messages"),
    ("are language models trained on my messages? " + "blah " * 8000,
     "privacy documents"),
])
def test_odd_inputs_get_a_sensible_reply(slack, fake, engine, text, expected):
    before = len(engine.embedder.calls)
    slack.command(text)
    assert expected in json.dumps(answer_of(fake), ensure_ascii=False)
    embedded = [t for call in engine.embedder.calls[before:] for t in call]
    assert all(len(t) <= 2_200 for t in embedded)  # huge input cut before embedding


class _SlowEngine:
    def __init__(self, engine, gate: threading.Event) -> None:
        self._engine, self._gate = engine, gate

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def answer(self, question, top_k=3):
        self._gate.wait(5)
        return self._engine.answer(question, top_k)


class _BrokenEngine(_SlowEngine):
    def answer(self, question, top_k=3):
        raise RuntimeError(f"boom while answering {question}")


def _served(settings, engine, fake):
    from faqbot.slack.app import build_client, create_app
    from faqbot.slack.runner import SlackWSGI

    server, url = serve_wsgi(SlackWSGI(create_app(settings, engine, build_client(settings))))
    return server, SlackSender(url, fake)


def test_ack_comes_before_the_answer(slack_settings, engine, fake):
    gate = threading.Event()
    server, slack = _served(slack_settings, _SlowEngine(engine, gate), fake)
    try:
        response = slack.command("Are language models trained on my messages?")
        assert response.status == 200 and response.seconds < 1.0
        time.sleep(0.05)
        assert not fake.replies()  # still thinking, but Slack already has its ack
        gate.set()
        assert "not trained" in answer_of(fake)["text"]
    finally:
        gate.set()
        server.shutdown()
        server.server_close()


def test_internal_error_gives_the_friendly_sentence(slack_settings, engine, fake):
    server, slack = _served(slack_settings, _BrokenEngine(engine, threading.Event()), fake)
    try:
        slack.command("secret-question-text")
        data = answer_of(fake)
        assert data["text"] == FRIENDLY_ERROR
        assert "boom" not in json.dumps(data) and "secret-question" not in json.dumps(data)
    finally:
        server.shutdown()
        server.server_close()
