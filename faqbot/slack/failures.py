"""Failures in the Slack layer are logged by class, place and Slack error code: never a message."""

from __future__ import annotations

import logging
import re

from slack_sdk.errors import SlackApiError

from faqbot.privacy import describe_exception

log = logging.getLogger("faqbot.slack")

_ERROR_CODE = re.compile(r"^[a-z_]{1,60}$")


def slack_error_code(exc: BaseException) -> str:
    """Slack's short error code ('ratelimited', 'channel_not_found') or '-'; never a message."""
    if isinstance(exc, SlackApiError):
        code = exc.response.get("error") if exc.response is not None else None
        if isinstance(code, str) and _ERROR_CODE.match(code):
            return code
    return "-"


def failed(what: str, exc: BaseException, qhash: str = "-") -> None:
    """Log a failure by class, place and Slack error code only: never its message."""
    log.warning("%s failed: %s slack_error=%s q=%s", what, describe_exception(exc),
                slack_error_code(exc), qhash)
