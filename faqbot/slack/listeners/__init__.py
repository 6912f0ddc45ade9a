"""Slack listeners, one module per kind, each with ``register(app, bot)``."""

from __future__ import annotations

from slack_bolt import App

from faqbot.slack.bot import Bot
from faqbot.slack.listeners import actions, commands, events, home


def register_all(app: App, bot: Bot) -> None:
    """Register every listener on the app."""
    commands.register(app, bot)
    events.register(app, bot)
    home.register(app, bot)
    actions.register(app, bot)
