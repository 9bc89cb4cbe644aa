"""Log lines for operators: request ids, and one JSON object per line when asked for.

Every request carries an id (``X-Request-ID``): the client's own if it is 1-64
characters of ``[A-Za-z0-9._-]``, otherwise one drawn here. It is answered in the
response's header and in every JSON error body, and every log line written while the
request is handled (worker threads included) carries it.

Each request adds an access line (method, route template, status, duration in ms) that
replaces uvicorn's own, which would log the path and query string as sent: a token in a
query string or a secret in a path. With ``CHARTER_LOG_FORMAT=json`` every line on
standard error is one JSON object (time, level, logger, message, request_id). Paths as
sent, query strings, headers and bodies are never logged, so neither tokens nor request
contents reach a log.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import select
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from charter.secrets.free_text import clean

__all__ = [
    "ACCESS_LOGGER",
    "REQUEST_ID_HEADER",
    "AccessLines",
    "JsonFormatter",
    "configure_logs",
    "current_request_id",
    "install_json_logs",
    "operator_line",
    "request_id_from",
]

REQUEST_ID_HEADER = "X-Request-ID"
ACCESS_LOGGER = "charter.access"

_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "charter_request_id", default=None
)


def current_request_id() -> str | None:
    """The id of the request being handled in this context, if any."""
    return request_id.get()


def request_id_from(supplied: bytes | None) -> str:
    """The client's id if it is well formed and no secret (one the detectors know, or a
    registered leak: it is logged with every line of the request), otherwise a new one
    (16 hex digits)."""
    if supplied is not None and _ID.fullmatch(supplied):
        text = supplied.decode("ascii")
        if clean(text):
            return text
    return os.urandom(8).hex()


# The attributes every LogRecord has; anything else was passed in ``extra``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message,
    request_id, the fields given in ``extra``, and the exception's traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.gmtime(record.created)
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", seconds) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)


_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logs(log_format: str) -> None:
    """The server process's logging, before anything is served: plain lines, or with
    ``json`` one JSON object a line from the first line on (start-up lines included;
    uvicorn is then started without a logging configuration of its own)."""
    if log_format == "json":
        install_json_logs()
    else:
        logging.basicConfig(level=logging.INFO, format=_TEXT_FORMAT)


def operator_line(
    message: str, *, log_format: str, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """One line for the operator on standard error (``charter serve``'s own: where it
    serves, a busy port, an unreachable store), as a JSON object in JSON mode. Written
    directly, so it needs no logging configuration and turns none on."""
    out = stream if stream is not None else sys.stderr
    if log_format == "json":
        record = logging.LogRecord("charter.serve", level, __file__, 0, message, None, None)
        message = JsonFormatter().format(record)
    out.write(message + "\n")
    out.flush()


class AccessLines(logging.Handler):
    """Access lines written a batch at a time, to the stream (and in the format) of the
    handler given: each line is formatted when its request ends, kept, and written with
    the others when ``most`` are kept or ``flush`` is called (the server does, every
    ``ACCESS_FLUSH_SECONDS``, and when it stops).

    One write per line made the event loop give up the interpreter's lock to the group
    committer's thread on every request (``docs/operations.md``). Lines are written in
    writes of at most ``PIPE_BUF`` bytes each (a longer line alone), which a pipe takes
    whole, so the lines of several ``--workers`` processes sharing one never interleave
    mid-line; and under the lock of the handler given, as its own lines are, so no
    thread's write to the stream overlaps another's. A failed write is reported as
    logging's own handlers report one (``handleError``), never raised into a request.
    A process killed with ``kill -9`` loses the lines of its last fraction of a second;
    the audit log, committed before each answer, loses nothing.
    """

    def __init__(self, like: logging.StreamHandler[Any], *, most: int = 256) -> None:
        super().__init__()
        self.setFormatter(like.formatter)
        self.stream = like.stream
        self._like = like  # whose lock every write to the stream is made under
        self._most = most
        self._kept: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._kept.append(self.format(record))
        except Exception:  # as logging's own handlers do: a bad record is reported, not raised
            self.handleError(record)
            return
        if len(self._kept) >= self._most:
            self.flush()

    def flush(self) -> None:
        """Write every line kept."""
        with self.lock or contextlib.nullcontext():
            kept, self._kept = self._kept, []
            if not kept:
                return
            # Under the lock the stream's own handler writes other lines under (another
            # thread's), so no two writes to the stream overlap.
            self._like.acquire()
            try:
                for chunk in _whole_lines(kept, _PIPE_BUF):
                    self.stream.write(chunk)
                self.stream.flush()
            except Exception:
                self.handleError(logging.makeLogRecord({"msg": "access lines"}))
            finally:
                self._like.release()


_PIPE_BUF: int = getattr(select, "PIPE_BUF", 512)
"""Bytes a pipe takes in one write, whole (POSIX guarantees at least 512; Windows has
no such constant)."""


def _whole_lines(lines: list[str], most: int) -> Iterator[str]:
    """``lines``, each ended by a newline, joined into texts of at most ``most`` bytes in
    UTF-8 (a line longer than that alone)."""
    chunk: list[str] = []
    size = 0
    for line in lines:
        length = (len(line) if line.isascii() else len(line.encode("utf-8", "replace"))) + 1
        if chunk and size + length > most:
            yield "".join(chunk)
            chunk, size = [], 0
        chunk.append(line + "\n")
        size += length
    if chunk:
        yield "".join(chunk)


ACCESS_FLUSH_SECONDS = 0.2
"""How often a server writes the access lines kept since the last time."""


def batch_access_lines() -> Callable[[], None] | None:
    """Have ``charter.access`` lines written in batches (``AccessLines``) to where the
    root logger's one handler, a plain stream handler (as ``configure_logs`` sets up),
    writes them; returns what writes the lines kept so far, or None when logging is set
    up some other way (then nothing is changed)."""
    handlers = logging.getLogger().handlers
    access = logging.getLogger(ACCESS_LOGGER)
    if len(handlers) != 1 or type(handlers[0]) is not logging.StreamHandler or access.handlers:
        return None
    handler = AccessLines(handlers[0])
    access.addHandler(handler)
    access.propagate = False
    return handler.flush


def unbatch_access_lines() -> None:
    """Write what is kept and let ``charter.access`` lines go to the root's handlers again."""
    access = logging.getLogger(ACCESS_LOGGER)
    for handler in list(access.handlers):
        if isinstance(handler, AccessLines):
            handler.flush()
            access.removeHandler(handler)
            handler.close()
    access.propagate = True


# uvicorn configures these with handlers of its own; in JSON mode they go to the root's.
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.asgi")


def install_json_logs(stream: TextIO | None = None) -> Callable[[], None]:
    """Send every log line to ``stream`` (standard error) as JSON, access lines included;
    returns what puts the logging configuration back as it was."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    root.handlers = [handler]
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    saved: list[tuple[logging.Logger, list[logging.Handler], bool, bool]] = []
    for name in (*_UVICORN, "uvicorn.access"):
        logger = logging.getLogger(name)
        saved.append((logger, list(logger.handlers), logger.propagate, logger.disabled))
        logger.handlers = []
        logger.propagate = True
    # Charter's access line has the route template, the request id and no query string.
    logging.getLogger("uvicorn.access").disabled = True

    def restore() -> None:
        root.handlers, level = saved_root
        root.setLevel(level)
        for logger, handlers, propagate, disabled in saved:
            logger.handlers, logger.propagate, logger.disabled = handlers, propagate, disabled
        handler.close()

    return restore
