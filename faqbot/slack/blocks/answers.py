"""Answers and declines: quotes with citations, the buttons under them, their values.

Nothing here sees a user's question: the functions take answers and FAQ entries. A button's
value carries ids only, so a click re-renders the answer from the documents in service.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from faqbot.declines import decline_text
from faqbot.models import Answer, FaqEntry, Hit
from faqbot.personal_data import PERSONAL_DATA_KINDS
from faqbot.slack.blocks.kit import (
    Block,
    Message,
    actions,
    button,
    button_rows,
    context,
    escape,
    link,
    mention,
    message,
    notice,
    section,
    truncate,
)
from faqbot.slack.blocks.texts import (
    ACTION_ASK_FAQ,
    ACTION_HELPFUL,
    ACTION_NOT_HELPFUL,
    ACTION_OPT_OUT,
    ACTION_SHARE,
    DISCLAIMER,
)
from faqbot.slack.types import MAX_PASSAGES

QUOTE_MAX = 1200  # per passage: three quotes and an FAQ answer stay well under 12,000
FAQ_ANSWER_MAX = 2500

_REF_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


# --- button values -----------------------------------------------------------------------------


_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")


def encode_ref(answer: Answer, thread_ts: str | None = None) -> str:
    """The button value that lets an answer be re-rendered: FAQ id and passage ids, no text;
    with ``thread_ts``, the message a shared copy should reply to (a message's timestamp)."""
    ref: dict[str, object] = {"f": answer.faq.id if answer.faq else None,
                              "p": [h.passage.id for h in answer.hits[:MAX_PASSAGES]]}
    if thread_ts is not None and _TS.match(thread_ts):
        ref["t"] = thread_ts
    return json.dumps(ref, separators=(",", ":"))


def decode_thread(value: str | None) -> str | None:
    """The thread a shared copy goes in, from a button value; None for the channel itself."""
    try:
        data = json.loads(value or "")
    except ValueError:
        return None
    thread = data.get("t") if isinstance(data, dict) else None
    return thread if isinstance(thread, str) and _TS.match(thread) else None


def decode_ref(value: str | None) -> tuple[str | None, tuple[str, ...]] | None:
    """(faq id or None, passage ids) from a button value; None when it is not one of ours."""
    try:
        data = json.loads(value or "")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    faq_id, passage_ids = data.get("f"), data.get("p", [])
    if faq_id is not None and not (isinstance(faq_id, str) and _REF_ID.match(faq_id)):
        return None
    if not isinstance(passage_ids, list) or not all(
        isinstance(p, str) and _REF_ID.match(p) for p in passage_ids
    ):
        return None
    if faq_id is None and not passage_ids:
        return None
    return faq_id, tuple(passage_ids[:MAX_PASSAGES])


# --- answers -----------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def citation(hit: Hit) -> str:
    """'*Title* — Section · date · kind', title linked to the document's URL."""
    p = hit.passage
    parts = [f"*{link(p.url, p.title)}*" + (f" — {escape(p.section)}" if p.section else "")]
    parts += [escape(x) for x in (p.date, p.kind) if x]
    if p.superseded_by:
        replaced = p.superseded_by_title or p.superseded_by
        parts.append(f":warning: superseded by {escape(replaced)}")
    return " · ".join(parts)


def quote(text: str, highlight: tuple[int, int] | None = None) -> str:
    """A passage as a one-paragraph mrkdwn quote, cut and escaped.

    With ``highlight`` (offsets of the sentence that answers), that sentence is in bold and a
    long passage is trimmed around it rather than at its end.
    """
    if highlight is None:
        return "> " + escape(truncate(_one_line(text), QUOTE_MAX))
    start, end = highlight
    before, middle, after = (_one_line(text[:start]), _one_line(text[start:end]),
                             _one_line(text[end:]))
    middle = truncate(middle, QUOTE_MAX - 200)
    room = QUOTE_MAX - len(middle) - 4
    keep_before = min(len(before), room // 2)
    if len(before) > keep_before:
        before = "…" + before[len(before) - keep_before + 1:].lstrip()
    after = truncate(after, max(1, room - len(before)))
    parts = [escape(before), f"*{escape(middle).replace('*', '')}*", escape(after)]
    return "> " + " ".join(p for p in parts if p)


def personal_note_text(kinds: Sequence[str]) -> str:
    """The private note shown when a question seems to contain personal data."""
    what = ", ".join(PERSONAL_DATA_KINDS.get(k, "personal data") for k in kinds) or "personal data"
    note = (f":lock: Your question seems to contain {what}. There's no need to share personal "
            "data to get an answer; general questions work just as well.")
    if "token" in kinds:
        note += " If that was a real token or key, consider revoking it."
    return note


def personal_note(kinds: Sequence[str]) -> Message:
    """The personal-data note as its own (ephemeral) message."""
    return notice(personal_note_text(kinds))


def answer_message(
    answer: Answer,
    *,
    personal: Sequence[str] = (),
    share: bool = False,
    feedback: bool = True,
    opt_out_button: bool = False,
    shared_by: str | None = None,
    show_confidence: bool = True,
    related_limit: int = 5,
    share_in_thread: str | None = None,
) -> Message:
    """An answer: FAQ short answer if matched, up to 3 quoted passages with citations, buttons.

    ``share_in_thread`` (a message's timestamp) makes *Share in channel* reply in that
    message's thread, as for an answer about a colleague's message.

    A declined answer renders as :func:`decline_message`. ``shared_by`` adds a "shared by"
    line for a copy posted to a channel (the caller also turns off feedback and confidence).
    """
    if not answer.answered:
        return decline_message(answer, personal=personal, related_limit=related_limit)
    blocks: list[Block] = []
    if shared_by is not None:
        who = mention(shared_by) or "Someone"
        blocks.append(context(f"{who} shared this answer from the privacy documents."))
    if answer.faq is not None:
        faq = answer.faq
        blocks.append(section(f"*{escape(faq.question)}*\n"
                              f"{escape(truncate(faq.answer, FAQ_ANSWER_MAX))}"))
        if answer.hits:
            blocks.append(context("*Sources*"))
    else:
        blocks.append(section("Here is what the privacy documents say:"))
    for hit in answer.hits[:MAX_PASSAGES]:
        blocks.append(section(quote(hit.passage.text, hit.highlight)))
        blocks.append(context(citation(hit)))
    if personal:
        blocks.append(context(personal_note_text(personal)))
    footer = DISCLAIMER
    if show_confidence:
        footer += f" Confidence {answer.confidence:.2f}."
    blocks.append(context(footer))
    buttons: list[Block] = []
    ref = encode_ref(answer, share_in_thread)
    if share:
        buttons.append(button("Share in channel", ACTION_SHARE, ref, style="primary",
                              label="Share this answer in the channel (not your question)"))
    if feedback:
        buttons.append(button("Helpful", ACTION_HELPFUL, ref, label="This answer was helpful"))
        buttons.append(button("Not helpful", ACTION_NOT_HELPFUL, ref,
                              label="This answer was not helpful"))
    if opt_out_button:
        buttons.append(button("How to opt out", ACTION_OPT_OUT, "opt-out"))
    if buttons:
        blocks.append(actions(buttons, block_id="answer_actions"))
    return message(_answer_text(answer), blocks)


def _answer_text(answer: Answer) -> str:
    titles = list(dict.fromkeys(h.passage.title for h in answer.hits[:MAX_PASSAGES]))
    sources = f" Sources: {'; '.join(titles)}." if titles else ""
    if answer.faq is not None:
        return f"{answer.faq.answer}{sources}"
    if answer.hits:
        return f"“{truncate(_one_line(answer.hits[0].passage.text), 600)}”{sources}"
    return "Here is what the privacy documents say."


def decline_message(
    answer: Answer,
    *,
    personal: Sequence[str] = (),
    no_words: bool = False,
    related_limit: int = 5,
) -> Message:
    """A polite decline, with buttons for related FAQ questions the bot can answer."""
    if no_words:
        text = ("I need a question in words to search the privacy documents, for example "
                "“Can I opt out?”. Type `/privacy help` for what I can do.")
    elif answer.reason in ("not_covered", "action", "language", "other_subject"):
        text = decline_text(answer)  # the same words as the terminal's, by reason
    else:
        text = ("I couldn't find this in the privacy documents, so I won't guess. "
                "I only answer from the documents listed in `/privacy about`.")
    blocks = [section(escape(text))]
    if answer.reason == "not_covered":  # the closest passages, as reading, not as the answer
        blocks.append(context("*Related reading*"))
        for hit in answer.hits[:MAX_PASSAGES]:
            blocks.append(section(quote(hit.passage.text, None)))
            blocks.append(context(citation(hit)))
    related = list(answer.related[:related_limit])
    if related:
        blocks.append(section("*Questions I can answer:*" if answer.reason == "language"
                              else "*Related questions I can answer:*"))
        blocks += button_rows([faq_button(e) for e in related])
    if personal:
        blocks.append(context(personal_note_text(personal)))
    fallback = text
    if related:
        fallback += " Related questions: " + "; ".join(e.question for e in related)
    return message(fallback, blocks)


def faq_button(entry: FaqEntry) -> Block:
    return button(entry.question, ACTION_ASK_FAQ, entry.id)

