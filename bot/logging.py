"""Structured logging: structlog for our code and the stdlib loggers alike, with redaction.

`configure_logging()` is called once at start-up (never at import). Every record passes
through `Redactor`, which replaces configured secret values wherever they appear and
blanks secret-shaped keys, so a token can not reach a log line even by accident.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"
# A configured secret shorter than this is not looked for: it would blank ordinary words
# (`creators-onboard check` warns about a short secret a person chose).
SHORTEST_REDACTED = 6

_SECRET_KEY = re.compile(
    r"(token|secret|password|passwd|api[_-]?key|authorization|signature|credentialsecret|cookie)",
    re.IGNORECASE,
)
# Shapes of well-known tokens, redacted even when we were not told the value.
_SECRET_SHAPES = re.compile(
    r"(xox[abpr]-[A-Za-z0-9-]{6,}|xapp-[A-Za-z0-9-]{6,}|ghp_[A-Za-z0-9]{20,}|"
    r"github_pat_[A-Za-z0-9_]{20,}|lin_api_[A-Za-z0-9]{8,}|ops_[A-Za-z0-9_-]{20,})"
)


def encodings(value: str) -> set[str]:
    """The forms a secret takes when a system echoes it back: raw, JSON-escaped, URL-encoded
    (both ways), HTML/Slack-escaped, and base64 (standard and URL-safe, at each of the
    three alignments it can have inside a longer encoded text, e.g. `Basic user:token`)."""
    raw = value.encode()
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value, safe=""),
        html.escape(value, quote=False),
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
    }
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        # Characters that depend only on the secret: skip those mixed with what precedes
        # it, and the last group, mixed with what follows.
        start = (shift * 4 + 2) // 3 if shift else 0
        end = ((shift + len(raw)) // 3) * 4
        core = encoded[start:end]
        if len(core) >= 8:
            forms.add(core)
            forms.add(core.replace("+", "-").replace("/", "_"))
    return {f for f in forms if len(f) >= SHORTEST_REDACTED}


class Redactor:
    """A structlog processor that removes secret values from every field."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        for value in secrets:
            # Very short values would redact ordinary words; real secrets are long.
            if not value or len(value) < SHORTEST_REDACTED:
                continue
            for form in encodings(value):
                if form not in self._secrets:
                    self._secrets.append(form)
        self._secrets.sort(key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _SECRET_SHAPES.sub(REDACTED, text)

    def _clean(self, key: str | None, value: Any) -> Any:
        if key is not None and _SECRET_KEY.search(key) and value not in (None, "", False):
            return REDACTED
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {k: self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean(None, v) for v in value]
        if isinstance(value, BaseException):
            return self.scrub(f"{type(value).__name__}: {value}")
        return value

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
        for key in list(event_dict):
            if key in ("exc_info", "stack_info"):
                continue
            event_dict[key] = self._clean(key if key != "event" else None, event_dict[key])
        return event_dict


class _ScrubRendered:
    """Last line of defence: scrub the rendered line (tracebacks included)."""

    def __init__(self, redactor: Redactor, renderer: Processor) -> None:
        self._redactor = redactor
        self._renderer = renderer

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> str:
        rendered = self._renderer(logger, name, event_dict)
        text = rendered if isinstance(rendered, str) else str(rendered)
        return self._redactor.scrub(text)


REDACTOR = Redactor()

# What DBOS says at INFO on every start and stop: its banner, one line per schema migration
# (about 75 on a new database), its queues, an advertisement for its console. Detail for
# whoever debugs DBOS itself, so it is logged at DEBUG; anything else DBOS says (recovering
# workflows, errors) keeps its level.
_DBOS_CHATTER = re.compile(
    r"(Applying DBOS .*schema migration"
    r"|Initializing DBOS|Executor ID:|Application version:|Application name:"
    r"|Using SQLite as a system database|DBOS system database engine parameters"
    r"|Migration \d+ skipped"
    r"|No workflows to recover|Listening to \d+ queues|Registered and listening to new queue"
    r"|Queue: |DBOS launched|To view and manage workflows"
    r"|Stopping queue manager|DBOS successfully shut down)"
)


class DemoteChatter(logging.Filter):
    """On a library's logger: INFO records matching `pattern` become DEBUG records.

    A logger's level is checked before its filters run, so the record is re-levelled here
    and dropped unless the root logger (the level we configured) takes DEBUG.
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        super().__init__()
        self.pattern = pattern

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not self.pattern.match(record.getMessage()):
            return True
        record.levelno = logging.DEBUG
        record.levelname = logging.getLevelName(logging.DEBUG)
        return logging.getLogger().isEnabledFor(logging.DEBUG)


# Libraries that print whole requests and answers at DEBUG: botocore prints Amplify's
# GetApp answer (every variable's value, the Creators API secret among them), slack_sdk the
# proxy URL it read (with its password) and each call's body. The redactor only knows the
# bot's own secrets and a few token shapes, so these stay at INFO whatever LOG_LEVEL says:
# LOG_LEVEL=DEBUG is the bot's own detail.
BODY_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "slack_sdk", "slack_bolt")


def configure_logging(
    *,
    level: str = "INFO",
    fmt: str = "",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> Redactor:
    """Route structlog and stdlib logging through one redacting renderer."""
    REDACTOR.add(secrets)
    out = stream or sys.stderr
    use_console = fmt == "console" or (fmt == "" and out.isatty())
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=False)
        if use_console
        else structlog.processors.JSONRenderer()
    )
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        REDACTOR,
    ]
    tail: list[Processor] = [] if use_console else [structlog.processors.format_exc_info]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *tail,
            _ScrubRendered(REDACTOR, renderer),
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    floor = max(logging.INFO, root.getEffectiveLevel())
    for name in BODY_LOGGERS:
        logging.getLogger(name).setLevel(floor)
    # DBOS installs its own handler; make it use ours so every line looks the same.
    for name in ("dbos", "slack_bolt", "slack_sdk", "aiohttp"):
        lib = logging.getLogger(name)
        for old in list(lib.handlers):
            lib.removeHandler(old)
        lib.propagate = True
    # DBOS adds its own console handler only when its logger has none: give it one that
    # does nothing, so its records propagate to ours instead.
    dbos = logging.getLogger("dbos")
    dbos.addHandler(logging.NullHandler())
    for old_filter in [f for f in dbos.filters if isinstance(f, DemoteChatter)]:
        dbos.removeFilter(old_filter)
    dbos.addFilter(DemoteChatter(_DBOS_CHATTER))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    return REDACTOR


class Hush:
    """At most one warning of an event per `every` seconds; how many were held back."""

    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def due(self, event: str) -> int | None:
        """None while `event` was warned about in the last `every` seconds (counted);
        else how many were held back since, and it is due now."""
        now = self._clock()
        last = self._last.get(event)
        if last is not None and now - last < self.every:
            self._held[event] = self._held.get(event, 0) + 1
            return None
        self._last[event] = now
        return self._held.pop(event, 0)


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)


def bind_request(**values: Any) -> None:
    """Per-request context (request id, user, subcommand) for every line that follows."""
    structlog.contextvars.bind_contextvars(**values)


def clear_request() -> None:
    structlog.contextvars.clear_contextvars()


def scrub_mapping(data: MutableMapping[str, Any]) -> dict[str, Any]:
    """Redact a mapping for display (e.g. the preflight table)."""
    return {k: REDACTOR._clean(k, v) for k, v in data.items()}
