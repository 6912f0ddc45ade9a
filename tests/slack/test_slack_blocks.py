"""Block Kit rendering: escaping, links, Slack's limits, button values."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

import pytest

from faqbot.catalog import CatalogView
from faqbot.index import DocInfo
from faqbot.models import Answer, FaqEntry, Hit, OptOutProcedure, Passage, SourceRef
from faqbot.slack import blocks
from faqbot.slack.types import Workspace
from tests.slack.slack_fakes import assert_slack_limits

NASTY = "<!channel> <@U0BOSS> <#C1|general> <https://evil.example|click> & co &lt;"


def passage(text: str = "x", url: str | None = "https://example.com/doc", **kw: Any) -> Passage:
    fields = dict(id="p0000000000000001", doc="d.md", title="Doc & <Title>", section="A > B",
                  url=url, date="2024-05-17", kind="policy", text=text, start=0, end=len(text))
    fields.update(kw)
    return Passage(**fields)


def faq(n: int, question: str | None = None, answer: str = "An answer.") -> FaqEntry:
    return FaqEntry(id=f"faq-{n}", question=question or f"Question number {n} " + "x" * 90,
                    answer=answer, sources=(SourceRef(doc="d.md", section="A"),))


def all_text(message: blocks.Message | dict) -> str:
    data = message if isinstance(message, dict) else {"text": message.text,
                                                      "blocks": message.blocks}
    return json.dumps(data, ensure_ascii=False)


def test_document_text_cannot_mention_or_link():
    answer = Answer(answered=True, confidence=0.9,
                    faq=faq(1, question=f"Q {NASTY}", answer=f"A {NASTY}"),
                    hits=(Hit(passage=passage(NASTY, section=NASTY,
                                              superseded_by_title=NASTY,
                                              superseded_by="x.md"), score=1.0),))
    out = all_text(blocks.answer_message(answer, share=True))
    for raw in ("<!channel>", "<@U0BOSS>", "<#C1", "<https://evil"):
        assert raw not in out
    assert "&lt;!channel&gt;" in out and "&amp; co &amp;lt;" in out
    assert "superseded by" in out


@pytest.mark.parametrize("url, linked", [
    ("https://example.com/a?b=1&c=2", True),
    ("http://example.com", True),
    ("javascript:alert(1)", False),
    ("https://example.com/a|b", False),
    ("https://exa mple.com", False),
    ("https://example.com/><!channel>", False),
    (None, False),
])
def test_links_only_for_plain_http_urls(url, linked):
    out = blocks.link(url, "Title")
    assert out.startswith("<") is linked
    if linked:
        assert "&c=" not in out and ("&amp;c=2" in out or "&" not in url)


def test_answer_stays_within_limits_with_huge_passages():
    hits = tuple(Hit(passage=passage("word " * 5000, id=f"p{i:016d}"), score=1.0)
                 for i in range(10))
    answer = Answer(answered=True, confidence=0.5, faq=faq(1, answer="long " * 2000), hits=hits)
    message = blocks.answer_message(answer, share=True, opt_out_button=True,
                                    personal=("email", "token"))
    assert_slack_limits({"text": message.text, "blocks": message.blocks})
    assert len(all_text(message)) < 12_000
    assert sum(1 for b in message.blocks if b["type"] == "section") == 4  # FAQ + 3 passages


def test_finalize_caps_blocks_and_lengths():
    many = [blocks.section("s" * 5000) for _ in range(80)]
    many.append(blocks.header("h" * 400))
    out = blocks.finalize(many)
    assert len(out) == 50 and out[-1]["type"] == "context"
    assert_slack_limits({"text": "fallback", "blocks": out})
    assert len(blocks.finalize([blocks.divider()] * 120, 100)) == 100


def test_help_home_and_about_with_a_big_knowledge_base(engine):
    entries = [faq(i) for i in range(200)]
    docs = [DocInfo(f"d{i}.md", f"Document {i} " + "t" * 200, f"https://example.com/{i}",
                    "policy", "2024-05-17", "d0.md" if i % 7 == 0 else None, None)
            for i in range(300)]
    snapshot = replace(engine.snapshot, faq=entries, documents=docs)
    help_ = blocks.help_message(entries)
    assert_slack_limits({"text": help_.text, "blocks": help_.blocks})
    about = blocks.about_message(CatalogView.of(snapshot), event_id_minutes=10)
    assert_slack_limits({"text": about.text, "blocks": about.blocks})
    assert "Document 0" in all_text(about)
    home = blocks.home_view(CatalogView.of(snapshot), "U123")
    assert_slack_limits(home, max_blocks=100)
    assert "Question number 0" in all_text(home)


def test_opt_out_flow_escapes_workspace_name_and_encodes_mailto():
    procedure = OptOutProcedure(
        who_can_request=("Owner",), members_note="Ask an owner.", email="opt@example.com",
        subject="Opt-out & <request>", include=("URL",),
        body_template="Please opt {workspace_name} ({workspace_url}) out.",
        what_happens_next=("A reply.",), sources=(SourceRef(doc="d.md", section="S"),),
        last_verified=dt.date(2024, 5, 17))
    workspace = Workspace(url="https://a.slack.com/", name="<!channel> & ```Co```")
    out = all_text(blocks.opt_out_message(procedure, "owner", workspace, []))
    assert "<!channel>" not in out and "&lt;!channel&gt; &amp;" in out
    assert "subject=Opt-out%20%26%20%3Crequest%3E&amp;body=Please%20opt%20%3C%21channel%3E" in out
    member = all_text(blocks.opt_out_message(procedure, "member", None, []))
    assert "your workspace URL" in member and "mailto" not in member


@pytest.mark.parametrize("value, expected", [
    ('{"f":"a-b","p":["p1","p2"]}', ("a-b", ("p1", "p2"))),
    ('{"f":null,"p":["p1"]}', (None, ("p1",))),
    ('{"f":"a","p":["1","2","3","4","5"]}', ("a", ("1", "2", "3"))),
    ('{"f":null,"p":[]}', None),
    ('{"f":"a b","p":[]}', None),
    ('{"f":"a","p":[1]}', None),
    ('["a"]', None),
    ("", None),
    (None, None),
])
def test_decode_ref(value, expected):
    assert blocks.decode_ref(value) == expected


def test_encode_ref_round_trips_and_holds_ids_only():
    answer = Answer(answered=True, confidence=1.0, faq=faq(3),
                    hits=(Hit(passage=passage("secret words"), score=1.0),))
    value = blocks.encode_ref(answer)
    assert "secret" not in value and "Question" not in value
    assert blocks.decode_ref(value) == ("faq-3", ("p0000000000000001",))


@pytest.mark.parametrize("text, limit, expected", [
    ("short", 10, "short"),
    ("abcdefghij", 5, "abcd…"),
    ("a &amp; b", 5, "a…"),
])
def test_truncate(text, limit, expected):
    assert blocks.truncate(text, limit) == expected


def test_fallback_text_is_escaped_and_never_empty():
    assert blocks.message("", []).text == "faqbot"
    assert blocks.message("<!here> & x", []).text == "&lt;!here&gt; &amp; x"


def test_quote_bolds_the_highlighted_sentence_and_trims_around_it() -> None:
    from faqbot.slack.blocks import QUOTE_MAX, quote

    text = "Intro and more. " * 100 + "The answer is here. " + "Tail sentence. " * 100
    start = text.index("The answer")
    out = quote(text, (start, start + len("The answer is here.")))
    assert "*The answer is here.*" in out
    assert out.startswith("> …") and out.endswith("…")
    assert len(out) <= QUOTE_MAX + 10
    marked = quote("A <b> & c. Then the answer.", (11, 27))
    assert marked == "> A &lt;b&gt; &amp; c. *Then the answer.*"
    assert quote("Short one.", None) == "> Short one."


def test_declines_say_why_in_slack_as_in_the_terminal() -> None:
    other = blocks.answer_message(Answer(answered=False, confidence=0.0, reason="other_subject",
                                         covers=("Slack",)))
    assert other.text.startswith("The documents here cover Slack;")
    acting = blocks.answer_message(Answer(answered=False, confidence=0.0, reason="action"))
    assert "never post, send or write anything for anyone" in acting.text
    reading = blocks.answer_message(Answer(answered=False, confidence=0.9, reason="not_covered",
                                           hits=(Hit(passage=passage("Retention is 30 days."),
                                                     score=1.0),)))
    dumped = json.dumps(reading.blocks)
    assert "Related reading" in dumped and "Retention is 30 days." in dumped
    assert "Share in channel" not in dumped  # related reading is not an answer to share
    for message in (other, acting, reading):
        assert_slack_limits(message.kwargs())
