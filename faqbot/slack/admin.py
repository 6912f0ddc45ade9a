"""What admins get: hot reload wired to the running bot, DMs when it fails, the status report.

Admins are the user ids in ``FAQBOT_ADMIN_USER_IDS``. Nothing here touches a question: the
status is made of index metadata, the reloader's last result and counters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Sequence

from slack_sdk import WebClient

from faqbot.reload import Reloader
from faqbot.search import Engine
from faqbot.service import StartupNotice
from faqbot.settings import Settings
from faqbot.slack.blocks import admin_notice
from faqbot.slack.failures import failed
from faqbot.slack.services import SlackServices
from faqbot.slack.types import AdminStatus, StaleDocument
from faqbot.state.shared import RedisSeen

log = logging.getLogger("faqbot.slack")


def collect_status(services: SlackServices, today: dt.date | None = None) -> AdminStatus:
    """The admin status, from the index version in service when called."""
    view = services.catalog.view()
    today_iso = (today or dt.date.today()).isoformat()
    stale = tuple(StaleDocument(d.path, d.title, d.review_by) for d in view.documents
                  if d.review_by is not None and d.review_by < today_iso)
    outcomes = services.outcomes.counts()
    return AdminStatus(
        version=view.version,
        built_at=view.built_at,
        documents=len(view.documents),
        passages=view.passages,
        faq_entries=len(view.faq),
        model_id=view.model_id,
        reload=services.reloader.status if services.reloader is not None else None,
        answered=outcomes["answered"],
        declined=outcomes["declined"],
        feedback=services.feedback.counts(),
        stale=stale,
    )


def notice_key(text: str) -> str:
    """The id of an admin notice across replicas: a hash of its text (the text says what
    happened and which version is served, so replicas seeing one event write the same)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class AdminNotifier:
    """The Reloader's ``notify``: a DM (chat.postMessage to the user id) to every admin.

    A failed DM is logged by class, place and Slack error code only, and the next admin is
    still told. An entry ``TEAM:USER`` is told with the token of that workspace or org
    (``client_for``, OAuth mode); a bare id with ``client`` (one static token). With ``once``
    (Redis, when replicas share it), a notice another replica already sent within
    ``NOTICE_TTL_S`` is not sent again; while Redis can't say, it is sent.
    """

    def __init__(self, client: WebClient, admin_ids: Sequence[str],
                 client_for: Callable[[str], WebClient | None] | None = None,
                 once: RedisSeen | None = None) -> None:
        self.client = client
        self.admin_ids = tuple(admin_ids)
        self.client_for = client_for
        self.once = once

    def _route(self, entry: str) -> tuple[WebClient | None, str]:
        where, _, user_id = entry.rpartition(":")
        if self.client_for is None:
            return self.client, user_id
        return (self.client_for(where) if where else None), user_id

    def __call__(self, text: str) -> None:
        if not self.admin_ids:
            log.warning("reload failed and FAQBOT_ADMIN_USER_IDS is empty: no admin to tell")
            return
        key = notice_key(text)
        if self.once is not None and self.once.first_time(key) is False:
            log.info("admin notice %s already sent by another replica", key[:12])
            return
        message = admin_notice(text)
        for entry in self.admin_ids:
            client, user_id = self._route(entry)
            if client is None:
                log.warning("admin %s not told: no install for its workspace (write "
                            "FAQBOT_ADMIN_USER_IDS as TEAM_ID:USER_ID)", user_id)
                continue
            try:
                client.chat_postMessage(channel=user_id, unfurl_links=False,
                                             unfurl_media=False, **message.kwargs())
                log.info("admin notified of a reload result user=%s", user_id)
            except Exception as exc:
                failed("admin notice", exc)


def start_reloader(client: WebClient, services: SlackServices, settings: Settings,
                   engine: Engine, *, debounce_ms: int | None = None) -> Reloader:
    """Watch the knowledge folder for ``engine`` (``services.reloader``) and start it."""
    options = {} if debounce_ms is None else {"debounce_ms": debounce_ms}
    install = services.install
    notify = AdminNotifier(client, settings.admin_user_ids,
                           client_for=(None if install is None
                                       else lambda team: install.client_for(client, team)),
                           once=services.notices)
    reloader = Reloader(settings, engine, notify=notify, **options)
    services.reloader = reloader
    reloader.start()
    return reloader


def tell_startup(services: SlackServices, reloader: Reloader, notice: StartupNotice) -> None:
    """Knowledge files in error at start-up: the status says so, the admins get a DM (on the
    admin pool, once the app runs)."""
    reloader.failed_at_start(notice.problems)
    text = notice.text()
    services.admin_work.run("admin start-up notice", lambda: reloader.tell(text),
                            lambda _message: None)


def stop_reloader(services: SlackServices | None) -> None:
    """Stop the watcher, if one runs (safe to call twice)."""
    if services is not None and services.reloader is not None:
        services.reloader.stop()
        log.info("stopped watching the knowledge folder")
