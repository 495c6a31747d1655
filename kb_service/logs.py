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
from logging.handlers import QueueHandler, QueueListener

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


def configure(level: int = logging.INFO) -> None:
    """Route every logger (uvicorn's too) through one JSON handler on stderr; no progress bars in between."""
    global _access_writer
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # uvicorn logs each request's access line just before it sends the response. Formatted and written by a
    # logging thread instead, the line costs the request a queue put, not ~0.1 ms (docs/performance.md).
    if _access_writer is not None:
        _access_writer.stop()
    lines: queue.SimpleQueue = queue.SimpleQueue()
    _access_writer = QueueListener(lines, handler)
    _access_writer.start()
    atexit.register(_access_writer.stop)
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = [QueueHandler(lines)]
    access.propagate = False
