"""Structured logs: one JSON object per line, with phone numbers masked wherever they appear.

`frontdesk serve` installs this on the root logger, so the service's own lines, uvicorn's and the
console notifications all come out the same way."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime

# A run of 7 or more digits, allowing the separators people type in phone numbers. Our own pattern over
# log text (never a pattern built from caller input), applied to everything that is logged.
_PHONE = re.compile(r"\+?\d(?:[\d\s().-]{5,}\d)")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def mask_phone(phone: str | None) -> str:
    """Only the last four digits, behind a fixed-width mask that hides the number's length too: enough to tell
    callers apart, not enough to call them. Empty for no phone."""
    if not phone:
        return ""
    return "•••" + "".join([c for c in phone if c.isdigit()][-4:])


def mask_phones(text: str) -> str:
    """Every phone-like run of 7 or more digits in `text`, masked as `mask_phone` does."""

    def mask(match: re.Match) -> str:
        raw = match.group(0)
        return mask_phone(raw) if sum(c.isdigit() for c in raw) >= 7 else raw

    return _PHONE.sub(mask, text)


_SESSION_PATH = re.compile(r"(/api/sessions/)[A-Za-z0-9_-]+")
_SECRET_QUERY = re.compile(r"([?&](?:session_id|session_token|token|access_token|code)=)[^&\s\"']*", re.IGNORECASE)


def mask_sessions(text: str) -> str:
    """Session ids in request paths and query strings (access lines), and tokens or codes passed in a query, are
    secrets of their callers: never logged."""
    return _SECRET_QUERY.sub(r"\1•••", _SESSION_PATH.sub(r"\1•••", text))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_sessions(mask_phones(record.getMessage())),
        }
        for key, value in vars(record).items():  # fields passed with `extra=`
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = mask_phones(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = mask_phones(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: int = logging.INFO, access_log: bool = False) -> None:
    """Route every logger (uvicorn's too) through one JSON handler on stderr; no progress bars in between.

    uvicorn's access lines (one per request) are written only with `access_log`: otherwise the console's own
    polling buries the lines a supervisor needs."""
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
    logging.getLogger("uvicorn.access").setLevel(logging.INFO if access_log else logging.WARNING)
    # httpx logs every request with its full URL at INFO; a webhook URL's path is its secret (Slack).
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # FAISS tries its AVX-512 build first and logs a harmless failure before it loads the AVX2 one.
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)
