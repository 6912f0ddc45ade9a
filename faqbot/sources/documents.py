"""Readers that turn Markdown, plain text, HTML and PDF files into Documents."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from faqbot.errors import Problem
from faqbot.models import Document, DocumentMeta, Section
from faqbot.sources import frontmatter, yamlfile

_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^(```|~~~)")


class DocumentProblem(Exception):
    """A document that cannot be read; carries the problems found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def sidecar_path(path: Path) -> Path:
    """``policy.html`` may carry its front matter in ``policy.html.meta.yml``."""
    return path.with_name(path.name + ".meta.yml")


def _meta(data: dict[str, Any], node: Any, rel: str, first_line: int) -> DocumentMeta:
    try:
        return DocumentMeta.model_validate(data)
    except ValidationError as exc:
        raise DocumentProblem(
            yamlfile.validation_problems(exc, node, rel, first_line=first_line)
        ) from None


def _sidecar(path: Path, rel: str) -> tuple[dict[str, Any], Any, str]:
    side = sidecar_path(path)
    if not side.exists():
        return {}, None, rel
    side_rel = rel + ".meta.yml"
    try:
        data, node = yamlfile.parse(side.read_text(encoding="utf-8"), side_rel)
    except yamlfile.YamlProblem as exc:
        raise DocumentProblem([exc.problem]) from None
    if not isinstance(data, dict):
        raise DocumentProblem([Problem(side_rel, 1, "must be a mapping of front-matter keys")])
    return data, node, side_rel


def _sections_from_lines(body: str, first_line: int, headings: bool) -> list[Section]:
    """Cut a Markdown body into sections at ATX headings (outside code fences)."""
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    start, start_line = 0, first_line
    offset, in_fence = 0, False
    for number, line in enumerate(body.splitlines(keepends=True), start=first_line):
        stripped = line.rstrip("\r\n")
        if _FENCE.match(stripped):
            in_fence = not in_fence
        match = None if in_fence or not headings else _ATX.match(stripped)
        if match:
            if body[start:offset].strip():
                path = tuple(t for _, t in stack)
                sections.append(Section(path=path, start=start, end=offset, line=start_line))
            level = len(match.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, match.group(2).strip()))
            start, start_line = offset + len(line), number
        offset += len(line)
    if body[start:].strip():
        sections.append(
            Section(path=tuple(t for _, t in stack), start=start, end=len(body), line=start_line)
        )
    return sections


def read_markdown(path: Path, rel: str, headings: bool = True) -> Document:
    """Markdown (or plain text) with optional YAML front matter; headings make sections."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise DocumentProblem([Problem(rel, line, "not valid UTF-8")]) from None
    try:
        data, node, body, body_line = frontmatter.split(text, rel)
    except yamlfile.YamlProblem as exc:
        raise DocumentProblem([exc.problem]) from None
    if data is None:
        side, side_node, side_rel = _sidecar(path, rel)
        if not side and headings:
            raise DocumentProblem(
                [Problem(rel, 1, "missing front matter: start the file with '---', "
                         "a 'title:' line and '---'")]
            )
        data = side or {"title": path.stem.replace("-", " ").replace("_", " ")}
        meta = _meta(data, side_node, side_rel, 1)
    else:
        meta = _meta(data, node, rel, 2)
    sections = _sections_from_lines(body, body_line, headings)
    return Document(path=rel, meta=meta, text=body, sections=tuple(sections))


def read_text(path: Path, rel: str) -> Document:
    """Plain text: one section; front matter or a sidecar file is optional."""
    return read_markdown(path, rel, headings=False)


_DROP = ["script", "style", "nav", "header", "footer", "aside", "noscript", "template", "svg",
         "form", "button", "iframe"]
_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "dt", "dd", "td",
           "th", "figcaption", "caption"]


def read_html(path: Path, rel: str) -> Document:
    """HTML: scripts, styles and navigation dropped; h1-h6 headings make sections."""
    from bs4 import BeautifulSoup

    raw = path.read_bytes()
    soup = BeautifulSoup(raw, "html.parser", from_encoding="utf-8")
    for tag in soup(_DROP):
        tag.decompose()
    for tag in soup.select('[role="navigation"], [aria-hidden="true"]'):
        tag.decompose()

    def meta_content(*names: str) -> str | None:
        for name in names:
            tag = soup.find("meta", attrs={"name": name}) or soup.find(
                "meta", attrs={"property": name}
            )
            if tag and tag.get("content"):
                return str(tag["content"]).strip()
        return None

    data: dict[str, Any] = {}
    title_tag = soup.find("title")
    first_h1 = soup.find("h1")
    title = (title_tag.get_text(" ", strip=True) if title_tag else "") or (
        first_h1.get_text(" ", strip=True) if first_h1 else ""
    )
    data["title"] = title or path.stem
    canonical = soup.find("link", rel="canonical")
    url = (canonical.get("href") if canonical else None) or meta_content("og:url")
    if url:
        data["url"] = str(url)
    for key in ("kind", "date", "superseded_by", "owner", "review_by"):
        value = meta_content(f"faqbot:{key}")
        if value:
            data[key] = value
    if "date" not in data:
        published = meta_content("article:published_time", "date", "dc.date")
        if published:
            data["date"] = published[:10]
    side, side_node, side_rel = _sidecar(path, rel)
    data.update(side)
    meta = _meta(data, side_node, side_rel, 1)

    body_root = soup.find("main") or soup.find("article") or soup.body or soup
    parts: list[str] = []
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    offset, sec_start = 0, 0

    def close_section() -> None:
        if offset > sec_start:
            sections.append(Section(path=tuple(t for _, t in stack), start=sec_start,
                                    end=offset, line=1))

    for block in body_root.find_all(_BLOCKS):
        if block.find_parent(_BLOCKS) is not None and block.name not in ("li",):
            continue  # nested block: its text is in the parent's
        if block.name == "li" and block.find(_BLOCKS):
            continue  # list item holding blocks: the inner blocks carry the text
        text = " ".join(block.get_text(" ", strip=True).split())
        if not text:
            continue
        if block.name[0] == "h" and block.name[1:].isdigit():
            close_section()
            level = int(block.name[1:])
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, text))
            sec_start = offset
            continue
        chunk = ("- " + text if block.name == "li" else text) + "\n\n"
        parts.append(chunk)
        offset += len(chunk)
    close_section()
    return Document(path=rel, meta=meta, text="".join(parts), sections=tuple(sections))


def read_pdf(path: Path, rel: str) -> Document:
    """PDF through pypdf: one section per page ("Page N"); metadata from the PDF or a sidecar."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
        info_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, OSError, ValueError) as exc:
        raise DocumentProblem([Problem(rel, None, f"cannot read PDF: {exc}")]) from None
    data: dict[str, Any] = {"title": info_title.strip() or path.stem}
    side, side_node, side_rel = _sidecar(path, rel)
    data.update(side)
    meta = _meta(data, side_node, side_rel, 1)
    parts: list[str] = []
    sections: list[Section] = []
    offset = 0
    for number, page in enumerate(pages, start=1):
        # pypdf breaks lines at the layout width; join them back into paragraphs.
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", page)]
        text = "\n\n".join(p for p in paragraphs if p)
        if not text:
            continue
        chunk = text + "\n\n"
        sections.append(Section(path=(f"Page {number}",), start=offset,
                                end=offset + len(chunk), line=number))
        parts.append(chunk)
        offset += len(chunk)
    return Document(path=rel, meta=meta, text="".join(parts), sections=tuple(sections))


READERS = {
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".txt": read_text,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
}
