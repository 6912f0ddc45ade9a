"""The Slack layer: ``create_app`` builds the Bolt app, ``runner.run`` serves it.

A question's path: Slack payload → ``listeners`` → ``asking.Asker`` → ``Engine.answer`` →
``Answer`` → ``blocks`` → Slack. The listeners get their services (``services.SlackServices``)
from Bolt's ``context`` and read the knowledge through ``faqbot.catalog``.
"""
