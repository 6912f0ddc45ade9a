"""Readers that turn Markdown, plain text, HTML and PDF files into Documents."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from faqbot.errors import Problem
from faqbot.models import Document, DocumentMeta, Section
from faqbot.sources import frontmatter, meta, structure, yamlfile
from faqbot.sources.meta import MetaContext


class DocumentProblem(Exception):
    """A document that cannot be read; carries the problems found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def sidecar_path(path: Path) -> Path:
    """``policy.html`` may carry its front matter in ``policy.html.meta.yml``."""
    return path.with_name(path.name + ".meta.yml")


def _meta(data: dict[str, Any], node: Any, rel: str, first_line: int,
          context: MetaContext | None = None, doc_rel: str | None = None) -> DocumentMeta:
    """Validate front matter after the lenient pass; its warnings go to ``context.warnings``."""
    cleaned, warnings = meta.lenient(
        data, rel, lambda key: yamlfile.line_of(node, (key,), first_line) or first_line,
        context, doc_rel or rel)
    try:
        result = DocumentMeta.model_validate(cleaned)
    except ValidationError as exc:
        raise DocumentProblem(
            yamlfile.validation_problems(exc, node, rel, first_line=first_line) + warnings
        ) from None
    if context is not None:
        context.warnings.extend(warnings)
    return result


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


def read_markdown(path: Path, rel: str, headings: bool = True,
                  context: MetaContext | None = None) -> Document:
    """Markdown (or plain text) with optional YAML front matter; headings make sections.

    Without front matter (or a sidecar) the title is the first heading, else the file name;
    a date stated at the top of the body ("Last updated: …") is used when none is given.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise DocumentProblem([Problem(rel, line, "not valid UTF-8")]) from None
    # files saved on Windows: a byte-order mark would hide the front matter
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    try:
        data, node, raw_body, body_line = frontmatter.split(text, rel)
    except yamlfile.YamlProblem as exc:
        raise DocumentProblem([exc.problem]) from None
    body = structure.clean_body(raw_body) if headings else raw_body
    if data is None:
        data, node, meta_rel = _sidecar(path, rel)
        first_line = 1
    else:
        meta_rel, first_line = rel, 2
    data = dict(data)
    if not data.get("title"):
        heading = structure.first_heading(raw_body) if headings else None
        data["title"] = heading or path.stem.replace("-", " ").replace("_", " ")
    if not any(data.get(k) for k in ("date", *meta.ALIASES["date"])):
        found = meta.body_date(body.split("\n"))
        if found:
            data["date"] = found
    doc_meta = _meta(data, node, meta_rel, first_line, context, rel)
    sections = structure.markdown_sections(raw_body, body, body_line, headings)
    return Document(path=rel, meta=doc_meta, text=body, sections=tuple(sections))


def read_text(path: Path, rel: str, context: MetaContext | None = None) -> Document:
    """Plain text: one section; front matter or a sidecar file is optional."""
    return read_markdown(path, rel, headings=False, context=context)


def read_html(path: Path, rel: str, context: MetaContext | None = None) -> Document:
    """HTML, as saved from a browser: the main content only, sectioned like Markdown.

    Scripts, styles, navigation, headers, footers and page chrome are dropped (see
    :mod:`faqbot.sources.html`); headings, numbered clauses and bold lines make sections, whose
    lines are the HTML file's. Metadata comes from the page's head or a sidecar file.
    """
    from bs4 import BeautifulSoup

    from faqbot.sources.html import page_lines

    raw = path.read_bytes()
    soup = BeautifulSoup(raw, "html.parser", from_encoding="utf-8")

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
    data["title"] = title or path.stem.replace("-", " ").replace("_", " ")
    canonical = soup.find("link", rel="canonical")
    url = (canonical.get("href") if canonical else None) or meta_content("og:url")
    if url:
        data["url"] = str(url)
    for key in ("kind", "date", "superseded_by", "owner", "review_by"):
        value = meta_content(f"faqbot:{key}")
        if value:
            data[key] = value
    if "date" not in data:
        published = meta_content("article:modified_time", "article:published_time", "date",
                                 "dc.date", "last-modified")
        if published:
            data["date"] = published[:10]
    side, side_node, side_rel = _sidecar(path, rel)
    data.update(side)

    lines = page_lines(soup)
    raw_body = "\n".join(text for text, _ in lines)
    body = structure.clean_body(raw_body)
    if "date" not in data:
        found = meta.body_date(body.split("\n"))
        if found:
            data["date"] = found
    doc_meta = _meta(data, side_node, side_rel, 1, context, rel)
    sections = [
        section.model_copy(update={"line": lines[section.line - 1][1] if lines else 1})
        for section in structure.markdown_sections(raw_body, body, 1, True)
    ]
    return Document(path=rel, meta=doc_meta, text=body, sections=tuple(sections))


def read_pdf(path: Path, rel: str, context: MetaContext | None = None) -> Document:
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
    doc_meta = _meta(data, side_node, side_rel, 1, context, rel)
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
    return Document(path=rel, meta=doc_meta, text="".join(parts), sections=tuple(sections))


class Reader(Protocol):
    """A function that reads one document file (``rel`` names it in problems)."""

    def __call__(self, path: Path, rel: str, *, context: MetaContext | None = None) -> Document:
        ...


READERS: dict[str, Reader] = {
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".txt": read_text,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
}
