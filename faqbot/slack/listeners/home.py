"""The App Home tab: a per-user view published when the user opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from faqbot.slack.blocks import home_view
from faqbot.slack.bot import Bot, log

EVENTS = ("app_home_opened",)


def register(app: App, bot: Bot) -> None:
    """Register the App Home listener."""

    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        user_id = event.get("user")
        if event.get("tab") != "home" or not user_id:
            return  # the Messages tab needs nothing from us
        try:
            snapshot = bot.engine.snapshot
            view = home_view(snapshot, user_id, faq=bot.outcomes.most_asked(snapshot.faq))
            client.views_publish(user_id=user_id, view=view)
            log.info("home published user=%s", user_id)
        except Exception as exc:
            bot.failed("views.publish", exc)
