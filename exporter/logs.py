"""logfmt-style log lines on stderr: ``ts=… level=info logger=… msg="…" key=value`` (or JSON objects).

Structured fields travel in ``extra={"kv": {...}}``. Nothing here ever receives request headers or URLs with
credentials: the HTTP layer logs the method, the path without its query, the status and the duration.
"""
from __future__ import annotations

import json
import logging
import sys
import time

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


def _quote(v: object) -> str:
    s = str(v)
    if s and not any(c in s for c in ' "=\n\t\\'):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _fields(record: logging.LogRecord) -> dict[str, object]:
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
    level = {"WARNING": "warn", "CRITICAL": "error"}.get(record.levelname, record.levelname.lower())
    return {"ts": ts, "level": level, "logger": record.name.rsplit(".", 1)[-1], "msg": record.getMessage(),
            **(getattr(record, "kv", None) or {})}


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = " ".join(f"{k}={_quote(v)}" for k, v in _fields(record).items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line (--log.format=json), for log shippers that prefer it."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        return json.dumps(fields, default=str, ensure_ascii=False)


FORMATS = {"logfmt": LogfmtFormatter, "json": JsonFormatter}


def setup(level: str = "info", fmt: str = "logfmt", stream=None) -> None:
    """Route the exporter's loggers to stderr in logfmt (or JSON) at the given level."""
    logger = logging.getLogger("perfadvisor.exporter")
    for h in list(logger.handlers):
        logger.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(FORMATS.get(fmt, LogfmtFormatter)())
    logger.addHandler(handler)
    logger.setLevel(_LEVELS.get(level, logging.INFO))
    logger.propagate = False
