"""Block Kit rendering: every dict sent to Slack is built here, within Slack's limits.

Document text is escaped (``&``, ``<``, ``>``) so a passage can never mention anyone or make a
link; links are only built from document URLs that are plain http(s). Nothing here sees a
user's question: the functions take answers, FAQ entries and the snapshot's metadata.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote as url_quote

from faqbot.index import DocInfo, Snapshot
from faqbot.models import Answer, FaqEntry, Hit, OptOutProcedure
from faqbot.privacy import PERSONAL_DATA_KINDS

if TYPE_CHECKING:
    from faqbot.reload import ReloadStatus
    from faqbot.slack.admin import AdminStatus

# Slack's limits (docs), and our own budget for an answer.
SECTION_MAX = 3000
HEADER_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
CONTEXT_TEXT_MAX = 2000
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
ACTIONS_ELEMENTS_MAX = 25
MESSAGE_BLOCKS_MAX = 50
HOME_BLOCKS_MAX = 100
TEXT_FALLBACK_MAX = 3000
QUOTE_MAX = 1200  # per passage: three quotes and an FAQ answer stay well under 12,000
FAQ_ANSWER_MAX = 2500
MAX_PASSAGES = 3
BUTTONS_PER_ROW = 5

ACTION_SHARE = "share_answer"
ACTION_HELPFUL = "feedback_helpful"
ACTION_NOT_HELPFUL = "feedback_not_helpful"
ACTION_ASK_FAQ = "ask_faq"
ACTION_OPT_OUT = "opt_out_guide"
#: Every action id a rendered button can carry (the actions listener handles each).
ACTIONS = (ACTION_SHARE, ACTION_HELPFUL, ACTION_NOT_HELPFUL, ACTION_ASK_FAQ, ACTION_OPT_OUT)

FRIENDLY_ERROR = (
    "Sorry, something went wrong on my side and I couldn't answer. Please try again in a minute."
)
BUSY = (
    "I have too many questions queued right now to answer yours soon. Please ask again in a "
    "few minutes."
)
EXPIRED = "That answer isn't in the current documents any more. Please ask again."
THANKS = "Thanks for the feedback. I only count it; I don't keep who said what."
NO_PROCEDURE = (
    "The documents I have don't describe an opt-out procedure. "
    "Try `/privacy how do I opt out?` for what they do say."
)
NOT_ALLOWED = "Sorry, I can't do that for you. Try `/privacy help` for what I can do."
DISCLAIMER = "I quote the documents and cite them; check the source before relying on an answer."

Role = Literal["owner", "member", "unknown"]
Block = dict[str, Any]

_SAFE_URL = re.compile(r"^https?://[^\s<>|\"]+$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_REF_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


@dataclass(frozen=True)
class Message:
    """A message ready for chat.postMessage or respond(): fallback text and blocks."""

    text: str
    blocks: list[Block]

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``chat_postMessage`` / ``respond``."""
        return {"text": self.text, "blocks": self.blocks}


@dataclass(frozen=True)
class Workspace:
    """The workspace the bot is installed in, from ``auth.test``."""

    url: str
    name: str


# --- text helpers ----------------------------------------------------------------------------


def escape(text: str) -> str:
    """Escape the three characters Slack treats as markup, so text is only ever text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut to at most ``limit`` characters, ending in an ellipsis, never inside an entity."""
    if len(text) <= limit:
        return text
    cut = _PARTIAL_ENTITY.sub("", text[: max(0, limit - 1)]).rstrip()
    return cut + "…"


def link(url: str | None, label: str) -> str:
    """A mrkdwn link when the URL is plain http(s), else just the escaped label."""
    if url and _SAFE_URL.match(url):
        return f"<{url.replace('&', '&amp;')}|{escape(label)}>"
    return escape(label)


def mention(user_id: str | None) -> str:
    """``<@U…>`` for a well-formed user id, else an empty string."""
    return f"<@{user_id}>" if user_id and _USER_ID.match(user_id) else ""


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit) or " ", "emoji": True}


def section(text: str) -> Block:
    """A mrkdwn section, cut to Slack's 3,000 characters."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_MAX)}}


def header(text: str) -> Block:
    """A header block (plain text, at most 150 characters)."""
    return {"type": "header", "text": _plain(text, HEADER_MAX)}


def context(*texts: str) -> Block:
    """A context block of mrkdwn elements (at most 10)."""
    elements = [{"type": "mrkdwn", "text": truncate(t, CONTEXT_TEXT_MAX)} for t in texts if t]
    return {"type": "context", "elements": elements[:CONTEXT_ELEMENTS_MAX]}


def divider() -> Block:
    """A divider block."""
    return {"type": "divider"}


def button(text: str, action_id: str, value: str = "", style: str | None = None) -> Block:
    """A button; text and value are cut to Slack's limits."""
    element: Block = {"type": "button", "text": _plain(text, BUTTON_TEXT_MAX),
                      "action_id": action_id}
    if value:
        element["value"] = value[:BUTTON_VALUE_MAX]
    if style in ("primary", "danger"):
        element["style"] = style
    return element


def actions(buttons: Sequence[Block], block_id: str | None = None) -> Block:
    """An actions block (at most 25 elements)."""
    block: Block = {"type": "actions", "elements": list(buttons)[:ACTIONS_ELEMENTS_MAX]}
    if block_id:
        block["block_id"] = block_id
    return block


def button_rows(buttons: Sequence[Block], per_row: int = BUTTONS_PER_ROW) -> list[Block]:
    """Buttons spread over actions blocks of ``per_row``, so they wrap readably."""
    return [actions(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def lines_to_sections(lines: Iterable[str], limit: int = SECTION_MAX - 100) -> list[Block]:
    """Pack lines into as few sections as fit under the section limit."""
    out: list[Block] = []
    chunk = ""
    for line in lines:
        line = truncate(line, limit)
        if chunk and len(chunk) + 1 + len(line) > limit:
            out.append(section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        out.append(section(chunk))
    return out


def finalize(blocks: list[Block], max_blocks: int = MESSAGE_BLOCKS_MAX) -> list[Block]:
    """Enforce Slack's limits on a block list: text lengths, element counts, block count."""
    for block in blocks:
        kind = block.get("type")
        if kind == "section" and "text" in block:
            block["text"]["text"] = truncate(block["text"]["text"], SECTION_MAX)
        elif kind == "header":
            block["text"]["text"] = truncate(block["text"]["text"], HEADER_MAX)
        elif kind == "context":
            block["elements"] = block["elements"][:CONTEXT_ELEMENTS_MAX]
            for element in block["elements"]:
                element["text"] = truncate(element["text"], CONTEXT_TEXT_MAX)
        elif kind == "actions":
            block["elements"] = block["elements"][:ACTIONS_ELEMENTS_MAX]
            for element in block["elements"]:
                element["text"]["text"] = truncate(element["text"]["text"], BUTTON_TEXT_MAX)
                if "value" in element:
                    element["value"] = element["value"][:BUTTON_VALUE_MAX]
    if len(blocks) > max_blocks:
        blocks = [*blocks[: max_blocks - 1], context("_(more omitted to fit in one message)_")]
    return blocks


def message(text: str, blocks: list[Block], max_blocks: int = MESSAGE_BLOCKS_MAX) -> Message:
    """A Message with blocks within limits and a non-empty, escaped fallback text.

    ``text`` is raw (unescaped): Slack parses the fallback as mrkdwn too, so it is escaped here.
    """
    fallback = escape(truncate(" ".join(text.split()), TEXT_FALLBACK_MAX)) or "faqbot"
    return Message(text=fallback, blocks=finalize(blocks, max_blocks))


def notice(text: str) -> Message:
    """A one-section message (errors, thanks, expired buttons); ``text`` is our own wording."""
    return message(text, [section(text)])


# --- button values -----------------------------------------------------------------------------


def encode_ref(answer: Answer) -> str:
    """The button value that lets an answer be re-rendered: FAQ id and passage ids, no text."""
    ref = {"f": answer.faq.id if answer.faq else None,
           "p": [h.passage.id for h in answer.hits[:MAX_PASSAGES]]}
    return json.dumps(ref, separators=(",", ":"))


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
) -> Message:
    """An answer: FAQ short answer if matched, up to 3 quoted passages with citations, buttons.

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
    ref = encode_ref(answer)
    if share:
        buttons.append(button("Share in channel", ACTION_SHARE, ref, style="primary"))
    if feedback:
        buttons.append(button("Helpful", ACTION_HELPFUL, ref))
        buttons.append(button("Not helpful", ACTION_NOT_HELPFUL, ref))
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
    else:
        text = ("I couldn't find this in the privacy documents, so I won't guess. "
                "I only answer from the documents listed in `/privacy about`.")
    blocks = [section(text)]
    related = list(answer.related[:related_limit])
    if related:
        blocks.append(section("*Related questions I can answer:*"))
        blocks += button_rows([_faq_button(e) for e in related])
    if personal:
        blocks.append(context(personal_note_text(personal)))
    fallback = text
    if related:
        fallback += " Related questions: " + "; ".join(e.question for e in related)
    return message(fallback, blocks)


def _faq_button(entry: FaqEntry) -> Block:
    return button(entry.question, ACTION_ASK_FAQ, entry.id)


# --- help and about ----------------------------------------------------------------------------

USAGE = (
    "• `/privacy <your question>`: a private answer, quoted from the documents, with sources\n"
    "• `/privacy opt-out`: how your workspace can opt out, step by step\n"
    "• `/privacy about`: what I store (nothing of your question) and where answers come from\n"
    "• Or send me a direct message, or mention me in a channel and I'll answer in a thread."
)


ADMIN_USAGE = (
    "*Admin* (only admins see this):\n"
    "• `/privacy admin status`: index version, documents, last reload, counters, stale documents\n"
    "• `/privacy admin reload`: re-read the knowledge folder now\n"
    "• `/privacy admin rollback`: go back to the previous index version"
)


def help_message(faq: Sequence[FaqEntry], *, topics: int = 10, opt_out: bool = True,
                 admin: bool = False) -> Message:
    """Usage (with the admin commands for admins), common topics as buttons, opt-out button."""
    blocks: list[Block] = [header("Privacy questions, answered from cited documents"),
                           section(USAGE)]
    if admin:
        blocks.append(section(ADMIN_USAGE))
    shown = list(faq[:topics])
    if shown:
        blocks.append(section("*Common topics*: click one for the answer."))
        blocks += button_rows([_faq_button(e) for e in shown])
    if opt_out:
        blocks.append(actions([button("How to opt out", ACTION_OPT_OUT, "opt-out")]))
    text = "Ask me with /privacy <your question>, /privacy opt-out or /privacy about."
    if shown:
        text += " Common topics: " + "; ".join(e.question for e in shown)
    return message(text, blocks)


def document_line(doc: DocInfo) -> str:
    """'• Title (linked) — kind · date · superseded by …' for one document."""
    parts = [f"• {link(doc.url, doc.title)}", escape(doc.kind)]
    if doc.date:
        parts.append(escape(doc.date))
    if doc.superseded_by:
        parts.append(f"_superseded by {escape(doc.superseded_by)}_")
    return " · ".join(parts)


def about_message(snapshot: Snapshot, *, event_id_minutes: int) -> Message:
    """Exactly what the bot keeps, and the documents its answers come from."""
    stored = (
        "*Your questions are not stored.* A question is read, answered and forgotten: it is "
        "not written to disk, cached, logged, or sent anywhere but back to you in Slack.\n\n"
        "*What I keep* (in memory only, gone when I restart):\n"
        "• counts of *Helpful* / *Not helpful* clicks per answer id (not who clicked)\n"
        "• how many questions were answered and declined, and how often each FAQ topic "
        "matched (to list the most asked topics first; not who asked, nor what)\n"
        f"• Slack event ids for {event_id_minutes} minutes, so a redelivered event "
        "isn't answered twice\n"
        "• this workspace's name and URL, to fill in the opt-out email\n\n"
        "*Logs* hold ids (user, channel, event), counts, timings and an 8-character keyed "
        "fingerprint of each question that cannot be turned back into it."
    )
    docs = snapshot.documents
    sources = (f"*Where answers come from*: {len(docs)} document(s) and {len(snapshot.faq)} "
               f"curated FAQ answers that cite them (index version `{escape(snapshot.name)}`).")
    blocks = [header("What faqbot stores, and where answers come from"), section(stored),
              divider(), section(sources), *lines_to_sections(document_line(d) for d in docs),
              context(DISCLAIMER + " When the documents don't answer a question, I say so.")]
    text = ("Your questions are not stored. I keep only counts (clicks per answer id, answers "
            f"per FAQ topic) and event ids for {event_id_minutes} minutes. Answers come from "
            f"{len(docs)} documents.")
    return message(text, blocks)


# --- opt-out flow ------------------------------------------------------------------------------


def mailto(procedure: OptOutProcedure, body: str) -> str:
    """A mailto: URL with the subject and body percent-encoded."""
    return (f"mailto:{url_quote(procedure.email, safe='@')}"
            f"?subject={url_quote(procedure.subject, safe='')}&body={url_quote(body, safe='')}")


def _code(text: str) -> str:
    return "```" + escape(text.replace("```", "'''")) + "```"


def _bullets(items: Iterable[str]) -> str:
    return "\n".join(f"• {escape(i)}" for i in items)


def _sources_lines(procedure: OptOutProcedure, documents: Sequence[DocInfo]) -> list[str]:
    by_path = {d.path: d for d in documents}
    lines = []
    for src in procedure.sources:
        doc = by_path.get(src.doc)
        title = doc.title if doc else src.doc
        date = f" · {escape(doc.date)}" if doc and doc.date else ""
        lines.append(f"• {link(doc.url if doc else None, title)} — {escape(src.section)}{date}")
    return lines


def opt_out_message(
    procedure: OptOutProcedure,
    role: Role,
    workspace: Workspace | None,
    documents: Sequence[DocInfo],
    *,
    personal: Sequence[str] = (),
) -> Message:
    """The guided opt-out flow: a ready email for owners, a note to forward for members."""
    who = ", ".join(procedure.who_can_request)
    url = workspace.url if workspace else "<your workspace URL, e.g. https://example.slack.com>"
    name = workspace.name if workspace else "<your workspace name>"
    body = procedure.email_body(url, name)
    blocks: list[Block] = [header("How to opt out"),
                           section(f"Only these roles can request it: *{escape(who)}*.")]
    if role == "owner":
        blocks.append(section(
            "You're an owner of this workspace, so you can send the request. Here is the email, "
            "ready to send:\n"
            f"*To:* {escape(procedure.email)}\n*Subject:* {escape(procedure.subject)}\n"
            f"{_code(body)}"))
        blocks.append(section(f"<{mailto(procedure, body).replace('&', '&amp;')}|"
                              "Open this email in your mail app>"))
        text = (f"You can request the opt-out: email {procedure.email} with the subject "
                f"“{procedure.subject}”.")
    else:
        forward = (f"Hi! Could you ask for our workspace {name} ({url}) to be opted out? "
                   f"An owner emails {procedure.email} with the subject “{procedure.subject}”; "
                   f"`/privacy opt-out` shows owners a ready email.")
        lead = ("I couldn't check your role here, so in case you're not an owner: "
                if role == "unknown" else
                "You're not an owner of this workspace, so you can't send the request yourself. ")
        blocks.append(section(
            f"{lead}{escape(procedure.members_note)} "
            f"Here is a message you could forward to an owner:\n{_code(forward)}"))
        text = f"Only owners ({who}) can request the opt-out. {procedure.members_note}"
    blocks.append(section("*Include in the request:*\n" + _bullets(procedure.include)))
    blocks.append(section("*What happens next:*\n" + _bullets(procedure.what_happens_next)))
    if procedure.not_stated:
        blocks.append(section("*Not stated in the sources:*\n" + _bullets(procedure.not_stated)))
    blocks += lines_to_sections(["*Sources:*", *_sources_lines(procedure, documents)])
    if personal:
        blocks.append(context(personal_note_text(personal)))
    blocks.append(context(f"Procedure last verified {procedure.last_verified.isoformat()}. "
                          + DISCLAIMER))
    return message(text, blocks)


# --- App Home ----------------------------------------------------------------------------------


def home_view(snapshot: Snapshot, user_id: str | None, *, questions: int = 20,
              faq: Sequence[FaqEntry] | None = None) -> dict[str, Any]:
    """The App Home tab for one user: what the bot does, common questions, opt-out, documents.

    ``faq``: the entries in the order to show them (default: the snapshot's curated order).
    """
    hello = f"Hi {mention(user_id)}! " if mention(user_id) else "Hi! "
    blocks: list[Block] = [
        header("Privacy questions, answered from cited documents"),
        section(hello + "I answer questions about how your data is used, quoting the documents "
                "listed below. Ask with `/privacy <question>`, send me a message in the "
                "*Messages* tab, or mention me in a channel. I don't store your questions."),
        divider(),
    ]
    faq = list((snapshot.faq if faq is None else faq)[:questions])
    if faq:
        blocks.append(section("*Common questions*: I'll answer in our direct messages."))
        blocks += button_rows([_faq_button(e) for e in faq])
        blocks.append(divider())
    procedure = snapshot.opt_out
    if procedure is not None:
        steps = (
            f"1. Only these roles can request it: *{escape(', '.join(procedure.who_can_request))}*."
            f"\n2. Email {escape(procedure.email)} with the subject "
            f"“{escape(procedure.subject)}”.\n"
            f"3. Include: {escape('; '.join(procedure.include))}."
        )
        blocks.append(section("*How to opt out*\n" + steps))
        blocks.append(actions([button("Walk me through it", ACTION_OPT_OUT, "opt-out",
                                      style="primary")]))
        blocks.append(context(f"Procedure last verified {procedure.last_verified.isoformat()}."))
        blocks.append(divider())
    blocks.append(section(f"*Documents* ({len(snapshot.documents)}, index version "
                          f"`{escape(snapshot.name)}`)"))
    blocks += lines_to_sections(document_line(d) for d in snapshot.documents)
    blocks.append(context("Nothing you ask is stored. `/privacy about` says exactly what is."))
    return {"type": "home", "blocks": finalize(blocks, HOME_BLOCKS_MAX)}


# --- admin -------------------------------------------------------------------------------------

#: Feedback rows shown in the status (the busiest first).
FEEDBACK_ROWS_MAX = 20


def admin_help() -> Message:
    """The admin commands (for an admin who typed ``/privacy admin`` or an unknown action)."""
    return message("Admin commands: /privacy admin status, reload, rollback.",
                   [section(ADMIN_USAGE)])


def _error_block(error: str) -> str:
    return _code(truncate(error, SECTION_MAX - 200))


def _reload_line(status: ReloadStatus | None) -> str:
    if status is None:
        return "*Last reload*: hot reload is not running in this process"
    parts = [f"*Last reload*: {escape(status.result)}"]
    if status.at:
        parts.append(f"at {escape(status.at)}")
    if status.seconds is not None:
        parts.append(f"({status.seconds:.2f} s)")
    return " ".join(parts)


def admin_status_message(status: AdminStatus) -> Message:
    """``/privacy admin status``: the index in service, the last reload, counters, stale docs."""
    built = escape(status.built_at) if status.built_at else "unknown"
    blocks: list[Block] = [
        header("faqbot status"),
        section(f"*Index version*: `{escape(status.version)}` (built {built})\n"
                f"*Documents*: {status.documents} · *passages*: {status.passages} · "
                f"*FAQ entries*: {status.faq_entries}\n"
                f"*Model*: `{escape(status.model_id)}`\n{_reload_line(status.reload)}"),
    ]
    if status.reload is not None and status.reload.error:
        blocks.append(section("*Last reload error*:\n" + _error_block(status.reload.error)))
    blocks.append(section(f"*Questions since start*: {status.answered} answered, "
                          f"{status.declined} declined"))
    rows = sorted(status.feedback.items(),
                  key=lambda item: (-sum(item[1].values()), item[0]))
    if rows:
        lines = ["*Feedback* (helpful / not helpful):"]
        lines += [f"• `{escape(key)}`: {c.get('helpful', 0)} / {c.get('not_helpful', 0)}"
                  for key, c in rows[:FEEDBACK_ROWS_MAX]]
        if len(rows) > FEEDBACK_ROWS_MAX:
            lines.append(f"_(and {len(rows) - FEEDBACK_ROWS_MAX} more ids)_")
        blocks += lines_to_sections(lines)
    else:
        blocks.append(section("*Feedback*: none yet"))
    if status.stale:
        lines = [f":warning: *{len(status.stale)} document(s) past their review date*:"]
        lines += [f"• {escape(d.title)} (`{escape(d.path)}`), review by {escape(d.review_by)}"
                  for d in status.stale]
        blocks += lines_to_sections(lines)
    else:
        blocks.append(context("No document is past its review date."))
    text = (f"Index {status.version}: {status.documents} documents, {status.passages} "
            f"passages; last reload {status.reload.result if status.reload else 'not running'}; "
            f"{status.answered} answered, {status.declined} declined; "
            f"{len(status.stale)} stale document(s).")
    return message(text, blocks)


def admin_reload_message(status: ReloadStatus, version: str) -> Message:
    """The outcome of ``/privacy admin reload``; ``version`` is the one now in service."""
    took = f" ({status.seconds:.2f} s)" if status.seconds is not None else ""
    if status.result == "failed":
        text = f"Reload failed; still serving the last good index `{version}`{took}."
        return message(text, [section(escape(text)
                                      + "\n" + _error_block(status.error or "unknown error"))])
    if status.result == "unchanged":
        text = f"Nothing to reload: the index `{version}` already matches the folder{took}."
    else:
        text = f"Reloaded: now serving index version `{version}`{took}."
    return message(text, [section(escape(text))])


def admin_rollback_message(version: str, seconds: float | None) -> Message:
    """The outcome of ``/privacy admin rollback``."""
    took = f" in {seconds:.2f} s" if seconds is not None else ""
    text = f"Rolled back{took}: now serving index version `{version}`."
    return message(text, [section(escape(text))])


def admin_failure(what: str, reason: str) -> Message:
    """An admin action that could not run; ``reason`` is one of faqbot's own error messages."""
    text = f"{what} failed: {reason}"
    return message(text, [section(escape(text))])


def admin_notice(text: str) -> Message:
    """The DM sent to admins when a reload fails: first line, then the problems as code."""
    first, _, rest = text.partition("\n")
    blocks = [section(":warning: " + escape(first))]
    if rest.strip():
        blocks.append(section(_error_block(rest.strip())))
    return message(text, blocks)
