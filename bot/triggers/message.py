"""Starting an action from a Slack message: what templates see of it, and the prefill.

Everything here comes from someone's message (or an alert bot's attachments): it is text
for a form's fields, validated like anything typed, never a decision.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot import templates
from bot.catalog import Action

log = logging.getLogger(__name__)

TEXT_LIMIT = 4000
ATTACHMENT_FIELDS = ("fallback", "pretext", "title", "title_link", "text", "footer", "color")
MAX_FILES = 20
MAX_ATTACHMENTS = 10


def _text(value: Any, limit: int = TEXT_LIMIT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _attachment(raw: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {k: _text(raw.get(k), 1000) for k in ATTACHMENT_FIELDS}
    listed = raw.get("fields")
    fields: list[Any] = listed if isinstance(listed, list) else []
    found["fields"] = [
        {"title": _text(f.get("title"), 200), "value": _text(f.get("value"), 1000)}
        for f in fields[:20]
        if isinstance(f, Mapping)
    ]
    return found


def context(message: Any, permalink: str | None = None) -> dict[str, Any]:
    """The `message` templates see, read defensively from Slack's message object."""
    message = message if isinstance(message, Mapping) else {}
    files = message.get("files") if isinstance(message.get("files"), list) else []
    attachments = message.get("attachments")
    attachments = attachments if isinstance(attachments, list) else []
    return {
        "text": _text(message.get("text")),
        "user": _text(message.get("user") or message.get("bot_id"), 32),
        "ts": _text(message.get("ts"), 32),
        "permalink": _text(permalink, 500),
        "files": [_text(f.get("name"), 255) for f in files[:MAX_FILES] if isinstance(f, Mapping)],
        "attachments": [
            _attachment(a) for a in attachments[:MAX_ATTACHMENTS] if isinstance(a, Mapping)
        ],
    }


def prefill(
    action: Action, message: Mapping[str, Any], secrets: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """(values for the form, errors by input): a failed field stays empty, never the form."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for identifier, source in (action.from_message or {}).items():
        try:
            rendered = templates.render_sync(source, {"message": message}, secrets).strip()
        except templates.TemplateError as exc:
            errors[identifier] = str(exc)
            continue
        if rendered:
            values[identifier] = rendered
    return values, errors
