"""Getting a reply to Slack: retries with backoff that honour Retry-After, and what an
unknown outcome means.

- A 429 or a 5xx (and, on a ``response_url``, a 404: Slack answers it while the URL is not
  yet, or briefly not, known to the edge that got the post) is retried up to
  ``MAX_RETRIES`` times: after ``Retry-After`` seconds when Slack says so (capped), else
  after an exponential backoff with jitter.
- A timeout is never retried and never followed by the failure notice: Slack may well have
  accepted the reply, and a user must not get an answer *and* "Sorry, something went wrong".
  It is raised as :class:`DeliveryUnknown`, which the work queue logs and leaves at that.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.error import URLError

from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

from faqbot.errors import FaqbotError
from faqbot.privacy import quiet_logger

#: Retries after the first attempt (so at most 1 + MAX_RETRIES posts of one reply).
MAX_RETRIES = 3
#: The first backoff, doubled each time (plus up to 50 % jitter).
BACKOFF_S = 0.5
#: A Retry-After longer than this is not waited for in full (the user is waiting).
MAX_WAIT_S = 30.0
#: How long one post to a response_url may take before its outcome counts as unknown.
RESPONSE_URL_TIMEOUT_S = 10

Sleep = Callable[[float], None]


class DeliveryUnknown(FaqbotError):
    """A reply's HTTP call timed out: Slack may have accepted it (no notice is sent)."""


class DeliveryFailed(FaqbotError):
    """Slack refused a reply after every retry (the status code only)."""


def retry_after(response: HttpResponse | None) -> float | None:
    """Seconds from a Retry-After header (a number of seconds), None when absent or not one."""
    if response is None:
        return None
    for key, values in response.headers.items():
        if key.lower() == "retry-after":
            value = values[0] if isinstance(values, list | tuple) else values
            try:
                seconds = float(str(value).strip())
            except ValueError:
                return None  # an HTTP date: fall back to the backoff
            return max(0.0, seconds) if seconds == seconds else None  # NaN
    return None


class SlackRetryHandler(RetryHandler):
    """Retries 429 and 5xx (and ``extra_statuses``) with backoff, honouring Retry-After."""

    def __init__(self, *, max_retry_count: int = MAX_RETRIES,
                 extra_statuses: frozenset[int] = frozenset(), sleep: Sleep = time.sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.extra_statuses = extra_statuses
        self.sleep = sleep

    def _can_retry(self, *, state: RetryState, request: HttpRequest,
                   response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        if response is None:
            return False
        status = response.status_code
        return status == 429 or 500 <= status <= 599 or status in self.extra_statuses

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None,
                                 error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        wait = retry_after(response)
        if wait is None:
            wait = BACKOFF_S * (2 ** state.current_attempt) * (1 + random.random() / 2)
        self.sleep(min(wait, MAX_WAIT_S))
        state.increment_current_attempt()


def web_api_retry_handlers() -> list[RetryHandler]:
    """For the WebClient: refused connections (nothing was sent), then 429 and 5xx."""
    from slack_sdk.http_retry import ConnectionErrorRetryHandler

    return [ConnectionErrorRetryHandler(), SlackRetryHandler()]


def is_timeout(exc: BaseException) -> bool:
    """A timed-out HTTP call: urllib raises TimeoutError, or a URLError wrapping one."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return True
    return isinstance(exc, URLError) and isinstance(exc.reason, TimeoutError | socket.timeout)


@contextmanager
def delivering() -> Iterator[None]:
    """Around one reply's HTTP call: a timeout becomes :class:`DeliveryUnknown`."""
    try:
        yield
    except Exception as exc:
        if is_timeout(exc):
            raise DeliveryUnknown("the reply timed out; Slack may have accepted it") from None
        raise


def post_to_response_url(url: str, message: dict[str, Any]) -> int:
    """POST ``message`` to a response_url with the retries above; the final status code.

    Raises DeliveryUnknown on a timeout and DeliveryFailed when every attempt was refused.
    """
    webhook = WebhookClient(url=url, timeout=RESPONSE_URL_TIMEOUT_S,
                            logger=quiet_logger("slack_sdk.webhook.faqbot"),
                            retry_handlers=[_connection_retry(),
                                            SlackRetryHandler(extra_statuses=frozenset({404}))])
    with delivering():
        response = webhook.send_dict({k: v for k, v in message.items() if v is not None})
    if response.status_code != 200:
        raise DeliveryFailed(f"response_url refused the reply: status {response.status_code}")
    return response.status_code


def _connection_retry() -> RetryHandler:
    from slack_sdk.http_retry import ConnectionErrorRetryHandler

    return ConnectionErrorRetryHandler()
