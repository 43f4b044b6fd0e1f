"""logfmt-style log lines on stderr: ``ts=… level=info logger=… msg="…" key=value``.

Structured fields travel in ``extra={"kv": {...}}``. Nothing here ever receives request headers or URLs with
credentials: the HTTP layer logs the method, the path without its query, the status and the duration.
"""
from __future__ import annotations

import logging
import sys
import time

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


def _quote(v: object) -> str:
    s = str(v)
    if s and not any(c in s for c in ' "=\n\t\\'):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        level = {"WARNING": "warn", "CRITICAL": "error"}.get(record.levelname, record.levelname.lower())
        parts = [f"ts={ts}", f"level={level}", f"logger={record.name.rsplit('.', 1)[-1]}",
                 f"msg={_quote(record.getMessage())}"]
        for k, v in (getattr(record, "kv", None) or {}).items():
            parts.append(f"{k}={_quote(v)}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup(level: str = "info", stream=None) -> None:
    """Route the exporter's loggers to stderr in logfmt at the given level."""
    logger = logging.getLogger("perfadvisor.exporter")
    for h in list(logger.handlers):
        logger.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    logger.addHandler(handler)
    logger.setLevel(_LEVELS.get(level, logging.INFO))
    logger.propagate = False
