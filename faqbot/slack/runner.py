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
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import App

from faqbot.errors import ConfigError, FaqbotError
from faqbot.privacy import configure_logging, describe_exception
from faqbot.settings import Settings
from faqbot.slack.failures import fatal_cause

if TYPE_CHECKING:  # the Slack services import the engine: loaded late, when serving
    from faqbot.slack.services import SlackServices

log = logging.getLogger("faqbot.slack")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
#: gunicorn's code for "the application could not be loaded"; the master then stops.
APP_LOAD_ERROR = 4
#: A silent worker is restarted after this long; generous, as the worker loads the model first.
WORKER_TIMEOUT = 300
#: Connections open at once (slow ones included); beyond it, new ones wait in the backlog.
MAX_CONNECTIONS = 256
#: On SIGTERM, how long acknowledged questions may take to be answered; the rest get
#: "faqbot is restarting, please ask again" (a module constant, not a setting yet).
DRAIN_S = 12.0
#: gunicorn's graceful_timeout is the drain plus this: requests in flight, restart notices.
GRACE_MARGIN_S = 10

StartResponse = Callable[..., Any]


class SlackWSGI:
    """The WSGI app: POST /slack/events → Bolt, GET /healthz → 200 when ready (503 before);
    in OAuth mode, GET /slack/install and /slack/oauth_redirect → Bolt's OAuth flow."""

    def __init__(self, app: App | None = None) -> None:
        self._handler: Any = None
        self._oauth_paths: frozenset[str] = frozenset()
        self._on_close: Callable[[], None] | None = None
        self._healthy: Callable[[], bool] | None = None
        self.app: App | None = None
        if app is not None:
            self.attach(app)

    def attach(self, app: App, on_close: Callable[[], None] | None = None,
               healthy: Callable[[], bool] | None = None) -> None:
        """Start serving Slack requests with this app (the engine behind it is loaded);
        ``on_close`` stops its background work; ``healthy`` says whether it can answer."""
        from faqbot.slack.edge import EdgeRequestHandler

        self._handler = EdgeRequestHandler(app, path=EVENTS_PATH)
        flow = app.oauth_flow
        self._oauth_paths = (frozenset() if flow is None
                             else frozenset((flow.install_path, flow.redirect_uri_path)))
        self.app = app
        self._on_close = on_close
        self._healthy = healthy

    def close(self) -> None:
        """Stop the app's background work (gunicorn calls this as the worker exits)."""
        if self._on_close is not None:
            self._on_close()

    @property
    def ready(self) -> bool:
        return self._handler is not None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            if not self.ready:
                status, body = "503 Service Unavailable", b"loading\n"
            elif self._healthy is not None and not self._healthy():
                status, body = "503 Service Unavailable", b"no index version can be loaded\n"
            else:
                status, body = "200 OK", b"ok\n"
            return _plain(start_response, status, body)
        if path in self._oauth_paths and method == "GET":
            # Bolt's install page and redirect: a state and a code in the query, never logged
            return self._handler(environ, start_response)
        if path == EVENTS_PATH and method == "POST":
            if not self.ready:
                return _plain(start_response, "503 Service Unavailable", b"loading\n")
            try:
                return self._handler(environ, start_response)
            except Exception as exc:
                # the edge (faqbot.slack.edge) rejects malformed requests before Bolt; this is
                # the last resort. 400 and the class only: the server's own error handler
                # would print the traceback with the exception's message.
                log.warning("malformed request rejected: %s", describe_exception(exc))
                return _plain(start_response, "400 Bad Request", b"bad request\n")
        return _plain(start_response, "404 Not Found", b"not found\n")


def _plain(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body)))])
    return [body]


def choose_mode(settings: Settings) -> str:
    """'socket', 'http' or 'oauth' (HTTP with the OAuth install); ConfigError when the
    settings for none of them are complete."""
    secret = settings.slack_signing_secret
    if settings.oauth:
        from faqbot.slack.oauth import require_key

        if settings.slack_app_token is not None:
            raise ConfigError("the OAuth install (SLACK_CLIENT_ID/SLACK_CLIENT_SECRET) serves "
                              "HTTP: unset SLACK_APP_TOKEN (Socket Mode)")
        if secret is None or not secret.get_secret_value():
            raise ConfigError("the OAuth install needs SLACK_SIGNING_SECRET too")
        require_key(settings)  # refuse to store tokens in clear
        return "oauth"
    if settings.slack_client_id or settings.slack_client_secret:
        raise ConfigError("the OAuth install needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
    bot = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    if not bot.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token (xoxb-...)")
    if settings.slack_app_token is not None:
        if not settings.slack_app_token.get_secret_value().startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token (xapp-...)")
        return "socket"
    if secret is None or not secret.get_secret_value():
        raise ConfigError("HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for "
                          "Socket Mode)")
    return "http"


@dataclass(frozen=True)
class Running:
    """An app made by :func:`build` and the services behind it (stop with :func:`shutdown`)."""

    app: App
    services: SlackServices
    grace: float = 0.0  # seconds the acknowledged questions get to be answered at a stop

    def close(self) -> None:
        """Stop the watcher, drain the answer work, stop the worker (safe to call twice)."""
        shutdown(self)

    def healthy(self) -> bool:
        """False while the answer worker has no index version it can answer from."""
        return bool(getattr(self.services.asker.answerer, "healthy", True))


def build(settings: Settings, *, debounce_ms: int | None = None) -> Running:
    """Load the engine (model + index, building it if stale) and the answer worker, create the
    app, start hot reload.

    The knowledge folder is watched from then on (``services.reloader``); a failed reload
    keeps the last good index in service and DMs the admins. Knowledge files in error at
    start-up do not stop it (``faqbot.service.open_engine``): the admins get the start-up
    notice once the app runs, and the reloader's status says ``failed`` with those problems.
    Call :func:`shutdown` to stop.
    """
    from faqbot.answerer import ProcessAnswerer, make_answerer
    from faqbot.service import StartupNotice, open_engine
    from faqbot.slack.admin import start_reloader, tell_startup
    from faqbot.slack.app import create_app
    from faqbot.slack.reminders import start_reminders
    from faqbot.slack.services import build_services

    notices: list[StartupNotice] = []
    engine = open_engine(settings, on_build=lambda r: log.info("%s", r.summary()),
                         on_notice=notices.append)
    answerer = make_answerer(settings, engine)  # the worker is ready before we listen
    try:
        services = build_services(settings, engine, answerer)
        app = create_app(settings, engine, services=services)
    except BaseException:
        answerer.close()
        raise
    reloader = start_reloader(app.client, services, settings, engine, debounce_ms=debounce_ms)
    start_reminders(app.client, services)
    for notice in notices:
        tell_startup(services, reloader, notice)
    if isinstance(answerer, ProcessAnswerer):
        # a restarted worker that cannot load the version in service: rebuild it
        def repair_later(problem: str) -> None:
            def repair() -> None:
                reloader.repair(problem)

            services.admin_work.run("index repair", repair, lambda _message: None)

        answerer.on_problem = repair_later
    return Running(app, services, grace=DRAIN_S)


def shutdown(running: Running | None) -> None:
    """Stop what :func:`build` started (watcher, answer worker); safe to call twice."""
    from faqbot.slack.admin import stop_reloader

    if running is not None:
        stop_reloader(running.services)
        if running.services.answers.queued:
            log.info("stopping: draining %d acknowledged job(s) for up to %.0f s",
                     running.services.answers.queued, running.grace)
        running.services.close(running.grace)


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
        print(f"faqbot: error: could not start the Slack app ({fatal_cause(exc)})",
              file=sys.stderr)
        return 1


def run_socket_mode(settings: Settings, stop: threading.Event | None = None) -> int:
    """Load the engine, then connect over Socket Mode and serve until SIGINT/SIGTERM.

    ``stop`` ends the loop too (tests); hot reload runs for as long as the connection.
    """
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    assert settings.slack_app_token is not None
    running = build(settings)
    handler = SocketModeHandler(running.app, settings.slack_app_token.get_secret_value())
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        handler.connect()
        log.info("connected in Socket Mode; index version %s",
                 running.services.catalog.view().version)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        handler.close()
    finally:
        shutdown(running)
    return 0


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """gunicorn settings: one gthread worker that reads requests whole before a thread gets
    them (``faqbot.slack.http_worker``), a bound on connections, no access log."""
    return {
        "bind": f"0.0.0.0:{settings.port}",
        "workers": 1,
        # gthread, with each request read whole before a thread gets it (slow clients)
        "worker_class": "faqbot.slack.http_worker.BufferingThreadWorker",
        "threads": 32,  # request threads only wait for acks; answers run on the listener pool
        "worker_connections": MAX_CONNECTIONS,
        "timeout": WORKER_TIMEOUT,
        # the worker drains acknowledged questions (DRAIN_S) before it exits
        "graceful_timeout": int(DRAIN_S) + GRACE_MARGIN_S,
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
                running = build(settings)
                self.wsgi_app.attach(running.app, running.close, running.healthy)
            except FaqbotError as exc:
                print(f"faqbot: error: {exc}", file=sys.stderr, flush=True)
                sys.exit(APP_LOAD_ERROR)
            except Exception as exc:  # e.g. Slack refusing the token: one line, then stop
                print(f"faqbot: error: could not start the Slack app ({fatal_cause(exc)})",
                      file=sys.stderr, flush=True)
                sys.exit(APP_LOAD_ERROR)
            log.info("ready: HTTP mode on port %d, %s", settings.port, EVENTS_PATH)
            return self.wsgi_app

    return FaqbotGunicorn()


def run_http(settings: Settings) -> int:
    """Check the knowledge, then serve HTTP with gunicorn until it stops.

    The check fails only when nothing at all could be served (see
    :func:`faqbot.service.check_startup`); files in error are reported by the worker.
    """
    from faqbot.service import check_startup

    check_startup(settings)  # fail fast, before binding
    master = os.getpid()
    try:
        _gunicorn_app(settings).run()
    except SystemExit as exc:
        if os.getpid() != master:
            # the worker is a fork of this process: its exit code (APP_LOAD_ERROR when the
            # app cannot load) is what tells the master to stop rather than restart it
            raise
        code = exc.code if isinstance(exc.code, int) else 1
        return 0 if code == 0 else 1
    return 0
