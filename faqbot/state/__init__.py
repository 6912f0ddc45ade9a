"""Lasting state: what must survive a restart or a reload, kept in a small database.

The only lasting state so far is each workspace's opt-out status (``opt_out``). SQLite under
``FAQBOT_STATE_DIR`` is the embedded default; ``FAQBOT_DATABASE_URL`` points the same code at
any database SQLAlchemy speaks to (Postgres). Nothing here ever holds a question or a message.
"""

from faqbot.state.opt_out import (
    DECLINE_REASONS,
    ChangeEntry,
    OptOutRecord,
    OptOutStore,
    SqlOptOutStore,
    open_opt_out_store,
)

__all__ = ["DECLINE_REASONS", "ChangeEntry", "OptOutRecord", "OptOutStore", "SqlOptOutStore",
           "open_opt_out_store"]
