"""The Slack layer: ``create_app`` builds the Bolt app, ``runner.run`` serves it.

A question's path: Slack payload → listener → ``Engine.answer`` → ``blocks`` → Slack.
"""
