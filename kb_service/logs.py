"""Structured logs: one JSON object per line, with phone numbers masked wherever they appear.

`frontdesk serve` installs this on the root logger, so the service's own lines, uvicorn's and the
console notifications all come out the same way."""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import re
import sys
from datetime import UTC, datetime
from logging.handlers import QueueListener

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

# A run of 7 or more digits, allowing the separators people type in phone numbers. Our own pattern over
# log text (never a pattern built from caller input), applied to everything that is logged.
_PHONE = re.compile(r"\+?\d(?:[\d\s().-]{5,}\d)")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName",
                                                                        "color_message"}


def mask_phones(text: str) -> str:
    def mask(match: re.Match) -> str:
        raw = match.group(0)
        digits = [c for c in raw if c.isdigit()]
        if len(digits) < 7:
            return raw
        return "•" * (len(digits) - 4) + "".join(digits[-4:])

    return _PHONE.sub(mask, text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_phones(record.getMessage()),
        }
        for key, value in vars(record).items():  # fields passed with `extra=`
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = mask_phones(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = mask_phones(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


_access_writer: QueueListener | None = None
_access_lines: queue.SimpleQueue | None = None
ACCESS_LOGGER = "uvicorn.access"


def configure(level: int = logging.INFO) -> None:
    """Route every logger (uvicorn's too) through one JSON handler on stderr; no progress bars in between."""
    global _access_writer, _access_lines
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Access lines are written by a logging thread, after the response has gone out (`AccessLog`). uvicorn's
    # own access logging, which formats the line just before it writes the response, stays off: it only logs
    # when its logger has a handler, and this one has none.
    if _access_writer is not None:
        _access_writer.stop()
    _access_lines = queue.SimpleQueue()
    _access_writer = QueueListener(_access_lines, handler)
    _access_writer.start()
    atexit.register(_access_writer.stop)
    access = logging.getLogger(ACCESS_LOGGER)
    access.handlers[:] = []
    access.propagate = False


class AccessLog:
    """Pure ASGI wrapper around the whole app (`frontdesk serve` installs it): one access line per HTTP request,
    the text uvicorn writes (`127.0.0.1:5555 - "POST /api/ask HTTP/1.1" 200`, logger `uvicorn.access`), handed
    to the logging thread once the response is complete, so that no request waits for its own log line."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _access_lines is None:
            await self.app(scope, receive, send)
            return
        status = 500  # what uvicorn sends when the app fails before starting a response

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            if logging.getLogger(ACCESS_LOGGER).isEnabledFor(logging.INFO):  # uvicorn's --log-level
                _access_lines.put_nowait(_access_record(scope, status))


def _access_record(scope: Scope, status: int) -> logging.LogRecord:
    return logging.LogRecord(
        ACCESS_LOGGER, logging.INFO, __file__, 0, '%s - "%s %s HTTP/%s" %d',
        (get_client_addr(scope), scope["method"], get_path_with_query_string(scope), scope["http_version"], status),
        None)
