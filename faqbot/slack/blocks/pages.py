"""Help, about and the App Home: what the bot does and the documents it answers from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faqbot.catalog import CatalogView
from faqbot.index import DocInfo
from faqbot.models import FaqEntry
from faqbot.slack.blocks.answers import faq_button
from faqbot.slack.blocks.kit import (
    HOME_BLOCKS_MAX,
    Block,
    Message,
    actions,
    button,
    button_rows,
    context,
    divider,
    escape,
    finalize,
    header,
    lines_to_sections,
    link,
    mention,
    message,
    section,
)
from faqbot.slack.blocks.texts import ACTION_OPT_OUT, ADMIN_USAGE, DISCLAIMER, USAGE


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
        blocks += button_rows([faq_button(e) for e in shown])
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


def about_message(view: CatalogView, *, event_id_minutes: int) -> Message:
    """Exactly what the bot keeps, and the documents its answers come from."""
    stored = (
        "*Your questions are not stored.* A question is read, answered and forgotten: it is "
        "not written to disk, cached, logged, or sent anywhere but back to you in Slack.\n\n"
        "*What I keep* (in memory only, gone when I restart):\n"
        "• counts of *Helpful* / *Not helpful* clicks per answer id (not who clicked)\n"
        "• how many questions were answered and declined, and how often each FAQ topic "
        "matched (to list the most asked topics first; not who asked, nor what)\n"
        "• coverage gaps for admins: per week, how many declines and *Not helpful* clicks "
        "fell nearest to each FAQ entry or document section (ids and counts, never the "
        "question)\n"
        f"• Slack event ids for {event_id_minutes} minutes, so a redelivered event "
        "isn't answered twice\n"
        "• this workspace's name and URL, to fill in the opt-out email\n\n"
        "*What I keep on disk* (until an owner deletes it with `/privacy admin opt-out "
        "reset`): this workspace's opt-out status as its owners recorded it: requested, "
        "confirmed or declined, the dates, a reason from a fixed list, which role (not who) "
        "recorded each change and when; while a request waits for Slack, the Slack id of the "
        "owner who recorded it, for one reminder.\n\n"
        "*Logs* hold ids (user, channel, event), counts, timings and an 8-character keyed "
        "fingerprint of each question that cannot be turned back into it."
    )
    docs = view.documents
    sources = (f"*Where answers come from*: {len(docs)} document(s) and {len(view.faq)} "
               f"curated FAQ answers that cite them (index version `{escape(view.version)}`).")
    blocks = [header("What faqbot stores, and where answers come from"), section(stored),
              divider(), section(sources), *lines_to_sections(document_line(d) for d in docs),
              context(DISCLAIMER + " When the documents don't answer a question, I say so.")]
    text = ("Your questions are not stored. I keep only counts (clicks per answer id, answers "
            f"per FAQ topic) and event ids for {event_id_minutes} minutes. Answers come from "
            f"{len(docs)} documents.")
    return message(text, blocks)



def home_view(view: CatalogView, user_id: str | None, *, questions: int = 20,
              faq: Sequence[FaqEntry] | None = None,
              status: Sequence[Block] = (), gaps: Sequence[str] | None = None) -> dict[str, Any]:
    """The App Home tab for one user: what the bot does, the workspace's opt-out status,
    common questions, opt-out, documents.

    ``faq``: the entries in the order to show them (default: the curated order); ``status``:
    the blocks of the live opt-out status; ``gaps``: the coverage-gap lines, for an admin.
    """
    hello = f"Hi {mention(user_id)}! " if mention(user_id) else "Hi! "
    blocks: list[Block] = [
        header("Privacy questions, answered from cited documents"),
        section(hello + "I answer questions about how your data is used, quoting the documents "
                "listed below. Ask with `/privacy <question>`, send me a message in the "
                "*Messages* tab, or mention me in a channel. I don't store your questions."),
        divider(),
    ]
    if status:
        blocks += [*status, divider()]
    faq = list((view.faq if faq is None else faq)[:questions])
    if faq:
        blocks.append(section("*Common questions*: I'll answer in our direct messages."))
        blocks += button_rows([faq_button(e) for e in faq])
        blocks.append(divider())
    procedure = view.opt_out
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
    if gaps is not None:  # admins only
        blocks.append(section("*Coverage gaps* (admins only): declines and *Not helpful* "
                              "clicks of the last four weeks by nearest FAQ entry or section"))
        blocks += lines_to_sections(gaps) if gaps else [context("None counted.")]
        blocks.append(divider())
    blocks.append(section(f"*Documents* ({len(view.documents)}, index version "
                          f"`{escape(view.version)}`)"))
    blocks += lines_to_sections(document_line(d) for d in view.documents)
    blocks.append(context("Nothing you ask is stored. `/privacy about` says exactly what is."))
    return {"type": "home", "blocks": finalize(blocks, HOME_BLOCKS_MAX)}

