"""Logging: the four levels users read (INFO, SUCCESS, RISK, ERROR), colour, JSON lines.

This module owns how RegimeFlex talks on the console: colour only on a TTY
and never when ``NO_COLOR`` is set (so cron mail stays plain), optional JSON
lines (``--log-format json``) for log shippers, secret redaction on every
record, and :func:`step`, the context manager that times each cycle step.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO

from regimeflex.secrets import redact

SUCCESS = 25
RISK = 35
logging.addLevelName(SUCCESS, "SUCCESS")
logging.addLevelName(RISK, "RISK")

LOGGER_NAME = "regimeflex"

_COLOURS = {
    "DEBUG": "\x1b[2m",
    "INFO": "",
    "SUCCESS": "\x1b[32m",
    "WARNING": "\x1b[33m",
    "RISK": "\x1b[35;1m",
    "ERROR": "\x1b[31;1m",
    "CRITICAL": "\x1b[31;1m",
}
_RESET = "\x1b[0m"


class RegimeFlexLogger(logging.Logger):
    def success(self, msg: str, *args: object, **kwargs: object) -> None:
        if self.isEnabledFor(SUCCESS):
            self._log(SUCCESS, msg, args, **kwargs)  # type: ignore[arg-type]

    def risk(self, msg: str, *args: object, **kwargs: object) -> None:
        if self.isEnabledFor(RISK):
            self._log(RISK, msg, args, **kwargs)  # type: ignore[arg-type]


def get_logger(name: str = "") -> RegimeFlexLogger:
    full = LOGGER_NAME if not name else f"{LOGGER_NAME}.{name}"
    previous = logging.getLoggerClass()
    logging.setLoggerClass(RegimeFlexLogger)
    try:
        logger = logging.getLogger(full)
    finally:
        logging.setLoggerClass(previous)
    if not isinstance(logger, RegimeFlexLogger):  # created earlier by someone else
        logger.__class__ = RegimeFlexLogger
    return logger  # type: ignore[return-value]


class RedactingFilter(logging.Filter):
    """Masks secrets in the fully formatted message before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class _ScrubFilter(logging.Filter):
    """Masks known secrets and registered URL credentials in third-party HTTP log records."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.parts)
        record.args = None
        return True


_SCRUB = _ScrubFilter()
_SCRUB_LOCK = threading.Lock()
#: urllib3 logs request lines (URL path and query) at DEBUG; requests' own logger too.
_HTTP_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "requests")


def protect_in_http_logs(*parts: str) -> None:
    """Never let ``parts`` (e.g. a token in a URL path) appear in urllib3/requests log lines.

    Known secret values and URL credentials are masked there from the moment :mod:`regimeflex.log` is
    imported (every RegimeFlex process), whether or not anything has imported ``requests`` yet; a client adds
    credentials that are not in the environment. Re-exported by :mod:`regimeflex.http`.
    """
    with _SCRUB_LOCK:
        _SCRUB.parts.update(p for p in parts if p and len(p) >= 4)
        for name in _HTTP_LOGGERS:
            logger = logging.getLogger(name)
            if _SCRUB not in logger.filters:
                logger.addFilter(_SCRUB)


protect_in_http_logs()


class TextFormatter(logging.Formatter):
    def __init__(self, colour: bool) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        level = record.levelname
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        line = f"{stamp} {level:<7} {record.getMessage()}"
        if record.exc_info and record.levelno >= logging.ERROR and os.environ.get("REGIMEFLEX_DEBUG"):
            line += "\n" + redact(self.formatException(record.exc_info))
        if self.colour and _COLOURS.get(level):
            return f"{_COLOURS[level]}{line}{_RESET}"
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = getattr(record, "data", None)
        if extra:
            payload["data"] = extra
        return json.dumps(payload, default=str)


def use_colour(stream: IO[str]) -> bool:
    if os.environ.get("NO_COLOR") is not None or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def configure(level: str = "INFO", fmt: str = "text", stream: IO[str] | None = None) -> None:
    """Install the single console handler (idempotent; re-configuring replaces it)."""
    stream = stream or sys.stderr
    logger = get_logger()
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(use_colour(stream)))
    logger.addHandler(handler)
    logger.setLevel(
        getattr(logging, level.upper(), logging.INFO)
        if level.upper() not in ("SUCCESS", "RISK")
        else {"SUCCESS": SUCCESS, "RISK": RISK}[level.upper()]
    )
    logger.propagate = False


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


@contextmanager
def step(name: str, logger: logging.Logger | None = None) -> Iterator[dict[str, float]]:
    """Time one cycle step and log ``name done in 0.12s (peak 210 MB)``.

    Yields a dict that receives ``seconds`` and ``peak_mb`` when the step ends,
    so the runner can put the figures in its summary.
    """
    log = logger or get_logger()
    figures: dict[str, float] = {}
    start = time.perf_counter()
    ok = False
    try:
        yield figures
        ok = True
    finally:
        figures["seconds"] = round(time.perf_counter() - start, 4)
        figures["peak_mb"] = round(peak_memory_mb(), 1)
        if ok:
            log.info("%s in %.2fs (peak %.0f MB)", name, figures["seconds"], figures["peak_mb"])
        else:
            log.info("step '%s' stopped after %.2fs", name, figures["seconds"])
