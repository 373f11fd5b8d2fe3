"""Administering actions, without Slack: editing documents, audit queries and exports.

Used by `/actions-admin` and by the command line, so both validate, query and export
with the same code.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import yaml
from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.catalog import Action, parse_duration
from bot.config import ConfigError, payload_errors, payload_warnings, validate
from bot.kinds import RunStatus
from bot.redaction import Redactor
from bot.store import AuditEvent, Run, Store
from bot.store.models import utcnow

# Fields of the edit form, and the document keys each one holds.
FORM_FIELDS = {
    "id": "id",
    "name": "name",
    "description": "description",
    "category": "category",
    "owner": "owner",
    "scope": "scope",
    "access": "access",
    "method": "webhook.method",
    "url": "webhook.url",
    "headers": "webhook.headers",
    "payload": "webhook.payload",
    "inputs": "inputs",
    "response_template": "response_template",
}
YAML_FIELDS = {"headers", "inputs", "advanced", "access_list"}
# Document keys the edit form shows one by one; anything else goes under "More settings".
EDITED = (
    "id",
    "name",
    "description",
    "category",
    "owner",
    "scope",
    "access",
    "webhook",
    "inputs",
    "response_template",
    "published",
)
STATUSES = {status.lower() for status in RunStatus}  # as written in `status:` filters


class QueryError(ValueError):
    """A `runs` filter that cannot be understood; the message says how to write it."""


def run_id_prefix(word: str) -> str | None:
    """A run id or the start of one, as typed or pasted (`ab12cd34`, in backticks);
    None when it cannot be part of a run id."""
    text = word.strip("`").lower()
    return text if re.fullmatch(r"[0-9a-f-]{1,36}", text) else None


def _load_yaml(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text) if text.strip() else None


def document_from_form(values: Mapping[str, str | None]) -> tuple[dict[str, Any], dict[str, str]]:
    """Build an action document from the edit form; errors keyed by form field."""
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    for name in YAML_FIELDS:
        try:
            parsed[name] = _load_yaml(values.get(name) or "")
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark else ""
            errors[name] = f"Invalid YAML{where}: {getattr(exc, 'problem', None) or exc}"
    document: dict[str, Any] = {}
    for field in ("id", "name", "description", "category", "owner", "scope"):
        if values.get(field):
            document[field] = values[field]
    access = values.get("access") or "everyone"
    document["access"] = parsed.get("access_list") if access == "list" else access
    webhook: dict[str, Any] = {
        "url": values.get("url") or "",
        "method": values.get("method") or "POST",
    }
    if parsed.get("headers"):
        webhook["headers"] = parsed["headers"]
    if values.get("payload"):
        webhook["payload"] = values["payload"]
    document["webhook"] = webhook
    if parsed.get("inputs") is not None:
        inputs = parsed["inputs"]
        # OpsLevel's manual-inputs YAML pastes in whole: {version, inputs: [...]}
        document["inputs"] = inputs.get("inputs") if isinstance(inputs, dict) else inputs
    if values.get("response_template"):
        document["response_template"] = values["response_template"]
    advanced = parsed.get("advanced")
    if advanced is not None and not isinstance(advanced, dict):
        errors["advanced"] = "Expected a YAML mapping, e.g. `retry: {attempts: 3}`"
    elif advanced:
        clash = set(advanced) & set(document)
        if clash:
            errors["advanced"] = f"Set {', '.join(sorted(clash))} in its own field"
        document.update(advanced)
    document.setdefault("published", False)  # created in Slack: a draft until published
    return document, errors


def yaml_texts(values: Mapping[str, str | None]) -> dict[str, str]:
    """The YAML fields as the author wrote them, kept (in the audit event of the save) so
    that `edit` shows their comments, order and quoting again."""
    return {name: str(values[name]) for name in sorted(YAML_FIELDS) if values.get(name)}


def written_texts(document: Mapping[str, Any], texts: Mapping[str, Any]) -> dict[str, str]:
    """Of the texts an author wrote, those that still say exactly what the document holds
    (a change made elsewhere, or a redacted text, falls back to a fresh dump)."""
    access = document.get("access")
    current = {
        "headers": (document.get("webhook") or {}).get("headers"),
        "inputs": document.get("inputs"),
        "access_list": access if not isinstance(access, str) else None,
        "advanced": {k: v for k, v in document.items() if k not in EDITED} or None,
    }
    kept = {}
    for name, text in texts.items():
        if name not in current or not isinstance(text, str):
            continue
        try:
            parsed = _load_yaml(text)
        except YAMLError:
            continue
        if name == "inputs" and isinstance(parsed, dict):
            parsed = parsed.get("inputs")  # OpsLevel's wrapper, as document_from_form reads it
        if parsed == current[name]:
            kept[name] = text
    return kept


def form_field(path: str) -> str:
    """`actions[3].webhook.payload: …` → the form field that holds it."""
    rest = re.sub(r"^actions\[\d+\]\.?", "", path.split(":", 1)[0])
    for field, key in sorted(FORM_FIELDS.items(), key=lambda kv: -len(kv[1])):
        if rest == key or rest.startswith(key + ".") or rest.startswith(key + "["):
            return "access_list" if field == "access" and "." in rest else field
    return "advanced"


def check_document(
    base: dict[str, Any],
    others: list[dict[str, Any]],
    document: dict[str, Any],
    *,
    source: str,
) -> dict[str, str]:
    """Validate a Slack-created action exactly as the config file is validated."""
    actions = [*(base.get("actions") or []), *others, document]
    try:
        validate({**base, "actions": actions}, source=source)
    except ConfigError as exc:
        index = f"actions[{len(actions) - 1}]"
        errors: dict[str, str] = {}
        for error in exc.errors:
            if error.startswith(index):
                path, _, message = error.partition(": ")
                field = form_field(error)
                where = re.sub(r"^actions\[\d+\]\.?", "", path)
                if where and where != FORM_FIELDS.get(field, field):  # a key inside it: named
                    message = f"{where}: {message}"
                errors[field] = (errors[field] + "; " + message) if field in errors else message
            elif "duplicate id" in error and document.get("id"):
                errors["id"] = "An action with this id exists already."
        return errors or {"advanced": "; ".join(exc.errors)[:2000]}
    # Refused now rather than at the first run: a payload that can never be valid JSON.
    problems = payload_errors(Action.model_validate(document))
    return {form_field(f"actions[0].{where}"): problem for where, problem in problems.items()}


def document_warnings(document: Mapping[str, Any]) -> list[str]:
    """What a Slack-created action may do but should not (after check_document passed)."""
    try:
        return payload_warnings(Action.model_validate(document))
    except ValidationError:
        return []


def as_yaml(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def diff(before: Any, after: Any) -> str:
    """A unified diff of two documents, for the audit log."""
    old = as_yaml(before).splitlines() if before is not None else []
    new = as_yaml(after).splitlines() if after is not None else []
    return "\n".join(difflib.unified_diff(old, new, "before", "after", lineterm=""))


# --- the audit log ----------------------------------------------------------------------


@dataclass
class RunsQuery:
    action: str | None = None
    user: str | None = None
    status: str | None = None
    since: datetime | None = None


def parse_runs_query(text: str, now: datetime | None = None) -> RunsQuery:
    """`action:deploy user:@ana status:failure since:7d` (any order, all optional)."""
    query = RunsQuery()
    for word in text.split():
        if not word.isprintable():  # control characters: no filter means them
            raise QueryError("filters are plain text, like status:failure")
        key, _, value = word.partition(":")
        if not value:
            raise QueryError(f"`{word}`: write filters as key:value")
        if key == "action":
            query.action = value
        elif key == "user":
            match = re.match(r"<@([UW][A-Z0-9]+)(\|[^>]*)?>$", value) or re.match(
                r"@?([UW][A-Z0-9]+)$", value
            )
            if not match:
                raise QueryError("`user:` takes a mention, like user:@someone")
            query.user = match.group(1)
        elif key == "status":
            if value.lower() not in STATUSES:
                raise QueryError(f"`status:` is one of {', '.join(sorted(STATUSES))}")
            query.status = value.upper()
        elif key == "since":
            try:
                query.since = (now or utcnow()) - timedelta(seconds=parse_duration(value))
            except ValueError:
                raise QueryError("`since:` takes a duration such as 24h or 7d") from None
        else:
            raise QueryError(f"unknown filter `{key}`; use action:, user:, status:, since:")
    return query


@dataclass
class WhyQuery:
    user: str
    action: str
    service: str | None = None
    inputs: dict[str, str] = dataclasses.field(default_factory=dict)


WHY_USAGE = "Usage: `/actions-admin why @user <action> [service] [input=value …]`"


def parse_why(words: list[str]) -> WhyQuery:
    """`@dee deploy checkout-api env=prod`: who, which action, on what, with which inputs."""
    if len(words) < 2:
        raise QueryError(WHY_USAGE)
    match = re.match(r"<@([UW][A-Z0-9]+)(\|[^>]*)?>$", words[0]) or re.match(
        r"@?([UW][A-Z0-9]+)$", words[0]
    )
    if not match:
        raise QueryError("mention the user (@someone) or give their id (U…). " + WHY_USAGE)
    query = WhyQuery(match.group(1), words[1])
    for word in words[2:]:
        key, sep, value = word.partition("=")
        if sep:
            query.inputs[key] = value
        elif query.service is None:
            query.service = word
        else:
            raise QueryError(f"`{word}`: one service at most. " + WHY_USAGE)
    return query


EXPORT_COLUMNS = [
    "at",
    "run_id",
    "action_id",
    "kind",
    "actor",
    "status",
    "user_id",
    "detail",
    "id",
    "seq",
    "prev_hash",
    "hash",
]


def export_audit(
    store: Store,
    since: datetime,
    until: datetime,
    fmt: str,
    redact: Redactor,
    tokens: Callable[[str], Iterable[str]] = lambda _: (),
) -> str:
    """The audit log of a period as CSV or JSON Lines (secrets redacted once more)."""
    if fmt not in ("csv", "jsonl"):
        raise QueryError("format is csv or jsonl")
    return format_rows(audit_rows(store, since, until, redact, tokens), fmt)


def audit_rows(
    store: Store,
    since: datetime,
    until: datetime,
    redact: Redactor,
    tokens: Callable[[str], Iterable[str]] = lambda _: (),
) -> list[dict[str, Any]]:
    """The rows of an export, in chain order, each with its event's id, seq and hashes.

    ``tokens`` gives a run's callback tokens: credentials, kept out of an export even if an
    event stored before they were redacted holds one.
    """
    store.seal_all()  # so every row carries its hash
    events = store.events_between(since, until)
    runs = {r.id: r for r in _runs_of(store, events)}
    rows = [_row(e, runs.get(e.run_id or "")) for e in events]
    of_run = {run_id: redact.extended(tokens(run_id)) for run_id in runs}
    redacted: list[dict[str, Any]] = [of_run.get(r["run_id"] or "", redact)(r) for r in rows]
    return redacted


def format_rows(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(row, default=str, ensure_ascii=False) + "\n" for row in rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for row in rows:
        detail = json.dumps(row["detail"], default=str, ensure_ascii=False)  # unicode as is
        writer.writerow({**row, "detail": detail})
    return out.getvalue()


def _runs_of(store: Store, events: Iterable[AuditEvent]) -> list[Run]:
    ids = {e.run_id for e in events if e.run_id}
    found = [store.get_run(run_id) for run_id in ids]
    return [r for r in found if r is not None]


def _row(event: AuditEvent, run: Run | None) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "run_id": event.run_id,
        # Every row names its action, also events written without one (the run knows it).
        "action_id": event.action_id or (run.action_id if run else None),
        "kind": event.kind,
        "actor": event.actor,
        "status": run.status if run else None,
        "user_id": run.user_id if run else None,
        "detail": event.detail,
        "id": event.id,
        "seq": event.seq,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
