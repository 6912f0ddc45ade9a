"""The HTTP edge in front of Bolt: a request is checked and parsed here before Bolt sees it.

Two things Bolt 1.30 does with a raw HTTP body are worked around here, without patching it:

- ``slack_bolt.request.internals.parse_body`` takes any form body that *contains* the word
  "payload" for an interactivity post and looks for a ``payload=`` field; a slash command
  like ``/privacy Is the message payload encrypted?`` (or a channel named ``payload-team``)
  then parses to ``{}`` and gets a 404. Here the body is parsed by its real shape, and the
  parsed body is handed to the ``BoltRequest`` Bolt built (the raw body stays, so Bolt
  still checks the signature over exactly what Slack signed).
- A malformed request (a non-numeric timestamp header, JSON that is not an object or is
  nested past Python's recursion limit, bytes that are not UTF-8) made Bolt raise past its
  own handlers: a 500 and a long traceback per request. Here it is a 400 (401 for the
  timestamp, which is part of the signature) and one short log line, with no body in it.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request.internals import build_context

log = logging.getLogger("faqbot.slack")

#: Slack's requests are a few kB; anything far larger is not from Slack.
MAX_BODY_BYTES = 1_000_000
#: JSON deeper than this is not a Slack envelope (Slack's go a few levels deep).
MAX_JSON_DEPTH = 64


_BODIES = {400: "bad request\n", 401: "unauthorized\n", 413: "body too large\n"}


class Rejected(Exception):
    """A request refused at the edge: ``status`` and a reason fit for a log line."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when brackets nest deeper than ``limit`` (strings skipped); linear, no recursion."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def _json_object(text: str, what: str) -> dict[str, Any]:
    if _too_deep(text):
        raise Rejected(400, f"{what} nested too deep")
    try:
        value = json.loads(text)
    except ValueError:
        raise Rejected(400, f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Rejected(400, f"{what} is JSON but not an object")
    return value


def parse_slack_body(raw: str, content_type: str | None) -> dict[str, Any]:
    """The body as Slack means it: a JSON envelope, an interactivity ``payload=`` form, or
    a plain form (a slash command), whatever words the text holds. Raises Rejected."""
    if not raw:
        return {}
    if content_type == "application/json" or raw.startswith("{"):
        return _json_object(raw, "JSON body")
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" in fields:
        return _json_object(fields["payload"], "payload field")
    return fields


def _check_timestamp(headers: dict[str, Any]) -> None:
    values = headers.get("x-slack-request-timestamp")
    value = values[0] if isinstance(values, list | tuple) and values else values
    if value is not None and not str(value).strip().isdigit():
        raise Rejected(401, "timestamp header is not a number")


class EdgeRequestHandler(SlackRequestHandler):
    """Bolt's WSGI handler with the checks above; Bolt does everything else as before."""

    def __init__(self, app: App, path: str) -> None:
        super().__init__(app, path=path)

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        try:
            bolt_request = edge_request(request)
        except Rejected as exc:
            log.warning("request rejected at the edge: status=%d reason=%s", exc.status,
                        exc.reason)
            return BoltResponse(status=exc.status, body=_BODIES.get(exc.status, "rejected\n"),
                                headers={"content-type": ["text/plain;charset=utf-8"]})
        return self.app.dispatch(bolt_request)


def edge_request(request: WsgiHttpRequest) -> BoltRequest:
    """The BoltRequest for one WSGI request, checked and parsed as above; raises Rejected."""
    try:
        length = int(request.environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Rejected(400, "Content-Length is not a number") from None
    if length > MAX_BODY_BYTES:
        raise Rejected(413, "body too large")
    headers = request.get_headers()
    normalised = {k.lower(): [v] if isinstance(v, str) else list(v) for k, v in headers.items()}
    _check_timestamp(normalised)
    try:
        raw = request.get_body()
    except UnicodeDecodeError:
        raise Rejected(400, "body is not UTF-8") from None
    content_type = (normalised.get("content-type") or [""])[0].split(";")[0].strip() or None
    body = parse_slack_body(raw, content_type)
    bolt_request = BoltRequest(body=raw, query=request.query_string, headers=headers)
    if bolt_request.body != body:  # Bolt's "payload" substring rule misread the body
        bolt_request.body = body
        bolt_request.context = build_context(BoltContext({}), body)
    return bolt_request
