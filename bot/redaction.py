"""The one place that removes secret values from anything before it is stored, logged or shown."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"
# Headers that carry credentials whatever their value: redacted by name.
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)
# A secret a user typed is matched by value (in what a receiver sends back) only from this
# length: shorter ones would blank out ordinary words. Where the bot itself placed it (the
# run's inputs, the request it rendered) it is redacted by field, whatever its length.
USER_SECRET_MIN = 8


def redact_headers(headers: Mapping[str, str], names: Iterable[str] = ()) -> dict[str, str]:
    """Headers with the values of sensitive ones (and of ``names``) replaced, by name."""
    hidden = SENSITIVE_HEADERS | {n.lower() for n in names}
    return {k: REDACTED if k.lower() in hidden else v for k, v in headers.items()}


def forms_of(value: str) -> set[str]:
    """The ways a secret value shows up in text: as is, JSON- and URL-escaped, base64."""
    escaped = json.dumps(value)[1:-1]
    encoded = [
        base64.b64encode(value.encode()).decode(),
        base64.urlsafe_b64encode(value.encode()).decode(),
    ]
    return {
        value,
        escaped,
        escaped.replace("/", "\\/"),  # JSON encoders that escape the solidus (PHP, Go's old)
        quote(value, safe=""),  # in a URL built with url_encode
        quote_plus(value),
        *encoded,
        *(e.rstrip("=") for e in encoded),
    }


class Redactor:
    """Replaces every known secret value, wherever it appears, with ``[REDACTED]``.

    Secrets are matched by value, so a token is caught in a header, a URL, a body, an
    error message or a receiver's echo alike. Escaped and encoded forms are matched too
    (:func:`forms_of`), since a secret looks different inside a JSON body, a URL or base64.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = [v for v in secrets if v]
        forms: set[str] = set()
        for value in self._secrets:
            if len(value) < 4:  # too short to redact without mangling ordinary text
                continue
            forms |= forms_of(value)
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


# The run the current task works on, with its redactor (the run's secret inputs and
# callback tokens on top of the global secrets): what it logs is redacted with them too.
_SCOPE: ContextVar[tuple[str, Redactor] | None] = ContextVar("redaction_scope", default=None)


@contextmanager
def scoped(run_id: str, redactor: Redactor) -> Iterator[Redactor]:
    """While a task handles one run: its redactor, for logs and :func:`for_run`."""
    token = _SCOPE.set((run_id, redactor))
    try:
        yield redactor
    finally:
        _SCOPE.reset(token)


def for_run(run_id: str | None) -> Redactor | None:
    """The redactor of ``run_id`` if the current task is handling that run."""
    scope = _SCOPE.get()
    return scope[1] if scope is not None and scope[0] == run_id else None


class RedactingFilter(logging.Filter):
    """Applied to the root handler so no log line carries a secret value."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self._text(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self._text(record.exc_text)
        return True

    def _text(self, value: str) -> str:
        scope = _SCOPE.get()
        return self.redactor.text(scope[1].text(value) if scope else value)
