"""The guided opt-out flow: a ready email for owners, a note to forward for members."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import quote as url_quote

from faqbot.index import DocInfo
from faqbot.models import OptOutProcedure
from faqbot.slack.blocks.answers import personal_note_text
from faqbot.slack.blocks.kit import (
    Block,
    Message,
    code,
    context,
    escape,
    header,
    lines_to_sections,
    link,
    message,
    section,
)
from faqbot.slack.blocks.texts import DISCLAIMER
from faqbot.slack.types import Role, Workspace


def mailto(procedure: OptOutProcedure, body: str) -> str:
    """A mailto: URL with the subject and body percent-encoded."""
    return (f"mailto:{url_quote(procedure.email, safe='@')}"
            f"?subject={url_quote(procedure.subject, safe='')}&body={url_quote(body, safe='')}")



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
            f"{code(body)}"))
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
            f"Here is a message you could forward to an owner:\n{code(forward)}"))
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

