"""Slack listeners, one module per kind, each with ``register(app)``.

The callbacks are module-level functions taking Bolt's injected arguments; the services they
use arrive in ``context`` (``faqbot.slack.services.services_of``).
"""

from __future__ import annotations

from slack_bolt import App

from faqbot.slack.listeners import actions, commands, events, home, opt_out_status, shortcuts


def register_all(app: App) -> None:
    """Register every listener on the app."""
    commands.register(app)
    events.register(app)
    home.register(app)
    actions.register(app)
    opt_out_status.register(app)
    shortcuts.register(app)
