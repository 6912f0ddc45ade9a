"""Run the bot: Slack in Socket Mode or HTTP mode, or the local demo when no tokens are set."""

from __future__ import annotations

import sys

from faqbot.settings import Settings

DEMO_QUESTIONS = (
    "Does Slack train AI models on my messages?",
    "Can I opt out?",
    "Can the models reproduce what I wrote?",
    "What's the wifi password?",
)

NO_TOKENS = """\
No Slack tokens are set, so faqbot is not connecting to Slack.
  Socket Mode: set SLACK_BOT_TOKEN (xoxb-...) and SLACK_APP_TOKEN (xapp-...)
  HTTP mode:   set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (and PORT, default 3000)
  Many workspaces or a Grid org: SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_SIGNING_SECRET
               and FAQBOT_TOKEN_KEY (docs/install.md)
Meanwhile, here is faqbot answering a few sample questions from the bundled knowledge:
"""


def demo(settings: Settings) -> int:
    """Answer the sample questions locally and print the answers."""
    from faqbot.render_text import render_answer
    from faqbot.service import open_engine

    print(NO_TOKENS, flush=True)
    engine = open_engine(settings, on_build=lambda r: print(r.summary(), flush=True))
    for question in DEMO_QUESTIONS:
        # sample questions are ours, not a user's: printing them is fine
        print(f"\n>>> {question}")
        print(render_answer(engine.answer(question, top_k=settings.top_k)), flush=True)
    return 0


def serve(settings: Settings) -> int:
    """Start whichever mode the settings allow."""
    oauth = settings.slack_client_id or settings.slack_client_secret  # complete or not
    if settings.slack_bot_token is None and not oauth:
        return demo(settings)
    try:
        from faqbot.slack.runner import run
    except ImportError:
        print("faqbot: error: the Slack app is not available in this build", file=sys.stderr)
        return 1
    return run(settings)
