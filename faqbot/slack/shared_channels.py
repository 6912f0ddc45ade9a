"""Channels shared with another organisation (Slack Connect): answers there stay private, and
internal documents are never quoted in them.

Whether a channel is shared comes from the payload when it says (``is_ext_shared_channel``),
else from ``conversations.info`` (cached for a few minutes: a channel id and a bool, nothing
else). When faqbot can't tell (no channel, a look-up refused, a private channel it cannot
read), it treats the channel as shared: the safe mistake is a private answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from faqbot.models import Answer
from faqbot.slack.failures import failed

#: How long a channel's shared state is kept before Slack is asked again.
TTL_SECONDS = 600.0
#: The private reply to a mention in a shared channel, before the answer.
SHARED_NOTE = ("This channel is shared with another organisation, so I answer here privately "
               "and don't quote internal documents.")
NO_SHARE = ("This channel is shared with another organisation, so answers stay private "
            "here.")


class SharedChannels:
    """``is_shared(client, channel, hint)`` with a small cache of channel ids."""

    def __init__(self, ttl: float = TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._known: dict[str, tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def is_shared(self, client: WebClient, channel: str | None, hint: Any = None) -> bool:
        """True for a channel shared with another organisation, or one faqbot can't tell."""
        if isinstance(hint, bool):
            return hint
        if isinstance(hint, str) and hint in ("true", "false"):
            return hint == "true"
        if not channel:
            return True
        if channel.startswith("D"):  # the asker's own DM with the bot
            return False
        now = self._clock()
        with self._lock:
            found = self._known.get(channel)
            if found is not None and found[1] > now:
                return found[0]
        try:
            info = client.conversations_info(channel=channel).get("channel")
        except Exception as exc:
            failed("conversations.info", exc)
            return True
        if not isinstance(info, dict) or "is_ext_shared" not in info:
            return True
        shared = bool(info.get("is_ext_shared") or info.get("is_pending_ext_shared"))
        with self._lock:
            self._known[channel] = (shared, now + self._ttl)
        return shared


def without_internal(answer: Answer, internal_docs: frozenset[str]) -> Answer:
    """The answer with no passage of an internal document and no FAQ answer resting on one;
    declined when nothing is left to show."""
    hits = tuple(h for h in answer.hits if h.passage.kind != "internal")
    faq = answer.faq
    if faq is not None and any(src.doc in internal_docs for src in faq.sources):
        faq = None
    if hits == answer.hits and faq is answer.faq:
        return answer
    if not hits and faq is None:
        return answer.model_copy(update={"answered": False, "hits": (), "faq": None,
                                         "reason": answer.reason or "out_of_scope"})
    return answer.model_copy(update={"hits": hits, "faq": faq})
