"""The one place that removes secret values from anything before it is stored, logged or shown."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"


class Redactor:
    """Replaces every known secret value, wherever it appears, with ``[REDACTED]``.

    Secrets are matched by value, so a token is caught in a header, a URL, a body, an
    error message or a receiver's echo alike. JSON-escaped forms are matched too, since
    a secret with a quote or backslash looks different inside a JSON body.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = [v for v in secrets if v]
        forms: set[str] = set()
        for value in secrets:
            if len(value) < 4:  # too short to redact without mangling ordinary text
                continue
            forms.add(value)
            forms.add(json.dumps(value)[1:-1])
            forms.add(quote(value, safe=""))  # in a URL built with url_encode
            forms.add(quote_plus(value))
        # Longest first, so a secret containing another is replaced whole.
        self._forms = sorted(forms, key=len, reverse=True)

    def extended(self, secrets: Iterable[str]) -> Redactor:
        """This redactor plus more values (a run's secret inputs)."""
        return Redactor([*self._secrets, *secrets])

    def text(self, value: str) -> str:
        for form in self._forms:
            if form in value:
                value = value.replace(form, REDACTED)
        return value

    def __call__(self, value: Any) -> Any:
        """Redact a string, bytes, or a JSON-like structure (keys included)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes):
            return self.text(value.decode("utf-8", "replace"))
        if isinstance(value, dict):
            return {self(k): self(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        return value


class RedactingFilter(logging.Filter):
    """Applied to the root handler so no log line carries a secret value."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redactor.text(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redactor.text(record.exc_text)
        return True
