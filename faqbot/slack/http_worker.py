"""gunicorn's gthread worker, with each request read whole before a thread is given to it.

Stock gthread hands a connection to a request thread as soon as its first byte arrives, and
the thread then blocks reading the rest with no deadline. Forty connections sending partial
headers, or a ``Content-Length`` larger than the body they send, held all 32 threads, and
every signed request and ``/healthz`` timed out for as long as they stayed open.

Here the worker's event loop reads each request without blocking, as a buffering proxy
would: the headers within ``HEADER_TIMEOUT_S`` of the connection becoming ours, the body
within ``BODY_TIMEOUT_S`` after them, at most ``MAX_HEADER_BYTES`` + ``MAX_BODY_BYTES``. A
connection that misses a deadline or a limit is closed without tying up a thread; a
complete request goes to a thread with its bytes already read. ``worker_connections``
bounds how many connections are open at once. TLS is left to the stock worker (faqbot
serves plain HTTP behind Slack's TLS-terminating path or a proxy).
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import time
from functools import partial
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

#: The request line and headers must be in within this long.
HEADER_TIMEOUT_S = 5.0
#: Then the body (``Content-Length`` bytes) within this long.
BODY_TIMEOUT_S = 5.0
MAX_HEADER_BYTES = 64 * 1024
#: Slack's requests are a few kB (``faqbot.slack.edge`` refuses more than 1 MB too).
MAX_BODY_BYTES = 1_000_000
_READ = 64 * 1024


class _Reading:
    """One request being read: its bytes so far and the deadline for what is missing."""

    __slots__ = ("body_length", "buffer", "deadline", "header_end")

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.deadline = time.monotonic() + HEADER_TIMEOUT_S
        self.header_end = -1  # offset just past the blank line, once seen
        self.body_length: int | None = None  # None: hand over at the end of the headers

    def complete(self) -> bool | None:
        """True once the request is whole, None when it breaks a limit, else False."""
        if self.header_end < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return None if len(self.buffer) > MAX_HEADER_BYTES else False
            self.header_end = end + 4
            self.body_length = _body_length(bytes(self.buffer[:end]))
            if self.body_length is not None and self.body_length > MAX_BODY_BYTES:
                return None
            self.deadline = time.monotonic() + BODY_TIMEOUT_S
        if self.body_length is None:
            return True
        return len(self.buffer) - self.header_end >= self.body_length


def _body_length(head: bytes) -> int | None:
    """The Content-Length to wait for; None to leave the request to gunicorn's parser
    (no body, a chunked body, a malformed or repeated length: it answers those itself)."""
    lengths = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"transfer-encoding":
            return None
        if key == b"content-length":
            lengths.append(value.strip())
    if len(lengths) != 1 or not lengths[0].isdigit():
        return None
    return int(lengths[0])


class BufferingThreadWorker(ThreadWorker):
    """gthread, but a request thread only ever gets a request that is already read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading: dict[Any, _Reading] = {}

    def enqueue_req(self, conn: Any) -> None:
        leftover = conn.parser is not None and conn.parser.unreader.buf.getvalue()
        if self.cfg.is_ssl or leftover or getattr(conn, "faqbot_read", False):
            conn.faqbot_read = False
            super().enqueue_req(conn)
            return
        conn.sock.setblocking(False)
        self.reading[conn] = _Reading()
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))

    def _readable(self, conn: Any, _fileobj: Any) -> None:
        reading = self.reading.get(conn)
        if reading is None:
            return
        try:
            data = conn.sock.recv(_READ)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
                return
            data = b""
        if not data:  # the client went away
            self._drop(conn)
            return
        reading.buffer += data
        state = reading.complete()
        if state is None:
            self._drop(conn)
        elif state:
            del self.reading[conn]
            self.poller.unregister(conn.sock)
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(bytes(reading.buffer))
            conn.data_ready = True
            conn.faqbot_read = True
            self.enqueue_req(conn)

    def _drop(self, conn: Any) -> None:
        self.reading.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """gthread's sweep of idle connections, plus the requests past their deadline."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c, r in self.reading.items() if r.deadline <= now]:
            self._drop(conn)
