"""The fixed sentences and button action ids the Slack layer uses."""

from __future__ import annotations

ACTION_SHARE = "share_answer"
ACTION_HELPFUL = "feedback_helpful"
ACTION_NOT_HELPFUL = "feedback_not_helpful"
ACTION_ASK_FAQ = "ask_faq"
ACTION_OPT_OUT = "opt_out_guide"
#: Every action id a rendered button can carry (the actions listener handles each).
ACTIONS = (ACTION_SHARE, ACTION_HELPFUL, ACTION_NOT_HELPFUL, ACTION_ASK_FAQ, ACTION_OPT_OUT)

FRIENDLY_ERROR = (
    "Sorry, something went wrong on my side and I couldn't answer. Please try again in a minute."
)
BUSY = (
    "I have too many questions queued right now to answer yours soon. Please ask again in a "
    "few minutes."
)
EXPIRED = "That answer isn't in the current documents any more. Please ask again."
THANKS = "Thanks for the feedback. I only count it; I don't keep who said what."
NO_PROCEDURE = (
    "The documents I have don't describe an opt-out procedure. "
    "Try `/privacy how do I opt out?` for what they do say."
)
#: OAuth mode, a request from a workspace with no install (never installed, or removed)
NOT_INSTALLED = ("faqbot is not installed in this workspace (any more), so it cannot answer "
                 "here. A workspace admin can install it again.")
NOT_ALLOWED = "Sorry, I can't do that for you. Try `/privacy help` for what I can do."
DISCLAIMER = "I quote the documents and cite them; check the source before relying on an answer."

USAGE = (
    "• `/privacy <your question>`: a private answer, quoted from the documents, with sources\n"
    "• `/privacy opt-out`: how your workspace can opt out, step by step\n"
    "• `/privacy have we opted out?`: whether this workspace did, as its owners recorded it\n"
    "• `/privacy about`: what I store (nothing of your question) and where answers come from\n"
    "• Or send me a direct message, or mention me in a channel and I'll answer in a thread."
)


ADMIN_USAGE = (
    "*Admin* (only admins see this):\n"
    "• `/privacy admin status`: index version, documents, last reload, counters, stale documents\n"
    "• `/privacy admin reload`: re-read the knowledge folder now\n"
    "• `/privacy admin rollback`: go back to the previous index version\n"
    "• `/privacy admin gaps`: what people ask that the documents don't answer (counts per "
    "nearest FAQ entry or section, per week; no questions are kept)\n"
    "• `/privacy admin opt-out status|requested [DATE]|confirmed [DATE]|declined [REASON]|"
    "reset`: this workspace's opt-out status (owners can change it too)"
)

