"""Front matter as admins write it: human dates, common aliases, and a kind inferred when absent."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from faqbot.errors import Problem
from faqbot.models import AUTHORITY, check_partial_date

#: other names admins (and scrapers) use for the keys faqbot knows; the first one found wins
ALIASES: dict[str, tuple[str, ...]] = {
    "url": ("source_url", "link", "source", "href", "canonical_url"),
    "date": ("updated", "last_updated", "last_modified", "modified", "effective",
             "effective_date", "published", "date_published", "updated_at"),
    "kind": ("type", "category"),
}

#: folder names that say what their documents are, when neither file nor defaults say it
FOLDER_KINDS: dict[str, str] = {
    "policy": "policy", "policies": "policy", "legal": "policy", "terms": "policy",
    "official": "official", "statements": "official", "announcements": "official",
    "faq": "faq", "faqs": "faq", "help": "faq",
    "news": "news", "press": "news", "coverage": "news", "media": "news",
    "internal": "internal",
}

DEFAULTS_FILE = "_defaults.yml"
DEFAULTS_KEYS = {"kind", "owner", "official_domains"}

# "Effective July 5, 2023", "Last Updated: June 17, 2025", "Published: December 11, 2024"
_DATE_LABEL = re.compile(
    r"^\W*(?:(?:last\s+)?(?:updated|revised|modified|reviewed)(?:\s+on)?|effective(?:\s+date)?"
    r"|published|dated?|version|as\s+of|on|from)\b\s*:?\s*",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(?:1[89]|2[01])\d\d\b")
_ISO_LIKE = re.compile(r"^\d{4}-\d{1,2}(-\d{1,2})?$")


@dataclass(frozen=True)
class FolderDefaults:
    """What a ``_defaults.yml`` says about the documents under its folder."""

    kind: str | None = None
    owner: str | None = None
    official_domains: tuple[str, ...] = ()


@dataclass
class MetaContext:
    """Defaults that apply to one document: from ``_defaults.yml`` files above it."""

    defaults: dict[str, FolderDefaults] = field(default_factory=dict)  # folder ('' = root)
    warnings: list[Problem] = field(default_factory=list)  # found while reading front matter

    def for_path(self, rel: str) -> FolderDefaults:
        """The nearest folder's defaults for each key, with official domains from every level."""
        folders = [""] + [p.as_posix() for p in reversed(PurePosixPath(rel).parents)
                          if p.as_posix() != "."]
        kind = owner = None
        domains: list[str] = []
        for folder in folders:
            found = self.defaults.get(folder)
            if found is None:
                continue
            kind = found.kind or kind
            owner = found.owner or owner
            domains.extend(found.official_domains)
        return FolderDefaults(kind=kind, owner=owner, official_domains=tuple(domains))


@lru_cache(maxsize=1)
def _date_parser() -> Any:
    from dateparser.date import DateDataParser

    return DateDataParser(languages=["en"], settings={
        "PREFER_DAY_OF_MONTH": "first", "RETURN_AS_TIMEZONE_AWARE": False,
        "PARSERS": ["absolute-time", "custom-formats"],
    })


def parse_human_date(value: object) -> str | None:
    """A date as written by people, as YYYY, YYYY-MM or YYYY-MM-DD; None if it is not one.

    ISO-looking values must be valid as they are; anything else goes through dateparser
    after a leading label ("Effective", "Last Updated:") is dropped, and must name a year.
    """
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.split())
    for _ in range(3):  # "Last updated on: Effective as of …"
        stripped = _DATE_LABEL.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    text = text.strip(" .;,()[]*_")
    if _ISO_LIKE.match(text) or re.fullmatch(r"\d{4}", text):
        try:
            return check_partial_date(text)
        except ValueError:
            return None
    if not _YEAR.search(text):
        return None
    data = _date_parser().get_date_data(text)
    if data.date_obj is None:
        return None
    day = data.date_obj.date()
    if data.period == "day":
        return day.isoformat()
    if data.period in ("month", "week"):
        return day.isoformat()[:7]
    return f"{day.year:04d}"


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def infer_kind(rel: str, url: str | None, defaults: FolderDefaults) -> str | None:
    """A kind for a document whose front matter gives none, or None to keep the default.

    In order: the nearest ``_defaults.yml``, the nearest folder with a telling name, then the
    url's host: on an official domain (or a sub-domain of one) "official", elsewhere "news".
    """
    if defaults.kind:
        return defaults.kind
    for folder in reversed(PurePosixPath(rel).parent.parts):
        kind = FOLDER_KINDS.get(folder.casefold())
        if kind:
            return kind
    if url and defaults.official_domains:
        host = _host(url)
        if host:
            for domain in defaults.official_domains:
                domain = domain.lower().lstrip(".")
                if host == domain or host.endswith("." + domain):
                    return "official"
            return "news"
    return None


def lenient(
    data: dict[str, Any], rel: str, line_of: Any, context: MetaContext | None = None,
    doc_rel: str | None = None,
) -> tuple[dict[str, Any], list[Problem]]:
    """Front matter with aliases resolved, dates normalised and a kind inferred.

    ``rel`` is the file the keys are in (the document or its sidecar), ``doc_rel`` the
    document (for its folder); ``line_of(key)`` gives the file line of a key. Returns the
    cleaned mapping (for DocumentMeta) and warnings; a date that cannot be read is dropped
    with a warning.
    """
    out = dict(data)
    warnings: list[Problem] = []
    written_as: dict[str, str] = {}  # key -> the alias it was written as (for its line)
    for key, aliases in ALIASES.items():
        for alias in aliases:
            if alias in out and key not in out:
                out[key] = out.pop(alias)
                written_as[key] = alias
            elif alias in out and key in out and alias != key:
                warnings.append(Problem(rel, line_of(alias),
                                        f"'{alias}' ignored: '{key}' is given too", "warning"))
    for key in ("date", "review_by"):
        if key not in out or out[key] is None:
            continue
        raw = out[key]
        parsed = parse_human_date(raw)
        if parsed is None or (key == "review_by" and len(parsed) != 10):
            warnings.append(Problem(rel, line_of(written_as.get(key, key)),
                                    f"{key}: cannot read '{raw}' as a date; indexed without it",
                                    "warning"))
            out.pop(key)
        else:
            out[key] = parsed
    if isinstance(out.get("kind"), str):
        kind = out["kind"].strip().casefold()
        if kind in AUTHORITY:
            out["kind"] = kind
    if isinstance(out.get("title"), str | int | float) and not str(out["title"]).strip():
        out.pop("title")
    doc_rel = doc_rel or rel
    defaults = (context or MetaContext()).for_path(doc_rel)
    if out.get("kind") in (None, ""):
        out.pop("kind", None)
        url = out.get("url") if isinstance(out.get("url"), str) else None
        kind = infer_kind(doc_rel, url, defaults)
        if kind:
            out["kind"] = kind
    if defaults.owner and not out.get("owner"):
        out["owner"] = defaults.owner
    return out, warnings


def read_defaults(data: Any, rel: str, line_of: Any) -> tuple[FolderDefaults, list[Problem]]:
    """Validate a ``_defaults.yml`` mapping; problems name their lines."""
    problems: list[Problem] = []
    if data is None:
        return FolderDefaults(), problems
    if not isinstance(data, dict):
        return FolderDefaults(), [Problem(rel, 1, "must be a mapping (kind, owner, "
                                          "official_domains)")]
    for key in sorted(set(data) - DEFAULTS_KEYS):
        problems.append(Problem(rel, line_of(key), f"unknown key '{key}'", "warning"))
    kind = data.get("kind")
    if kind is not None:
        kind = str(kind).strip().casefold()
        if kind not in AUTHORITY:
            problems.append(Problem(rel, line_of("kind"),
                                    f"kind: must be one of {', '.join(AUTHORITY)}"))
            kind = None
    owner = data.get("owner")
    domains = data.get("official_domains") or []
    if isinstance(domains, str):
        domains = [domains]
    if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
        problems.append(Problem(rel, line_of("official_domains"),
                                "official_domains: must be a list of host names"))
        domains = []
    return FolderDefaults(kind=kind, owner=str(owner) if owner else None,
                          official_domains=tuple(d.strip() for d in domains if d.strip())), problems


def body_date(lines: list[str]) -> str | None:
    """A date stated near the top of a body ("Last updated: …", "Effective …"), if any."""
    for line in lines[:40]:
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line).strip(" *_#>")
        if len(text) > 80 or not _DATE_LABEL.match(text) or not _YEAR.search(text):
            continue
        for part in re.split(r"(?<=\d)\.\s+|;\s*", text):
            parsed = parse_human_date(part)
            if parsed is not None:
                return parsed
    return None
