"""Load the actions config file and validate all of it, reporting every error with its path."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from bot import templates
from bot.catalog import Action, Catalog, CatalogFile


class ConfigError(Exception):
    """The config cannot be used; ``errors`` lists each problem with its path."""

    def __init__(self, errors: list[str], warnings: list[str] | None = None) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors
        self.warnings = warnings or []


@dataclass
class Loaded:
    catalog: Catalog
    warnings: list[str] = field(default_factory=list)


def load_file(path: str | Path, secrets: Mapping[str, str] | None = None) -> Loaded:
    """Read and validate the config file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found (set ACTIONS_CONFIG)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    try:
        # YAML 1.2 (ruamel): `placeholder: What happened?}` parses, `no` stays a string,
        # and duplicate keys are errors rather than silently overwritten.
        document = YAML(typ="safe", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = (exc.problem or exc.context or "").strip()
        raise ConfigError([f"{path}{where}: invalid YAML: {problem}"]) from None
    except YAMLError as exc:
        raise ConfigError([f"{path}: invalid YAML: {exc}"]) from None
    return validate(document, source=str(path), secrets=secrets)


def validate(
    document: Any, *, source: str = "config", secrets: Mapping[str, str] | None = None
) -> Loaded:
    """Validate a parsed config document: schema, cross-references and templates."""
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError([f"{source}: expected a mapping with admins, teams, services, actions"])
    try:
        parsed = CatalogFile.model_validate(document)
    except ValidationError as exc:
        errors = [_describe(error) for error in exc.errors()]
        # Report template and reference problems of the actions that did parse, too, so an
        # author fixes everything in one round.
        for index, raw in enumerate(document.get("actions") or []):
            try:
                action = Action.model_validate(raw)
            except ValidationError:
                continue
            errors += _check_action(action, f"actions[{index}]")[0]
        raise ConfigError(errors) from None
    errors = _cross_references(parsed)
    used_secrets: set[str] = set()
    for index, action in enumerate(parsed.actions):
        action_errors, action_secrets = _check_action(action, f"actions[{index}]")
        errors += action_errors
        used_secrets |= action_secrets
    if errors:
        raise ConfigError(errors)
    warnings = []
    if secrets is not None:
        for name in sorted(used_secrets):
            if templates.secret_env_name(name).removeprefix("ACTIONS_SECRET_") not in secrets:
                warnings.append(
                    f"secret {name!r} is not set: define {templates.secret_env_name(name)} "
                    "(actions using it fail until it is)"
                )
    return Loaded(Catalog(parsed, source=source), warnings)


def _describe(error: Mapping[str, Any]) -> str:
    path = _path(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{path}: unknown key"
    if kind == "missing":
        return f"{path}: missing"
    message = error["msg"].removeprefix("Value error, ")
    if kind == "literal_error":
        message = message.replace("Input should be", "expected")
    elif kind == "string_pattern_mismatch":
        message = f"invalid value {error.get('input')!r} ({message})"
    return f"{path}: {message}"


def _path(loc: Iterable[Any]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in ("str", "list[str]", "dict[str,str]"):  # pydantic's union tags
            continue
        else:
            text += f".{part}" if text else str(part)
    return text or "config"


def _duplicates(ids: list[str], where: str) -> list[str]:
    counts = Counter(ids)
    return [
        f"{where}[{i}].id: duplicate id {value!r}"
        for i, value in enumerate(ids)
        if counts[value] > 1 and ids.index(value) != i
    ]


def _cross_references(doc: CatalogFile) -> list[str]:
    errors = _duplicates([t.id for t in doc.teams], "teams")
    errors += _duplicates([s.id for s in doc.services], "services")
    errors += _duplicates([a.id for a in doc.actions], "actions")
    teams = {t.id for t in doc.teams}
    for i, service in enumerate(doc.services):
        if service.owner not in teams:
            errors.append(f"services[{i}].owner: unknown team {service.owner!r}")
    for i, action in enumerate(doc.actions):
        if action.owner not in teams:
            errors.append(f"actions[{i}].owner: unknown team {action.owner!r}")
        if action.scope == "service" and not doc.services:
            errors.append(f"actions[{i}].scope: service, but no services are defined")
    return errors


def _check_action(action: Action, path: str) -> tuple[list[str], set[str]]:
    errors = _duplicates_inputs(action, path)
    for j, item in enumerate(action.inputs):
        where = f"{path}.inputs[{j}]"
        if item.pattern is not None:
            try:
                re.compile(item.pattern)
            except re.error as exc:
                errors.append(f"{where}.pattern: invalid regular expression: {exc}")
        if item.type == "dropdown":
            if not item.values:
                errors.append(f"{where}.values: a dropdown needs values")
            elif item.defaultValue is not None and item.option(item.defaultValue) is None:
                errors.append(f"{where}.defaultValue: {item.defaultValue!r} is not among values")
            values = [o.value for o in item.values]
            if len(set(values)) != len(values):
                errors.append(f"{where}.values: duplicate values")
        elif item.values:
            errors.append(f"{where}.values: only dropdown inputs take values")
        if item.minLength and item.maxLength and item.minLength > item.maxLength:
            errors.append(f"{where}.minLength: greater than maxLength")
        if item.defaultValue and item.maxLength and len(item.defaultValue) > item.maxLength:
            errors.append(f"{where}.defaultValue: longer than maxLength")
    hook = action.webhook
    if hook.payload and hook.method == "GET":
        errors.append(f"{path}.webhook.payload: a GET request has no body; use POST or the URL")
    if "{" not in hook.url and not re.match(r"^https?://[^/\s]+", hook.url):
        errors.append(f"{path}.webhook.url: expected an http:// or https:// URL")
    fields = [("webhook.url", hook.url, False), ("webhook.payload", hook.payload, False)]
    fields += [(f"webhook.headers.{k}", v, False) for k, v in hook.headers.items()]
    if action.response_template:
        fields.append(("response_template", action.response_template, True))
    secrets: set[str] = set()
    for name, source, response in fields:
        problems, used = templates.check(source, action, response=response)
        errors += [f"{path}.{name}: {problem}" for problem in problems]
        secrets |= used
    return errors, secrets


def _duplicates_inputs(action: Action, path: str) -> list[str]:
    seen: set[str] = set()
    errors = []
    for j, item in enumerate(action.inputs):
        if item.identifier in seen:
            errors.append(f"{path}.inputs[{j}].identifier: duplicate {item.identifier!r}")
        seen.add(item.identifier)
    return errors
