"""Markdown bodies as they come from the web: scraping artefacts out, legal structure in.

Cleaning keeps every line break, so a section's line is still the file's line. Sections start
at ATX headings (also inside list items, as scraped pages have them), at numbered clauses
("10.4 Customer Content", "**2\\. ORDERING SERVICES**"), at bold lines standing alone and at
paragraphs led by a bold label ("**Registration**. You must…"), whose label is their title.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from faqbot.models import Section

_FENCE = re.compile(r"^\s*(```|~~~)")
_ATX = re.compile(r"^[ \t]*(?:(?:\d+[.)]|[-*+])[ \t]+)?(#{1,6})[ \t]+(.+?)[ \t#]*$")
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s]*)(?:\s+\"[^\"\n]*\")?\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_LIST_MARK = re.compile(r"^[ \t]*(?:\d+[.)]|[-*+•])[ \t]+")
# a clause number: "10.4", "2.", "1\." (escaped by Markdown converters), then its title
_CLAUSE = re.compile(r"^(\d{1,3}(?:\.\d{1,3})*)\.?[ \t]+(\S.*)$")
_INLINE_CLAUSE = re.compile(
    r"(\*\*|__)(\d{1,3}(?:\\?\.\d{1,3})+\\?\.?[ \t]+[^*_\n]+?)\1[ \t]*[.:]?[ \t]+")
# "**Registration**. You must…", "**Minimum age.** You must…": a paragraph led by a bold label
# (scraped pages put a no-break space after it)
_RUN_IN = re.compile(r"(\*\*|__)([^*_\n]+?)\1[^\S\n]*[.:]?[^\S\n]+(?=\S)")
_ADJACENT_BOLD = re.compile(r"(?<=\S)\*\*[^\S\n]+\*\*(?=\S)")  # also across a no-break space
_NAV_LABELS = {"table of contents", "contents", "jump to section", "on this page",
               "select language", "language", "skip to main content", "skip to content",
               "back to top"}
MAX_HEADING_WORDS = 14


@dataclass(frozen=True)
class Heading:
    """A line that starts a section: its level and text."""

    level: int
    text: str
    rest: str = ""  # the section's own text on the heading's line (raw), if any


def inline_text(text: str) -> str:
    """Markdown inline markup to plain text: images dropped, links to their text, no emphasis."""
    text = text.translate(_INVISIBLE)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _BOLD.sub(r"\2", text)
    text = _ITALIC.sub(r"\1", text)
    text = text.replace("**", "")  # the ends of bold that spans lines
    return _ESCAPE.sub(r"\1", text)


def _scripts(text: str) -> set[str]:
    """Unicode scripts (by character-name prefix) of the letters in a text."""
    found = set()
    for char in text:
        if char.isalpha():
            name = unicodedata.name(char, "")
            found.add(name.split(" ")[0] if name else "?")
    return found


def _is_navigation(raw: str) -> bool:
    """A line that only links within the page or site (a table of contents), or a menu."""
    links = _LINK.findall(raw)
    rest = _LINK.sub("", _IMAGE.sub("", raw))
    # links alone, each to an anchor or a path on the same site: navigation, not a citation
    if (links and not re.search(r"\w", _LIST_MARK.sub("", rest).strip(" |·•*_-–—,"))
            and all(target.startswith(("#", "/")) or "#" in target for _, target in links)):
        return True
    return len(_scripts(raw)) >= 4 and len(raw.split()) < len(raw) / 12  # a language menu


def _is_artefact(line: str) -> bool:
    """Scraper and page-builder residue: layout tokens ("xs-spacing, grid-width-12", "1 | 2")."""
    text = line.strip(" *_")
    if not text:
        return False
    if text.casefold().rstrip(":") in _NAV_LABELS:
        return True
    if re.fullmatch(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*(?:,\s*[a-z][a-z0-9]*(?:-[a-z0-9]+)*)*", text):
        return True
    return not re.search(r"[^\W\d_]", text)  # no letter at all: "1 | 2", "—"


def clean_body(body: str) -> str:
    """The body with artefacts removed and inline markup made plain; line breaks all kept.

    Dropped lines: images alone on a line, navigation lists and language menus, and page-builder
    residue standing as its own paragraph. Code fences are left as they are.
    """
    lines = body.split("\n")
    out: list[str] = []
    in_fence = False
    for i, raw in enumerate(lines):
        if _FENCE.match(raw):
            in_fence = not in_fence
            out.append(raw)
            continue
        if in_fence:
            out.append(raw)
            continue
        alone = (i == 0 or not lines[i - 1].strip()) and (
            i + 1 >= len(lines) or not lines[i + 1].strip())
        if _is_navigation(raw) or (alone and _is_artefact(raw) and not _ATX.match(raw)):
            out.append("")
            continue
        out.append(inline_text(raw).rstrip())
    return "\n".join(out)


def _title_like(text: str) -> bool:
    """Short, starts with a capital or a digit, and does not end like a sentence."""
    words = text.split()
    if not 0 < len(words) <= MAX_HEADING_WORDS or text.rstrip().endswith((".", ",", ";")):
        return False
    return text[0].isupper() or text[0].isdigit()


def heading_of(raw: str, alone: bool, starts_paragraph: bool = False) -> Heading | None:
    """The heading a raw Markdown line starts, if any.

    ATX headings keep their level (1-6). Numbered clauses sit below every ATX level, one level
    per number part (7 for "2.", 8 for "2.1"). A bold line standing alone gets level 0 here:
    the caller puts it one level below the heading it belongs to.
    """
    match = _ATX.match(raw)
    if match:
        return Heading(len(match.group(1)), inline_text(match.group(2)).strip())
    stripped = raw.strip()
    bold = re.fullmatch(r"(\*\*|__)(.+?)\1[ \t]*:?", stripped)
    if bold:
        text = inline_text(bold.group(2)).strip().rstrip(":")
        clause = _CLAUSE.match(text)
        if alone and clause and _title_like(clause.group(2)):
            return Heading(6 + clause.group(1).count(".") + 1, text)
        if alone and _title_like(text):
            return Heading(0, text)
        return None
    # "**1.1 Registration; Passwords**. You may…": a numbered clause with its text inline;
    # "**12.1** **Charges**. You agree…" has its number and title in two bold runs
    inline = _INLINE_CLAUSE.match(_ADJACENT_BOLD.sub(" ", stripped))
    if inline:
        text = inline_text(inline.group(2)).strip()
        if _title_like(text):
            return Heading(6 + text.split()[0].rstrip(".").count(".") + 1, text,
                           inline.string[inline.end():])
    if starts_paragraph and (run_in := _RUN_IN.match(stripped)):
        label = inline_text(run_in.group(2)).strip().rstrip(".:").strip()
        if label and _title_like(label) and not _CLAUSE.match(label):
            # the label stays in the text too: a bold sentence read as a label loses nothing
            return Heading(0, label, stripped)
    plain = _CLAUSE.match(inline_text(stripped))
    if alone and plain and _title_like(plain.group(2)):
        number, title = plain.group(1), plain.group(2)
        # "2. Go to Settings" is a list step; "2. FEES" and "10.4 Customer Content" are clauses
        if "." in number or title.isupper():
            return Heading(6 + number.count(".") + 1, f"{number} {title}".strip())
    return None


def markdown_sections(raw_body: str, body: str, first_line: int, headings: bool) -> list[Section]:
    """Sections of a cleaned ``body`` (offsets into it), found on the ``raw_body`` lines.

    Both bodies have the same lines; ``first_line`` is the file line of their first line.
    """
    raw_lines = raw_body.split("\n")
    lines = body.split("\n")
    sections: list[Section] = []
    stack: list[tuple[int, str, bool]] = []  # (level, text, is a bold pseudo-heading)
    start, start_line = 0, first_line
    offset, in_fence = 0, False

    def close(end: int) -> None:
        if body[start:end].strip():
            sections.append(Section(path=tuple(t for _, t, _ in stack), start=start, end=end,
                                    line=start_line))

    for index, (raw, line) in enumerate(zip(raw_lines, lines, strict=True)):
        number = first_line + index
        if _FENCE.match(raw):
            in_fence = not in_fence
        heading = None
        if headings and not in_fence and line.strip():
            after_blank = index == 0 or not raw_lines[index - 1].strip()
            alone = after_blank and (
                index + 1 >= len(raw_lines) or not raw_lines[index + 1].strip())
            heading = heading_of(raw, alone, after_blank)
        if heading is not None and heading.text:
            close(offset)
            level = heading.level
            if level == 0:  # a bold line: one below the nearest real heading above it
                real = [lvl for lvl, _, is_bold in stack if not is_bold]
                level = (real[-1] if real else 0) + 1
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, heading.text, heading.level == 0))
            if heading.rest:
                # the clause's own text follows its title on the same line
                kept = inline_text(heading.rest)
                start = offset + max(0, len(line) - len(kept.rstrip()))
            else:
                start = offset + len(line) + 1
            start_line = number
        offset += len(line) + 1
    close(len(body))
    return sections


def first_heading(body: str) -> str | None:
    """Text of the first ATX heading, for a document that has no title of its own."""
    in_fence = False
    for raw in body.split("\n"):
        if _FENCE.match(raw):
            in_fence = not in_fence
            continue
        match = None if in_fence else _ATX.match(raw)
        if match:
            text = inline_text(match.group(2)).strip()
            if text:
                return text
    return None
