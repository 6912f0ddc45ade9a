"""Keeping users' words out of logs: the log filter and a keyed question hash.

The promise: a question never reaches a log line, stdout/stderr, a file or any network peer
but Slack. Slack's libraries log raw request bodies and message payloads at DEBUG (and one
at INFO when a signature check fails), so ``configure_logging`` installs three layers:

1. quiet library loggers (``slack_bolt``, ``slack_sdk``, ``urllib3``, ``websocket*`` at WARNING);
2. a log-record factory, so every record, whichever handler later sees it (pytest, Sentry, a
   file), is already sanitised: records that may carry a payload (see :func:`should_drop`)
   are emptied and marked withheld, every other message is scrubbed of tokens and request
   bodies and its exception reduced to the traceback's frames plus the exception's class name;
3. :class:`PrivacyFilter` on every root handler, which drops the withheld records and scrubs
   anything created before the factory was installed.

An exception that ends a thread is logged too (``threading.excepthook``), so it meets the
same sanitiser instead of printing its message to stderr.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

#: Loggers whose records below WARNING may hold raw payloads; ``websocket`` also covers
#: ``websockets``.
LIBRARY_PREFIXES = ("slack_bolt", "slack_sdk", "urllib3", "websocket")
#: The exact loggers set to WARNING by ``configure_logging`` (their children inherit it).
QUIET_LOGGERS = ("slack_bolt", "slack_sdk", "urllib3", "websocket", "websockets")
#: Loggers allowed to write DEBUG records (faqbot's own never log user text).
OWN_PREFIXES = ("faqbot", "__main__")
WITHHELD = "[faqbot: library log record withheld]"

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_PROCESS_KEY = secrets.token_bytes(32)

_TOKEN = re.compile(r"\b(xox[abeposr]|xapp)-[A-Za-z0-9-]+")
#: an OAuth code or state in a library's message ("with code: …", "for state: …", "code=…")
_OAUTH_VALUE = re.compile(r"\b(?<!status )(code|state)(\s*[:=]\s*)[^\s&,;)]+")
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
#: A quoted key and a colon: what makes a bracketed span a JSON object or a dict repr.
_KEYED = re.compile(r"[\"'][^\"'\n]{0,200}[\"']\s*:")
#: one ``key=value`` pair of a form body (``a=1&b=2``), checked per whitespace-free token
_FORM_PAIR = re.compile(r"[\w.%\[\]-]{1,64}=[^&]*")
_NON_SPACE = re.compile(r"\S+")
#: single fields that carry text (``payload=...``)
_TEXT_FIELD = re.compile(r"\b(payload|text|body|command|message|query|question)=[^\s&]+",
                         re.IGNORECASE)
#: a labelled payload in a library's message ("payload: b'...'"), up to the end of the message:
#: slack_sdk logs an unsupported Socket Mode frame this way at WARNING
_LABELLED_PAYLOAD = re.compile(r"\b(payload|body|text|data)\s*:\s*\S.*", re.IGNORECASE | re.DOTALL)


def scrub(message: str) -> str:
    """Remove tokens, request bodies and text fields from one log message."""
    message = _TOKEN.sub(lambda m: f"{m.group(1)}-[redacted]", message)
    message = _BEARER.sub(lambda m: f"{m.group(1)} [redacted]", message)
    message = _withhold_bodies(message)
    message = _OAUTH_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}[withheld]", message)
    message = _NON_SPACE.sub(_withhold_form, message)
    return _TEXT_FIELD.sub(lambda m: f"{m.group(1)}=[withheld]", message)


def _withhold_bodies(message: str) -> str:
    """Replace the span from the first ``{``/``[`` to the last ``}``/``]`` if it has a key."""
    starts = [i for i in (message.find("{"), message.find("[")) if i >= 0]
    if not starts:
        return message
    start, end = min(starts), max(message.rfind("}"), message.rfind("]"))
    if end > start and _KEYED.search(message, start, end):
        return f"{message[:start]}{{…body withheld…}}{message[end + 1:]}"
    return message


def _withhold_form(match: re.Match[str]) -> str:
    parts = [p for p in match.group(0).split("&") if p]
    if len(parts) > 1 and all(_FORM_PAIR.fullmatch(p) for p in parts):
        return "[form body withheld]"
    return match.group(0)


def describe_exception(exc: BaseException) -> str:
    """'ValueError at search.py:131 in rank': class and innermost frame, never the message."""
    name = type(exc).__qualname__
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return name
    last = frames[-1]
    where = "/".join(last.filename.replace("\\", "/").split("/")[-2:])
    return f"{name} at {where}:{last.lineno} in {last.name}"


def _safe_traceback(exc_info: Any) -> str:
    """The frames of a traceback (files, lines, source) and the class name; no message."""
    exc_type, _exc, tb = exc_info
    lines = ["Traceback (most recent call last):\n", *traceback.format_tb(tb)]
    name = getattr(exc_type, "__qualname__", "Exception")
    lines.append(f"{name} (message withheld by faqbot)")
    return "".join(lines)


def _is_library(name: str) -> bool:
    return name.startswith(LIBRARY_PREFIXES)


def should_drop(record: logging.LogRecord) -> bool:
    """True for records that may carry a payload, whatever level the operator chose.

    Slack's and the HTTP/WebSocket libraries' records below WARNING (raw bodies, envelopes),
    ``slack_bolt.RequestVerification`` INFO (the body of a request that failed its signature
    check), and DEBUG records of any other library: DEBUG is for faqbot's own loggers.
    """
    if record.name.startswith("slack_bolt.RequestVerification") and record.levelno <= logging.INFO:
        return True
    if _is_library(record.name):
        return record.levelno < logging.WARNING
    return record.levelno < logging.INFO and not record.name.startswith(OWN_PREFIXES)


def sanitise(record: logging.LogRecord) -> logging.LogRecord:
    """Scrub a record in place (once): message formatted and scrubbed, exception reduced."""
    if getattr(record, "faqbot_clean", False):
        return record
    if should_drop(record):
        record.msg, record.args = WITHHELD, None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        record.faqbot_withheld = True
    else:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break logging
            message = str(record.msg)
        message = scrub(message)
        if _is_library(record.name):
            message = _LABELLED_PAYLOAD.sub(lambda m: f"{m.group(1)}: [withheld]", message)
        record.msg, record.args = message, None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = _safe_traceback(record.exc_info)
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        record.exc_info = None
    record.faqbot_clean = True
    return record


class PrivacyFilter(logging.Filter):
    """Drops library records below WARNING, scrubs the rest; independent of the level set."""

    def filter(self, record: logging.LogRecord) -> bool:
        sanitise(record)
        return not getattr(record, "faqbot_withheld", False)


_previous_factory: Callable[..., logging.LogRecord] | None = None


def _record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _previous_factory is not None
    return sanitise(_previous_factory(*args, **kwargs))


def _install_record_factory() -> None:
    global _previous_factory
    if logging.getLogRecordFactory() is _record_factory:
        return
    _previous_factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(_record_factory)


def _level(level: str | int) -> int:
    if isinstance(level, int):
        return level
    return logging.getLevelNamesMapping().get(level.strip().upper(), logging.INFO)


def _has_privacy_filter(filterer: logging.Filterer) -> bool:
    return any(isinstance(f, PrivacyFilter) for f in filterer.filters)


def quiet_logger(name: str) -> logging.Logger:
    """A logger at WARNING with the privacy filter, for handing to Slack's libraries."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.WARNING)
    if not _has_privacy_filter(logger):
        logger.addFilter(PrivacyFilter())
    return logger


def configure_logging(level: str | int = "INFO") -> logging.Handler:
    """Set up logging for the process, before ``App()`` is built; safe to call again.

    Adds one stderr handler with :class:`PrivacyFilter` to the root logger at ``level``, puts
    the filter on every other root handler, sets Slack's and HTTP libraries' loggers to
    WARNING and installs the sanitising record factory. Returns the handler it added.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "faqbot_handler", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.faqbot_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    root.addHandler(handler)
    for h in root.handlers:
        if not _has_privacy_filter(h):
            h.addFilter(PrivacyFilter())
    root.setLevel(_level(level))
    for name in QUIET_LOGGERS:
        quiet_logger(name)
    _install_record_factory()
    threading.excepthook = log_thread_exception
    return handler


def log_thread_exception(args: threading.ExceptHookArgs) -> None:
    """``threading.excepthook``: an exception that ends a thread goes through logging (so
    through the sanitiser: frames and class, no message), not straight to stderr."""
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "-"
    exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
    logging.getLogger("faqbot.threads").error("uncaught exception ended thread %s", name,
                                              exc_info=exc_info)  # type: ignore[arg-type]


def question_hash(text: str, key: str | bytes | None = None) -> str:
    """8 hex characters of HMAC-SHA256(key, text): enough to correlate log lines, not to read.

    Without a key, a random key made once per process is used, so hashes cannot be compared
    across restarts (set ``FAQBOT_HASH_KEY`` to make them comparable).
    """
    if key is None or key == "":
        key_bytes = _PROCESS_KEY
    else:
        key_bytes = key.encode("utf-8") if isinstance(key, str) else key
    data = text.encode("utf-8", "surrogatepass")
    return hmac.new(key_bytes, data, hashlib.sha256).hexdigest()[:8]
