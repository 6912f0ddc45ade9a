"""What admins get: hot reload wired to the running bot, DMs when it fails, the status report.

Admins are the user ids in ``FAQBOT_ADMIN_USER_IDS``. Nothing here touches a question: the
status is made of index metadata, the reloader's last result and counters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from slack_bolt import App
from slack_sdk import WebClient

from faqbot.reload import Reloader, ReloadStatus
from faqbot.settings import Settings
from faqbot.slack.blocks import admin_notice
from faqbot.slack.bot import Bot, log


@dataclass(frozen=True)
class StaleDocument:
    """A document whose ``review_by`` date has passed."""

    path: str
    title: str
    review_by: str


@dataclass(frozen=True)
class AdminStatus:
    """Everything ``/privacy admin status`` shows; counts and metadata only."""

    version: str
    built_at: str | None  # the manifest's ``created`` (UTC, ISO 8601)
    documents: int
    passages: int
    faq_entries: int
    model_id: str
    reload: ReloadStatus | None  # None when hot reload is not running in this process
    answered: int
    declined: int
    feedback: dict[str, dict[str, int]] = field(default_factory=dict)  # id -> verdict -> n
    stale: tuple[StaleDocument, ...] = ()


def collect_status(bot: Bot, today: dt.date | None = None) -> AdminStatus:
    """The admin status of a bot, from the snapshot in service when called."""
    snapshot = bot.engine.snapshot
    today_iso = (today or dt.date.today()).isoformat()
    stale = tuple(StaleDocument(d.path, d.title, d.review_by) for d in snapshot.documents
                  if d.review_by is not None and d.review_by < today_iso)
    outcomes = bot.outcomes.counts()
    created = snapshot.manifest.get("created")
    return AdminStatus(
        version=snapshot.name,
        built_at=created if isinstance(created, str) else None,
        documents=len(snapshot.documents),
        passages=len(snapshot.passages),
        faq_entries=len(snapshot.faq),
        model_id=snapshot.model_id,
        reload=bot.reloader.status if bot.reloader is not None else None,
        answered=outcomes["answered"],
        declined=outcomes["declined"],
        feedback=bot.feedback.counts(),
        stale=stale,
    )


class AdminNotifier:
    """The Reloader's ``notify``: a DM (chat.postMessage to the user id) to every admin.

    A failed DM is logged by class, place and Slack error code only, and the next admin is
    still told.
    """

    def __init__(self, client: WebClient, admin_ids: Sequence[str], bot: Bot) -> None:
        self.client = client
        self.admin_ids = tuple(admin_ids)
        self.bot = bot

    def __call__(self, text: str) -> None:
        if not self.admin_ids:
            log.warning("reload failed and FAQBOT_ADMIN_USER_IDS is empty: no admin to tell")
            return
        message = admin_notice(text)
        for user_id in self.admin_ids:
            try:
                self.client.chat_postMessage(channel=user_id, unfurl_links=False,
                                             unfurl_media=False, **message.kwargs())
                log.info("admin notified of a reload result user=%s", user_id)
            except Exception as exc:
                self.bot.failed("admin notice", exc)


def start_reloader(app: App, settings: Settings, *, debounce_ms: int | None = None) -> Reloader:
    """Watch the knowledge folder for the app's bot (``app.faqbot.reloader``) and start it."""
    bot: Bot = app.faqbot  # type: ignore[attr-defined]
    options = {} if debounce_ms is None else {"debounce_ms": debounce_ms}
    reloader = Reloader(settings, bot.engine,
                        notify=AdminNotifier(app.client, settings.admin_user_ids, bot), **options)
    bot.reloader = reloader
    reloader.start()
    return reloader


def stop_reloader(app: App | None) -> None:
    """Stop the app's watcher, if it has one (safe to call twice)."""
    bot: Bot | None = getattr(app, "faqbot", None)
    if bot is not None and bot.reloader is not None:
        bot.reloader.stop()
        log.info("stopped watching the knowledge folder")
