"""Slack's agent view (the AI-app surface in the top bar): suggested prompts and a status.

Both calls are best effort. A workspace without the agent view (a free plan, an app installed
before the manifest had ``features.agent_view``) answers them with an error; faqbot then keeps
its plain DM path, and stops asking that workspace for the life of the app (``AgentView``, one
per ``SlackServices``), so a free workspace costs one failed call, not one per message.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from slack_sdk import WebClient

from faqbot.models import FaqEntry
from faqbot.slack.failures import failed, slack_error_code

#: Prompts the agent view shows at most (Slack's limit is four).
MAX_PROMPTS = 4
#: Slack's limits on a prompt's title and message.
TITLE_MAX, MESSAGE_MAX = 75, 250
STATUS = "Looking through the privacy documents…"
#: Errors that mean "this workspace has no agent view": not worth asking again.
UNAVAILABLE = frozenset({"not_allowed", "not_allowed_token_type", "missing_scope",
                         "feature_not_enabled", "method_deprecated", "unknown_method",
                         "invalid_thread_ts", "not_an_assistant_thread"})

def prompts_for(entries: Sequence[FaqEntry]) -> list[dict[str, str]]:
    """The most asked FAQ questions as agent-view prompts (title and message), at most four."""
    out = []
    for entry in entries[:MAX_PROMPTS]:
        title = entry.question if len(entry.question) <= TITLE_MAX else (
            entry.question[: TITLE_MAX - 1].rstrip() + "…")
        out.append({"title": title, "message": entry.question[:MESSAGE_MAX]})
    return out


class AgentView:
    """The two agent-view calls, and the workspaces that turned out not to have it."""

    def __init__(self) -> None:
        self._unavailable: set[str] = set()  # workspace (team) ids
        self._lock = threading.Lock()

    def _available(self, team: str) -> bool:
        with self._lock:
            return team not in self._unavailable

    def _note(self, team: str, exc: BaseException, what: str) -> None:
        if slack_error_code(exc) in UNAVAILABLE:
            with self._lock:
                self._unavailable.add(team)
        failed(what, exc)

    def suggest_prompts(self, client: WebClient, team: str, channel: str,
                        entries: Sequence[FaqEntry]) -> bool:
        """Show the most asked questions as the agent view's prompts (no thread: the DM)."""
        prompts = prompts_for(entries)
        if not prompts or not self._available(team):
            return False
        try:
            client.assistant_threads_setSuggestedPrompts(channel_id=channel, prompts=prompts)
            return True
        except Exception as exc:
            self._note(team, exc, "assistant.threads.setSuggestedPrompts")
            return False

    def show_status(self, client: WebClient, team: str, channel: str, thread_ts: str) -> bool:
        """"Looking through the privacy documents…" while a DM answer is computed; Slack
        clears it when the answer is posted in the thread."""
        if not self._available(team):
            return False
        try:
            client.assistant_threads_setStatus(channel_id=channel, thread_ts=thread_ts,
                                               status=STATUS)
            return True
        except Exception as exc:
            self._note(team, exc, "assistant.threads.setStatus")
            return False
