"""Serve the Slack app: Socket Mode when SLACK_APP_TOKEN is set, else HTTP behind gunicorn.

HTTP mode runs one gunicorn ``gthread`` worker, so the model loads once, and the worker
loads it before it accepts a request. The model is not loaded in the gunicorn master: PyTorch
used before ``fork()`` leaves the child's OpenMP pool deadlocked on its first inference
(measured with torch 2.13 CPU). The master only checks the knowledge folder, so a broken
folder fails fast with one line. Answers are computed in a spawned worker process of the
server's own (``faqbot.answerer``), ready before the first request is accepted.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App

from faqbot.errors import ConfigError, FaqbotError
from faqbot.privacy import configure_logging, describe_exception
from faqbot.settings import Settings

log = logging.getLogger("faqbot.slack")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
#: gunicorn's code for "the application could not be loaded"; the master then stops.
APP_LOAD_ERROR = 4
#: A silent worker is restarted after this long; generous, as the worker loads the model first.
WORKER_TIMEOUT = 300

StartResponse = Callable[..., Any]


class SlackWSGI:
    """The WSGI app: POST /slack/events → Bolt, GET /healthz → 200 when ready (503 before)."""

    def __init__(self, app: App | None = None) -> None:
        self._handler: Any = None
        self.app: App | None = None
        if app is not None:
            self.attach(app)

    def attach(self, app: App) -> None:
        """Start serving Slack requests with this app (the engine behind it is loaded)."""
        from slack_bolt.adapter.wsgi import SlackRequestHandler

        self._handler = SlackRequestHandler(app, path=EVENTS_PATH)
        self.app = app

    def close(self) -> None:
        """Stop the app's background work (gunicorn calls this as the worker exits)."""
        shutdown(self.app)

    @property
    def ready(self) -> bool:
        return self._handler is not None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            status, body = ("200 OK", b"ok\n") if self.ready else ("503 Service Unavailable",
                                                                  b"loading\n")
            return _plain(start_response, status, body)
        if path == EVENTS_PATH and method == "POST":
            if not self.ready:
                return _plain(start_response, "503 Service Unavailable", b"loading\n")
            try:
                return self._handler(environ, start_response)
            except ValueError as exc:
                # Bolt parses the body before checking its signature: a malformed body (JSON,
                # form) raises here. Answer 400 and log the class only: the server's own
                # error handler would print the traceback with the exception's message.
                log.warning("malformed request rejected: %s", describe_exception(exc))
                return _plain(start_response, "400 Bad Request", b"bad request\n")
        return _plain(start_response, "404 Not Found", b"not found\n")


def _plain(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body)))])
    return [body]


def choose_mode(settings: Settings) -> str:
    """'socket' or 'http'; ConfigError when the tokens for neither are set."""
    bot = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    if not bot.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token (xoxb-...)")
    if settings.slack_app_token is not None:
        if not settings.slack_app_token.get_secret_value().startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token (xapp-...)")
        return "socket"
    secret = settings.slack_signing_secret
    if secret is None or not secret.get_secret_value():
        raise ConfigError("HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for "
                          "Socket Mode)")
    return "http"


def build(settings: Settings, *, debounce_ms: int | None = None) -> App:
    """Load the engine (model + index, building it if stale) and the answer worker, create the
    app, start hot reload.

    The knowledge folder is watched from then on (``app.faqbot.reloader``); a failed reload
    keeps the last good index in service and DMs the admins. Call :func:`shutdown` to stop.
    """
    from faqbot.answerer import make_answerer
    from faqbot.service import open_engine
    from faqbot.slack.admin import start_reloader
    from faqbot.slack.app import create_app

    engine = open_engine(settings, on_build=lambda r: log.info("%s", r.summary()))
    answerer = make_answerer(settings, engine)  # the worker is ready before we listen
    try:
        app = create_app(settings, engine, answerer=answerer)
    except BaseException:
        answerer.close()
        raise
    start_reloader(app, settings, debounce_ms=debounce_ms)
    return app


def shutdown(app: App | None) -> None:
    """Stop what :func:`build` started (watcher, answer worker); safe to call twice."""
    from faqbot.slack.admin import stop_reloader

    stop_reloader(app)
    bot = getattr(app, "faqbot", None)
    if bot is not None:
        bot.close()


def run(settings: Settings) -> int:
    """Configure logging, then serve until stopped; 0 on a clean stop, 1 on a start-up error."""
    configure_logging(settings.log_level)
    try:
        mode = choose_mode(settings)
        if mode == "socket":
            return run_socket_mode(settings)
        return run_http(settings)
    except FaqbotError as exc:
        print(f"faqbot: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # e.g. Slack refusing the token at start-up
        from faqbot.slack.bot import slack_error_code

        print(f"faqbot: error: could not start the Slack app ({describe_exception(exc)}, "
              f"slack error: {slack_error_code(exc)})", file=sys.stderr)
        return 1


def run_socket_mode(settings: Settings, stop: threading.Event | None = None) -> int:
    """Load the engine, then connect over Socket Mode and serve until SIGINT/SIGTERM.

    ``stop`` ends the loop too (tests); hot reload runs for as long as the connection.
    """
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    assert settings.slack_app_token is not None
    app = build(settings)
    handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        handler.connect()
        log.info("connected in Socket Mode; index version %s", app.faqbot.engine.snapshot.name)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        handler.close()
    finally:
        shutdown(app)
    return 0


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """gunicorn settings: one gthread worker, no access log (paths only, but no need)."""
    return {
        "bind": f"0.0.0.0:{settings.port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": 32,  # request threads only wait for acks; answers run on the listener pool
        "timeout": WORKER_TIMEOUT,
        "graceful_timeout": 20,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info" if settings.log_level == "DEBUG" else settings.log_level.lower(),
        "preload_app": False,
        "proc_name": "faqbot",
        "control_socket_disable": True,  # no admin socket file in $HOME
    }


def _gunicorn_app(settings: Settings) -> Any:
    from gunicorn.app.base import BaseApplication

    class FaqbotGunicorn(BaseApplication):
        """gunicorn without a command line; the worker builds the app in ``load``."""

        def __init__(self) -> None:
            self.wsgi_app = SlackWSGI()
            super().__init__()

        def load_config(self) -> None:
            for key, value in gunicorn_options(settings).items():
                if key in self.cfg.settings:  # older gunicorn lacks e.g. control_socket_disable
                    self.cfg.set(key, value)
            # runs in the worker as it exits: stop the knowledge-folder watcher
            self.cfg.set("worker_exit", lambda _server, _worker: self.wsgi_app.close())

        def load(self) -> SlackWSGI:
            configure_logging(settings.log_level)  # the worker's own handlers
            try:
                self.wsgi_app.attach(build(settings))
            except FaqbotError as exc:
                print(f"faqbot: error: {exc}", file=sys.stderr, flush=True)
                sys.exit(APP_LOAD_ERROR)
            except Exception as exc:  # e.g. Slack refusing the token: one line, then stop
                from faqbot.slack.bot import slack_error_code

                print(f"faqbot: error: could not start the Slack app ({describe_exception(exc)}"
                      f", slack error: {slack_error_code(exc)})", file=sys.stderr, flush=True)
                sys.exit(APP_LOAD_ERROR)
            log.info("ready: HTTP mode on port %d, %s", settings.port, EVENTS_PATH)
            return self.wsgi_app

    return FaqbotGunicorn()


def run_http(settings: Settings) -> int:
    """Check the knowledge, then serve HTTP with gunicorn until it stops."""
    from faqbot.sources import load_knowledge

    load_knowledge(settings.knowledge_dir).raise_for_errors()  # fail fast, before binding
    try:
        _gunicorn_app(settings).run()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
        return 0 if code == 0 else 1
    return 0
