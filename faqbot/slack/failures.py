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
        # Slack's error body is a JSON object, but a proxy's may be a list, a string, bytes
        data = getattr(exc.response, "data", None)
        code = data.get("error") if isinstance(data, dict) else None
        if isinstance(code, str) and _ERROR_CODE.match(code):
            return code
    return "-"


def failed(what: str, exc: BaseException, qhash: str = "-") -> None:
    """Log a failure by class, place and Slack error code only: never its message."""
    log.warning("%s failed: %s slack_error=%s q=%s", what, describe_exception(exc),
                slack_error_code(exc), qhash)


def fatal_cause(exc: BaseException) -> str:
    """What stopped the start, for its one line: Slack's error code ('invalid_auth'), the
    system's reason ('No space left on device'), else the class and place. An exception's
    own message is never used: it could quote anything."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        code = slack_error_code(link)
        if code != "-":
            return f"Slack refused the start: {code}"
        if isinstance(link, OSError) and link.strerror:
            return f"{type(link).__name__}: {link.strerror}"
        link = link.__cause__ or link.__context__
    return describe_exception(exc)
