"""Backstage catalog descriptors (`catalog-info.yaml`) as services and teams.

`Component` → service (`spec.owner`, `spec.lifecycle`, `spec.type`, `spec.system`,
`metadata.tags`, `metadata.labels`, `metadata.annotations`, `metadata.links`);
`Group` → team. Slack ids come from annotations, since Backstage has no notion of them:
`slack.com/channel-id` (service or team channel) and `slack.com/member-ids` (a team's
members, comma-separated). Labels `tier`, `language`, `framework` and `product` fill
those service fields. Other kinds are skipped.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.catalog import Service, Team

CHANNEL = "slack.com/channel-id"
MEMBERS = "slack.com/member-ids"


def _entity_ref(value: Any) -> str:
    """`group:default/payments` → `payments`."""
    text = str(value or "")
    text = text.split(":", 1)[1] if ":" in text else text
    return text.rsplit("/", 1)[-1]


def _service(doc: dict[str, Any]) -> dict[str, Any]:
    meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
    labels = meta.get("labels") or {}
    annotations = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
    tags = {str(tag): "true" for tag in meta.get("tags") or []}
    tags.update({str(k): str(v) for k, v in labels.items()})
    tier = labels.get("tier")
    return {
        "id": meta.get("name"),
        "name": meta.get("title") or meta.get("name"),
        "description": (meta.get("description") or "")[:300],
        "owner": _entity_ref(spec.get("owner")) or None,
        "lifecycle": spec.get("lifecycle"),
        "type": spec.get("type"),
        "system": _entity_ref(spec.get("system")) or None,
        "tier": int(str(tier)) if str(tier or "").isdigit() else None,
        "language": labels.get("language"),
        "framework": labels.get("framework"),
        "product": labels.get("product"),
        "tags": tags,
        "annotations": annotations,
        "links": [
            {"title": link.get("title") or link.get("url"), "url": link.get("url")}
            for link in meta.get("links") or []
            if isinstance(link, dict)
        ],
        "channel": annotations.get(CHANNEL),
    }


def _team(doc: dict[str, Any]) -> dict[str, Any]:
    meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
    annotations = meta.get("annotations") or {}
    members = [m.strip() for m in str(annotations.get(MEMBERS) or "").split(",") if m.strip()]
    profile = spec.get("profile") or {}
    return {
        "id": meta.get("name"),
        "name": profile.get("displayName") or meta.get("title") or meta.get("name"),
        "members": members,
        "channel": annotations.get(CHANNEL),
    }


def _describe(where: str, exc: ValidationError) -> list[str]:
    fields = {
        "id": "metadata.name",
        "name": "metadata.title",
        "owner": "spec.owner",
        "channel": f"metadata.annotations[{CHANNEL}]",
        "members": f"metadata.annotations[{MEMBERS}]",
    }
    errors = []
    for error in exc.errors():
        loc = [str(p) for p in error["loc"]]
        field = fields.get(loc[0], ".".join(loc)) if loc else "document"
        problem = "missing" if error["type"] == "missing" else error["msg"]
        errors.append(f"{where}: {field}: {problem.removeprefix('Value error, ')}")
    return errors


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    """Leave absent fields out, so a missing name is reported as missing."""
    return {k: v for k, v in fields.items() if v is not None}


def load(
    patterns: list[str], base: Path
) -> tuple[list[Team], list[Service], list[str], dict[str, str]]:
    """Read every descriptor matched by ``patterns`` (relative to ``base``).

    Returns teams, services, errors, and where each service came from (`file[index]`).
    """
    origins: dict[str, str] = {}
    teams: list[Team] = []
    services: list[Service] = []
    errors: list[str] = []
    for index, pattern in enumerate(patterns):
        paths = sorted(glob.glob(str(base / pattern), recursive=True))
        if not paths:
            errors.append(f"catalog[{index}]: no file matches {pattern!r}")
        for path in paths:
            try:
                docs = list(YAML(typ="safe", pure=True).load_all(Path(path).read_text("utf-8")))
            except (OSError, UnicodeDecodeError, YAMLError) as exc:
                errors.append(f"{path}: cannot read: {str(exc).splitlines()[0]}")
                continue
            for number, doc in enumerate(docs):
                where = f"{path}[{number}]"
                if doc is None:
                    continue
                if not isinstance(doc, dict) or "kind" not in doc:
                    errors.append(f"{where}: not a Backstage entity (no kind)")
                    continue
                try:
                    if doc["kind"] == "Component":
                        service = Service.model_validate(_present(_service(doc)))
                        services.append(service)
                        origins[service.id] = where
                    elif doc["kind"] == "Group":
                        teams.append(Team.model_validate(_present(_team(doc))))
                except ValidationError as exc:
                    errors += _describe(where, exc)
    return teams, services, errors, origins
