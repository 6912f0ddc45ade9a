"""A page saved from a browser, turned into the Markdown-like lines the Markdown reader cuts.

Only the main content is kept: scripts, styles, navigation, headers, footers, cookie banners
and language pickers are dropped. Headings become ``#`` lines, list items ``- `` lines, table
rows ``a | b`` lines, a paragraph that is all bold ``**…**``, and links keep their targets so
that a table of contents is recognised and dropped like a scraped one. Each line remembers
its line in the HTML file.
"""

from __future__ import annotations

import re
from typing import Any

_DROP = ["script", "style", "nav", "header", "footer", "aside", "noscript", "template", "svg",
         "form", "button", "iframe", "select", "dialog", "img", "picture", "video", "audio",
         "canvas", "object", "map"]
_DROP_ROLES = '[role="navigation"], [role="banner"], [role="contentinfo"], [role="dialog"], ' \
              '[role="search"], [aria-hidden="true"], [hidden]'
# class or id words of page chrome (a cookie banner, a language picker, share buttons)
_CHROME = re.compile(r"(?:^|[-_\s])(cookies?|consent|breadcrumbs?|skip|lang|langs|language"
                     r"|languages|locale|share|social|newsletter|subscribe|sidebar|toolbar)"
                     r"(?:$|[-_\s])", re.IGNORECASE)
_INLINE = {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "i",
           "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup",
           "time", "u", "var", "wbr", "br", "font", "label"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


def _is_chrome(tag: Any) -> bool:
    words = " ".join([*(tag.get("class") or []), str(tag.get("id") or "")])
    return bool(words.strip()) and bool(_CHROME.search(words))


def _inline(node: Any) -> str:
    """Text of inline content: links as ``[text](href)``, bold as ``**text**``."""
    from bs4 import NavigableString, Tag

    if isinstance(node, NavigableString):
        return str(node)
    if not isinstance(node, Tag):
        return ""
    if node.name == "br":
        return " "
    inner = "".join(_inline(child) for child in node.children)
    text = " ".join(inner.split())
    if not text:
        return inner if inner.isspace() else ""
    if node.name == "a" and node.get("href"):
        return f"[{text}]({node['href']})"
    if node.name in ("strong", "b"):
        lead = " " if inner[:1].isspace() else ""
        tail = " " if inner[-1:].isspace() else ""
        return f"{lead}**{text}**{tail}"
    return inner


def page_lines(soup: Any) -> list[tuple[str, int]]:
    """The main content of a parsed page as (line, HTML line) pairs, paragraphs blank-separated."""
    from bs4 import NavigableString, Tag

    for tag in soup(_DROP):
        tag.decompose()
    for tag in soup.select(_DROP_ROLES):
        tag.decompose()
    for tag in [t for t in soup.find_all(True) if _is_chrome(t)]:
        if not tag.decomposed:
            tag.decompose()
    root = (soup.find("main") or soup.find(attrs={"role": "main"}) or soup.find("article")
            or soup.body or soup)
    out: list[tuple[str, int]] = []
    buffer: list[str] = []
    buffer_line = [0]

    def emit(text: str, line: int) -> None:
        text = " ".join(text.split())
        if text:
            out.append((text, line))
            out.append(("", line))

    def flush() -> None:
        if buffer:
            emit("".join(buffer), buffer_line[0])
            buffer.clear()

    def line_of(node: Any) -> int:
        return int(getattr(node, "sourceline", None) or 1)

    def walk(node: Any) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if child.strip() and not buffer:
                    buffer_line[0] = line_of(child.parent)
                if type(child) is NavigableString:  # not a comment or a doctype
                    buffer.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            if child.name in _INLINE:
                if not buffer:
                    buffer_line[0] = line_of(child)
                buffer.append(_inline(child))
            elif child.name in _HEADINGS:
                flush()
                text = " ".join(child.get_text(" ", strip=True).split())
                emit(f"{'#' * int(child.name[1])} {text}", line_of(child))
            elif child.name == "li" and not child.find(lambda t: t.name not in _INLINE):
                flush()
                emit("- " + "".join(_inline(c) for c in child.children), line_of(child))
            elif child.name == "tr":
                flush()
                cells = [" ".join("".join(_inline(c) for c in cell.children).split())
                         for cell in child.find_all(["td", "th"], recursive=False)]
                emit(" | ".join(c for c in cells if c), line_of(child))
            elif child.name == "pre":
                flush()
                for number, text in enumerate(child.get_text().splitlines()):
                    if text.strip():
                        out.append((text.rstrip(), line_of(child) + number))
                out.append(("", line_of(child)))
            else:  # a block: its own paragraph(s)
                flush()
                walk(child)
                flush()

    walk(root)
    flush()
    return out
