"""The App Home tab: a per-user view published when the user opens it."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from faqbot.slack.blocks import home_view
from faqbot.slack.blocks.admin import gap_lines
from faqbot.slack.failures import failed
from faqbot.slack.opt_out_status import home_status, workspace_key
from faqbot.slack.services import services_of

log = logging.getLogger("faqbot.slack")


def home_opened(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Publish the Home tab for the user who opened it; on the Messages tab (the agent view's
    DM), offer the most asked questions as suggested prompts."""
    user_id = event.get("user")
    if event.get("tab") == "messages" and user_id and event.get("channel"):
        services = services_of(context)
        services.agent_view.suggest_prompts(
            client, context.team_id or "-", event["channel"],
            services.outcomes.most_asked(services.catalog.view().faq))
        return
    if event.get("tab") != "home" or not user_id:
        return
    try:
        services = services_of(context)
        view = services.catalog.view()
        place = workspace_key(context)
        client.views_publish(user_id=user_id,
                             view=home_view(view, user_id,
                                            faq=services.outcomes.most_asked(view.faq),
                                            status=home_status(services.opt_out, place),
                                            gaps=(gap_lines(services.asker.gaps.top())
                                                  if services.is_admin(user_id, place)
                                                  else None)))
        log.info("home published user=%s", user_id)
    except Exception as exc:
        failed("views.publish", exc)


def register(app: App) -> None:
    """Register the App Home listener."""
    app.event("app_home_opened")(home_opened)
