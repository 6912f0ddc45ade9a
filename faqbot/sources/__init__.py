"""Load the knowledge folder: documents, the FAQ and the opt-out procedure, with every problem."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from faqbot.errors import KnowledgeError, Problem
from faqbot.models import Document, FaqEntry, OptOutProcedure
from faqbot.sources import yamlfile
from faqbot.sources.documents import READERS, DocumentProblem, sidecar_path
from faqbot.sources.meta import DEFAULTS_FILE, MetaContext, read_defaults
from faqbot.sources.structured import read_structured

YAML_SUFFIXES = (".yml", ".yaml")
LONG_SECTION_WORDS = 800


@dataclass
class Knowledge:
    """Everything read from a knowledge folder, plus what is wrong with it."""

    root: Path
    documents: list[Document] = field(default_factory=list)
    faq: list[FaqEntry] = field(default_factory=list)
    opt_out: OptOutProcedure | None = None
    out_of_scope: list[str] = field(default_factory=list)  # example questions to decline
    file_hashes: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: errors of the files left out by :func:`servable` (empty for a plain load)
    skipped: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def raise_for_errors(self) -> None:
        """Raise KnowledgeError (first problem with file and line) if any error was found."""
        if self.errors:
            raise KnowledgeError(self.errors)

    def document(self, path: str) -> Document | None:
        return next((d for d in self.documents if d.path == path), None)


def knowledge_files(root: Path) -> list[Path]:
    """Files under ``root`` that faqbot reads, sorted; hidden and '_'-prefixed names skipped."""
    files = []
    for path in sorted(root.rglob("*")):
        rel_parts = path.relative_to(root).parts
        if any(part.startswith((".", "_")) for part in rel_parts) or not path.is_file():
            continue
        files.append(path)
    return files


def _hash(*blobs: bytes) -> str:
    digest = hashlib.sha256()
    for blob in blobs:
        digest.update(hashlib.sha256(blob).digest())
    return digest.hexdigest()


def _folder_defaults(root: Path, kb: Knowledge, skip: frozenset[str]) -> MetaContext:
    """Read every ``_defaults.yml`` (kind, owner, official_domains for the folder below it)."""
    context = MetaContext()
    for path in sorted(root.rglob(DEFAULTS_FILE)):
        rel = path.relative_to(root).as_posix()
        if rel in skip or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        raw = path.read_bytes()
        kb.file_hashes[rel] = _hash(raw)
        try:
            data, node = yamlfile.parse(raw.decode("utf-8"), rel)
        except UnicodeDecodeError as exc:
            kb.problems.append(Problem(rel, raw[: exc.start].count(b"\n") + 1,
                                       "not valid UTF-8"))
            continue
        except yamlfile.YamlProblem as exc:
            kb.problems.append(exc.problem)
            continue
        found, problems = read_defaults(data, rel, lambda key, n=node: yamlfile.line_of(n, (key,)))
        kb.problems.extend(problems)
        folder = path.parent.relative_to(root).as_posix()
        context.defaults["" if folder == "." else folder] = found
    return context


def load_knowledge(root: Path, today: dt.date | None = None,
                   skip: frozenset[str] = frozenset()) -> Knowledge:
    """Read and validate every file under ``root``; problems are collected, never raised.

    Files named in ``skip`` (paths relative to ``root``) are left out, as :func:`servable` does.
    """
    kb = Knowledge(root=root)
    if not root.is_dir():
        kb.problems.append(Problem(str(root), None, "knowledge folder not found"))
        return kb
    context = _folder_defaults(root, kb, skip)
    faq_lines: dict[str, tuple[str, int]] = {}
    opt_out_file: str | None = None
    for path in knowledge_files(root):
        rel = path.relative_to(root).as_posix()
        if rel in skip:
            continue
        suffix = path.suffix.lower()
        if path.name.endswith(".meta.yml"):
            owner = path.with_name(path.name[: -len(".meta.yml")])
            if not owner.exists():
                kb.problems.append(Problem(rel, 1, f"sidecar for a missing file '{owner.name}'"))
            continue
        if suffix in YAML_SUFFIXES:
            raw = path.read_bytes()
            kb.file_hashes[rel] = _hash(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                kb.problems.append(Problem(rel, line, "not valid UTF-8"))
                continue
            found = read_structured(text, rel)
            kb.problems.extend(found.problems)
            for entry, line in found.faq:
                if entry.id in faq_lines:
                    other, other_line = faq_lines[entry.id]
                    kb.problems.append(Problem(rel, line,
                        f"duplicate FAQ id '{entry.id}' (first at {other}:{other_line})"))
                    continue
                faq_lines[entry.id] = (rel, line)
                kb.faq.append(entry)
            kb.out_of_scope.extend(found.out_of_scope)
            if found.opt_out is not None:
                if kb.opt_out is not None:
                    kb.problems.append(Problem(rel, 1, f"a second opt-out procedure "
                                               f"(the first is in {opt_out_file})"))
                else:
                    kb.opt_out, opt_out_file = found.opt_out, rel
            continue
        reader = READERS.get(suffix)
        if reader is None:
            kb.problems.append(Problem(rel, None, f"ignored: unknown file type '{suffix}'",
                                       "warning"))
            continue
        side = sidecar_path(path)
        kb.file_hashes[rel] = _hash(path.read_bytes(), side.read_bytes() if side.exists() else b"")
        try:
            kb.documents.append(reader(path, rel, context=context))
        except DocumentProblem as exc:
            kb.problems.extend(exc.problems)
        kb.problems.extend(context.warnings)
        context.warnings.clear()
    _cross_check(kb, faq_lines, opt_out_file, today or dt.date.today())
    return kb


def _unservable(problem: Problem) -> set[str]:
    """Files a problem makes unservable: its own, and for a sidecar the document it describes."""
    if problem.path.endswith(".meta.yml"):
        return {problem.path, problem.path[: -len(".meta.yml")]}
    return {problem.path}


def servable(kb: Knowledge, today: dt.date | None = None) -> Knowledge:
    """What can be served from ``kb``'s folder: every file with an error left out.

    Leaving a file out can break another one (an FAQ entry citing a skipped document), so the
    folder is read again without the files in error until no error is left. The result has no
    errors; its ``skipped`` lists the errors of the files left out, and its ``file_hashes`` do
    not name them (so fixing one makes the index stale). A folder that cannot be read at all
    comes back as it is, errors included.
    """
    if not kb.errors:
        return kb
    skipped = list(kb.errors)
    skip = frozenset().union(*(_unservable(p) for p in skipped))
    while str(kb.root) not in skip:
        result = load_knowledge(kb.root, today, skip)
        if not result.errors:
            result.skipped = skipped
            return result
        more = frozenset().union(*(_unservable(p) for p in result.errors))
        if more <= skip:  # nothing new to leave out: this folder cannot be served
            break
        skipped += result.errors
        skip |= more
    return kb


def section_names(doc: Document) -> set[str]:
    """Names a citation may use for a section: its heading, or its full path joined by ' > '."""
    names = set()
    for section in doc.sections:
        if section.path:
            names.add(section.path[-1])
            names.add(" > ".join(section.path))
        # a heading whose only content is its sub-sections has no Section of its own
        for depth in range(1, len(section.path)):
            names.add(section.path[depth - 1])
            names.add(" > ".join(section.path[:depth]))
    return names


def _norm(text: str) -> str:
    return re.sub(r"[^\w]+", " ", text.casefold()).strip()


def _cross_check(
    kb: Knowledge, faq_lines: dict[str, tuple[str, int]], opt_out_file: str | None, today: dt.date
) -> None:
    docs = {d.path: d for d in kb.documents}
    sections = {path: section_names(d) for path, d in docs.items()}

    def check_source(where: tuple[str, int | None], what: str, doc: str, section: str) -> None:
        if doc not in docs:
            kb.problems.append(Problem(where[0], where[1],
                                       f"{what}: source document '{doc}' does not exist"))
        elif section not in sections[doc]:
            kb.problems.append(Problem(where[0], where[1],
                f"{what}: section '{section}' not found in '{doc}'"))

    phrasing_seen: Counter[str] = Counter()
    for entry in kb.faq:
        where = faq_lines[entry.id]
        for src in entry.sources:
            check_source(where, f"FAQ '{entry.id}'", src.doc, src.section)
        for phrasing in {_norm(p) for p in entry.phrasings}:
            phrasing_seen[phrasing] += 1
            if phrasing_seen[phrasing] == 2:
                kb.problems.append(Problem(where[0], where[1],
                    f"FAQ '{entry.id}': the phrasing '{phrasing}' is used by another entry too"))
    if kb.opt_out is not None and opt_out_file is not None:
        for src in kb.opt_out.sources:
            check_source((opt_out_file, None), "opt-out procedure", src.doc, src.section)

    for doc in kb.documents:
        meta = doc.meta
        if meta.superseded_by is not None and meta.superseded_by not in docs:
            kb.problems.append(Problem(doc.path, 1,
                f"superseded_by: '{meta.superseded_by}' is not a document in the folder"))
        if meta.review_by is not None and meta.review_by < today:
            kb.problems.append(Problem(doc.path, 1,
                f"review_by {meta.review_by.isoformat()} has passed: review the document",
                "warning"))
        if not meta.url:
            kb.problems.append(Problem(doc.path, 1, "no url: citations will have no link",
                                       "warning"))
        for section in doc.sections:
            words = len(doc.text[section.start : section.end].split())
            if words > LONG_SECTION_WORDS:
                name = " > ".join(section.path) or "(text before the first heading)"
                kb.problems.append(Problem(doc.path, section.line,
                    f"section '{name}' has {words} words: consider sub-headings", "warning"))
        if not doc.sections:
            kb.problems.append(Problem(doc.path, 1, "no text found", "warning"))
