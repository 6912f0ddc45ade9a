"""Block Kit primitives: escaping, limits, the building blocks and ``Message``.

Document text is escaped (``&``, ``<``, ``>``) so a passage can never mention anyone or make a
link; links are only built from document URLs that are plain http(s). Every dict sent to Slack
is built from these, within Slack's limits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# Slack's limits (docs), and our own budget for an answer.
SECTION_MAX = 3000
HEADER_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
CONTEXT_TEXT_MAX = 2000
BUTTON_TEXT_MAX = 75
ACCESSIBILITY_LABEL_MAX = 75
BUTTON_VALUE_MAX = 2000
ACTIONS_ELEMENTS_MAX = 25
MESSAGE_BLOCKS_MAX = 50
HOME_BLOCKS_MAX = 100
TEXT_FALLBACK_MAX = 3000
BUTTONS_PER_ROW = 5

Block = dict[str, Any]

_SAFE_URL = re.compile(r"^https?://[^\s<>|\"]+$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


@dataclass(frozen=True)
class Message:
    """A message ready for chat.postMessage or respond(): fallback text and blocks."""

    text: str
    blocks: list[Block]

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``chat_postMessage`` / ``respond``."""
        return {"text": self.text, "blocks": self.blocks}



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


def button(text: str, action_id: str, value: str = "", style: str | None = None,
           label: str | None = None) -> Block:
    """A button; text and value are cut to Slack's limits. ``label`` is what a screen reader
    says (``accessibility_label``, at most 75 characters); by default the button's text."""
    element: Block = {"type": "button", "text": _plain(text, BUTTON_TEXT_MAX),
                      "action_id": action_id,
                      "accessibility_label": truncate(label or text, ACCESSIBILITY_LABEL_MAX)}
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
                if "text" in element:  # buttons; date pickers and menus have none
                    element["text"]["text"] = truncate(element["text"]["text"],
                                                       BUTTON_TEXT_MAX)
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



def code(text: str) -> str:
    """Text as an escaped code block that nothing inside can close."""
    return "```" + escape(text.replace("```", "'''")) + "```"
