"""Logging: one JSON object per line, with the run and action a line is about, redacted."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

from opentelemetry import trace

from bot.redaction import RedactingFilter, Redactor

RUN_ID: ContextVar[str | None] = ContextVar("run_id", default=None)
ACTION_ID: ContextVar[str | None] = ContextVar("action_id", default=None)


class ContextFilter(logging.Filter):
    """Stamps each record with the run and action the current task works on."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = getattr(record, "run_id", None) or RUN_ID.get()
        record.action_id = getattr(record, "action_id", None) or ACTION_ID.get()
        # The span the line was written in: logs and traces join on these ids.
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("run_id", "action_id", "trace_id", "span_id"):
            if getattr(record, key, None):
                event[key] = getattr(record, key)
        if record.exc_text:
            event["error"] = record.exc_text
        elif record.exc_info:
            event["error"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False)


def setup(level: str, fmt: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(Redactor(secrets)))
    logging.basicConfig(level=level, handlers=[handler], force=True)
