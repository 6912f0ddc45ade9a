"""Block Kit rendering: every dict sent to Slack is built in this package.

``kit`` holds the primitives and Slack's limits, ``texts`` the fixed sentences and action ids;
``answers``, ``pages`` (help, about, App Home), ``opt_out`` and ``admin`` render one kind of
message each. Nothing here sees a user's question. The names the listeners use are
re-exported here.
"""

from faqbot.slack.blocks.admin import (
    admin_failure,
    admin_gaps_message,
    admin_help,
    admin_notice,
    admin_reload_message,
    admin_rollback_message,
    admin_status_message,
)
from faqbot.slack.blocks.answers import (
    QUOTE_MAX,
    answer_message,
    citation,
    decline_message,
    decode_ref,
    decode_thread,
    encode_ref,
    personal_note,
    quote,
)
from faqbot.slack.blocks.kit import (
    Message,
    divider,
    escape,
    finalize,
    header,
    link,
    message,
    notice,
    section,
    truncate,
)
from faqbot.slack.blocks.opt_out import opt_out_message
from faqbot.slack.blocks.pages import about_message, help_message, home_view
from faqbot.slack.blocks.texts import (
    ACTION_ASK_FAQ,
    ACTION_HELPFUL,
    ACTION_NOT_HELPFUL,
    ACTION_OPT_OUT,
    ACTION_SHARE,
    ACTIONS,
    BUSY,
    EXPIRED,
    FRIENDLY_ERROR,
    NO_PROCEDURE,
    NOT_ALLOWED,
    NOT_INSTALLED,
    THANKS,
)

__all__ = [
    "ACTIONS", "ACTION_ASK_FAQ", "ACTION_HELPFUL", "ACTION_NOT_HELPFUL", "ACTION_OPT_OUT",
    "ACTION_SHARE", "BUSY", "EXPIRED", "FRIENDLY_ERROR", "NOT_ALLOWED", "NOT_INSTALLED",
    "NO_PROCEDURE",
    "QUOTE_MAX", "THANKS", "Message", "about_message", "admin_failure", "admin_gaps_message",
    "admin_help", "admin_notice", "admin_reload_message", "admin_rollback_message",
    "admin_status_message", "answer_message", "citation", "decline_message", "decode_ref",
    "decode_thread", "divider", "encode_ref", "escape", "finalize", "header", "help_message",
    "home_view", "link", "message", "notice", "opt_out_message", "personal_note", "quote",
    "section", "truncate"
]
