"""The app factory: settings + engine (+ a client in tests) → a configured Bolt App."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient

from faqbot.answerer import Answerer
from faqbot.privacy import describe_exception, quiet_logger
from faqbot.search import Engine
from faqbot.settings import Settings
from faqbot.slack.dedupe import retry_number
from faqbot.slack.delivery import web_api_retry_handlers
from faqbot.slack.listeners import lifecycle, register_all
from faqbot.slack.oauth import app_options, open_oauth
from faqbot.slack.services import CONTEXT_KEY, SlackServices, build_services

log = logging.getLogger("faqbot.slack")

#: Bolt names its per-app loggers after the app; under slack_bolt they stay quiet.
APP_NAME = "slack_bolt.faqbot"
#: Listener threads: each acks first, then hands the work over. Bolt waits for the ack
#: from the request thread, so with fewer threads than requests in flight, acks would queue
#: behind CPU-bound answers (measured: ack p99 1.25 s at concurrency 20 with 4 threads).
LISTENER_POOL = 64


def build_client(settings: Settings) -> WebClient:
    """The Web API client: ``settings.slack_api_url``, retries on refused connections, 429s
    (honouring Retry-After) and 5xx (``faqbot.slack.delivery``)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    if settings.oauth:  # each request gets its install's token; the shared client has none
        token = None
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        logger=quiet_logger("slack_sdk.web.faqbot"),
        retry_handlers=web_api_retry_handlers(),
    )


def create_app(settings: Settings, engine: Engine, client: WebClient | None = None,
               answerer: Answerer | None = None,
               services: SlackServices | None = None) -> App:
    """A Bolt App answering from ``engine``; with ``client`` given, no token check at start-up.

    With ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` set it is an OAuth app
    (``faqbot.slack.oauth``): Bolt's install pages, one token per installed workspace or org,
    and the uninstall listeners (``faqbot.slack.listeners.lifecycle``).

    Call ``faqbot.privacy.configure_logging`` first. The app acks first and answers after
    (``process_before_response=False``) on a pool of ``LISTENER_POOL`` threads, so an ack
    never waits for a free thread. ``services`` (default: ``build_services(settings, engine,
    answerer)``) reach every listener through ``context``; whoever made them closes them.
    """
    injected = client is not None
    secret = settings.slack_signing_secret
    web = client if client is not None else build_client(settings)
    parts = services or build_services(settings, engine, answerer)
    if settings.oauth and parts.install is None:
        parts.install = open_oauth(settings, web)
    app = App(
        name=APP_NAME,
        client=web,
        signing_secret=secret.get_secret_value() if secret else "",
        token_verification_enabled=not injected and parts.install is None,
        process_before_response=False,
        logger=quiet_logger(APP_NAME),
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_POOL,
                                             thread_name_prefix="faqbot-listener"),
        **app_options(parts.install),
    )

    @app.middleware
    def answer_each_event_once(request: BoltRequest, body: dict[str, Any],
                               context: BoltContext, next: Any) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and not parts.deduper.first_time(event_id):
            retry = retry_number(request.headers.get("x-slack-retry-num", [None])[0])
            log.info("duplicate event id=%s retry=%d: skipped", event_id, retry)
            return BoltResponse(status=200, body="")
        context[CONTEXT_KEY] = parts
        return next()

    @app.error
    def on_error(error: Exception) -> None:
        # the listeners catch their own errors; this is the last resort, by class only
        log.warning("unhandled error in a listener: %s", describe_exception(error))

    register_all(app)
    if parts.install is not None:
        lifecycle.register(app, parts.install.store)
    return app
