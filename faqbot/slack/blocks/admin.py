"""What admins see: the status report, reload and rollback outcomes, the failure DM."""

from __future__ import annotations

from collections.abc import Sequence

from faqbot.reload import ReloadStatus
from faqbot.slack.blocks.kit import (
    SECTION_MAX,
    Block,
    Message,
    code,
    context,
    escape,
    header,
    lines_to_sections,
    message,
    section,
    truncate,
)
from faqbot.slack.blocks.texts import ADMIN_USAGE
from faqbot.slack.types import AdminStatus

#: Feedback rows shown in the status (the busiest first).
FEEDBACK_ROWS_MAX = 20


def admin_help() -> Message:
    """The admin commands (for an admin who typed ``/privacy admin`` or an unknown action)."""
    return message("Admin commands: /privacy admin status, reload, rollback, gaps.",
                   [section(ADMIN_USAGE)])


GAP_KINDS = {"declined": "declined", "not_helpful": "Not helpful"}
GAPS_EXPLAINED = ("Declines and *Not helpful* clicks of the last four weeks, by the FAQ entry "
                  "or section nearest to them: where the documents may be missing an answer. "
                  "Only these ids and counts are kept, never what anyone asked.")


def gap_lines(rows: Sequence[tuple[str, str, str, int]]) -> list[str]:
    """One line per (week, kind, key, count): '2026-W49 · 3 declined · FAQ can-i-opt-out'."""
    lines = []
    for week, kind, key, count in rows:
        what, _, name = key.partition(":")
        label = {"faq": "FAQ", "section": "section", "passage": "passage"}.get(what, what)
        lines.append(f"{week} · {count} {GAP_KINDS.get(kind, kind)} · {label} "
                     f"`{escape(truncate(name, 200))}`")
    return lines


def admin_gaps_message(rows: Sequence[tuple[str, str, str, int]]) -> Message:
    """The coverage gaps for ``/privacy admin gaps``."""
    if not rows:
        return message("No coverage gaps counted in the last four weeks.",
                       [section("*Coverage gaps*: nothing declined or marked *Not helpful* in "
                                "the last four weeks."), context(GAPS_EXPLAINED)])
    blocks = [header("Coverage gaps"), context(GAPS_EXPLAINED),
              *lines_to_sections(gap_lines(rows))]
    return message(f"Coverage gaps: {len(rows)} row(s) in the last four weeks.", blocks)


def _error_block(error: str) -> str:
    return code(truncate(error, SECTION_MAX - 200))


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
