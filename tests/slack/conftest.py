"""Fixtures for tests/slack (defined in slack_fakes.py, shared with tests/test_privacy.py)."""

from tests.slack.slack_fakes import (  # noqa: F401
    _every_reply_within_limits,
    app,
    engine,
    fake,
    fake_slack,
    index_dir,
    restore_logging,
    served,
    services,
    slack,
    slack_settings,
    socket_mode,
)
