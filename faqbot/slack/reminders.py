"""One reminder to the owner who recorded an opt-out request that Slack has not confirmed.

``Reminders.check`` sends what is due; ``start`` runs it on a thread every ``interval``
seconds. A reminder is claimed in the store before its DM goes out, so it goes out once even
with several replicas on one database; a DM that fails releases the claim for the next check.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from faqbot.catalog import Catalog
from faqbot.slack.blocks.opt_out_status import reminder_message
from faqbot.slack.directory import Directory
from faqbot.slack.failures import failed
from faqbot.slack.opt_out_status import OptOutStatus

if TYPE_CHECKING:
    from faqbot.slack.services import SlackServices

log = logging.getLogger("faqbot.slack")

#: How often the running bot looks for due reminders (seconds).
CHECK_EVERY = 3600.0


class Reminders:
    """Finds requests unconfirmed for longer than ``status.reminder_days`` and DMs once."""

    def __init__(self, status: OptOutStatus, client: WebClient, catalog: Catalog,
                 directory: Directory, *, interval: float = CHECK_EVERY,
                 client_for: Callable[[str], WebClient | None] | None = None) -> None:
        self.status = status
        self.client = client
        #: the client for one workspace's record (OAuth: that install's token), None if gone
        self.client_for = client_for or (lambda _workspace: client)
        self.catalog = catalog
        self.directory = directory
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> int:
        """Send every reminder due now (by ``status.clock``); returns how many went out."""
        today = self.status.today()
        before = today - dt.timedelta(days=self.status.reminder_days)
        sent = 0
        for record in self.status.store.due_reminders(before):
            user = record.reminder_user
            client = self.client_for(record.workspace)
            if client is None:  # not installed there (any more): nobody to send it with
                continue
            if not user or not self.status.store.claim_reminder(record.workspace,
                                                                 self.status.now()):
                continue
            message = reminder_message(record, self.catalog.view().opt_out,
                                       self.directory.workspace(client, record.workspace),
                                       self.status.reminder_days, today)
            try:
                client.chat_postMessage(channel=user, unfurl_links=False,
                                             unfurl_media=False, **message.kwargs())
            except Exception as exc:
                failed("opt-out reminder", exc)
                self.status.store.release_reminder(record.workspace)
                continue
            sent += 1
            log.info("opt-out reminder sent workspace=%s user=%s", record.workspace, user)
        return sent

    def start(self) -> None:
        """Check now and then every ``interval`` seconds until ``stop``."""
        self._thread = threading.Thread(target=self._loop, name="faqbot-reminders",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception as exc:  # the store or Slack down: try again next time
                failed("opt-out reminder check", exc)
            self._stop.wait(self.interval)


def start_reminders(client: WebClient, services: SlackServices, *,
                    interval: float = CHECK_EVERY) -> Reminders:
    """Start the reminder loop for ``services`` (``services.close()`` stops it)."""
    install = services.install
    reminders = Reminders(services.opt_out, client, services.catalog, services.directory,
                          interval=interval,
                          client_for=(None if install is None
                                      else lambda team: install.client_for(client, team)))
    services.reminders = reminders
    reminders.start()
    return reminders
