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
from bot.backends import config as ci_config
from bot.catalog import (
    CHOICE_TYPES,
    FILTER_FIELDS,
    Access,
    Action,
    Approval,
    Backend,
    Catalog,
    CatalogFile,
    Expiry,
    Webhook,
    parse_duration,
)
from bot.config import backstage
from bot.config.words import pattern_words, plain_words
from bot.triggers import cron
from bot.webhooks.render import is_json


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
    document: dict[str, Any] = field(default_factory=dict)  # the file as parsed, for merging


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
        found: list[str] = _first_per_path(_describe(error) for error in exc.errors())
        # Report template and reference problems of the actions that did parse, too, so an
        # author fixes everything in one round.
        for index, raw in enumerate(document.get("actions") or []):
            try:
                action = Action.model_validate(raw)
            except ValidationError:
                continue
            found += _check_action(action, f"actions[{index}]")[0]
        raise ConfigError(found) from None
    errors: list[str] = []
    if parsed.catalog:
        parsed, errors = _with_descriptors(parsed, source)
    errors += _cross_references(parsed)
    used_secrets: set[str] = set()
    for index, action in enumerate(parsed.actions):
        action_errors, action_secrets = _check_action(action, f"actions[{index}]")
        errors += action_errors
        used_secrets |= action_secrets
    if errors:
        raise ConfigError(errors)
    warnings = [
        warning
        for index, action in enumerate(parsed.actions)
        for warning in payload_warnings(action, f"actions[{index}]")
    ]
    if secrets is not None:
        for name in sorted(used_secrets):
            if templates.secret_env_name(name).removeprefix("ACTIONS_SECRET_") not in secrets:
                warnings.append(
                    f"secret {name!r} is not set: define {templates.secret_env_name(name)} "
                    "(actions using it fail until it is)"
                )
    return Loaded(Catalog(parsed, source=source), warnings, document)


def merge(
    document: dict[str, Any],
    extra_actions: list[dict[str, Any]],
    *,
    source: str,
    secrets: Mapping[str, str] | None = None,
) -> Loaded:
    """The file's document plus actions created in Slack, validated together.

    A Slack-created action that no longer fits (its owner team was removed from the file,
    say) is left out with a warning rather than stopping the bot.
    """
    file_ids = {a.get("id") for a in document.get("actions") or [] if isinstance(a, dict)}
    kept, warnings = [], []
    for extra in extra_actions:
        if extra.get("id") in file_ids:
            warnings.append(f"Slack-created action {extra.get('id')!r} is shadowed by the file")
            continue
        try:
            validate(
                {**document, "actions": [*(document.get("actions") or []), extra]}, source=source
            )
        except ConfigError as exc:
            warnings.append(
                f"Slack-created action {extra.get('id')!r} left out: " + "; ".join(exc.errors)
            )
            continue
        kept.append(extra)
    merged = {**document, "actions": [*(document.get("actions") or []), *kept]}
    loaded = validate(merged, source=source, secrets=secrets)
    loaded.catalog.slack_ids = {str(a["id"]) for a in kept}
    loaded.warnings += warnings
    loaded.document = document
    return loaded


def _with_descriptors(doc: CatalogFile, source: str) -> tuple[CatalogFile, list[str]]:
    """Add the teams and services of the Backstage descriptors in `catalog`."""
    teams, services, errors, origins = backstage.load(doc.catalog, Path(source).resolve().parent)
    known = {t.id for t in doc.teams} | {t.id for t in teams}
    errors += [
        f"{origins[s.id]}: spec.owner: unknown team {s.owner!r}"
        for s in services
        if s.owner not in known
    ]
    services = [s for s in services if s.owner in known]  # reported above, with their file
    own_teams = {t.id for t in doc.teams}
    own_services = {s.id for s in doc.services}
    errors += [
        f"catalog: team {t.id!r} is also defined in teams" for t in teams if t.id in own_teams
    ]
    errors += [
        f"catalog: service {s.id!r} is also defined in services"
        for s in services
        if s.id in own_services
    ]
    merged = doc.model_copy(
        update={
            "teams": [*doc.teams, *(t for t in teams if t.id not in own_teams)],
            "services": [*doc.services, *(s for s in services if s.id not in own_services)],
        }
    )
    return merged, errors


def _first_per_path(messages: Iterable[str]) -> list[str]:
    """A union reports once per branch; the author needs one line per key."""
    seen: dict[str, str] = {}
    for message in messages:
        seen.setdefault(message.split(": ", 1)[0], message)
    return list(seen.values())


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
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        message = f"invalid value {error.get('input')!r}: {pattern_words(pattern)}"
    elif kind == "value_error" and (field := _FIELD_FIRST.match(message)):
        # A whole-model check names the key it is about: put it in the path.
        return f"{path}.{field[1]}: {message[field.end() :]}"
    else:
        message = plain_words(kind, error.get("ctx") or {}) or message
    return f"{path}: {message}"


_FIELD_FIRST = re.compile(r"^([a-z_]+): ")


# pydantic names the branch of a union it tried (`literal['a','b']`, `Access`, `str`,
# `list[Option]`, `function-after[...]`): internals, not keys the author wrote.
_UNION_TAG = re.compile(r"^(literal\[|list\[|dict\[|function-|str$|int$|float$|bool$|[A-Z])")


def _path(loc: Iterable[Any]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _UNION_TAG.match(str(part)):
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
        if action.approval is not None:
            errors += [
                f"actions[{i}].approval.approvers.teams: unknown team {t!r}"
                for t in action.approval.approvers.teams
                if t not in teams
            ]
            rule = action.approval.approvers
            if not (rule.teams or rule.users or rule.usergroups or rule.dynamic):
                errors.append(f"actions[{i}].approval.approvers: name at least one approver")
            if rule.service_owners and action.scope != "service":
                errors.append(
                    f"actions[{i}].approval.approvers.service_owners: only scope: service "
                    "actions have a service"
                )
        if isinstance(action.access, Access):
            errors += [
                f"actions[{i}].access.teams: unknown team {t!r}"
                for t in action.access.teams
                if t not in teams
            ]
    return errors + _group_limits(doc) + _chains(doc) + _schedules(doc)


def _schedules(doc: CatalogFile) -> list[str]:
    """Each schedule names an action and its inputs, and a valid time: cron or at."""
    actions = {a.id: a for a in doc.actions}
    services = {s.id for s in doc.services}
    errors = _duplicates([s.id for s in doc.schedules], "schedules")
    for i, spec in enumerate(doc.schedules):
        where = f"schedules[{i}]"
        action = actions.get(spec.action)
        if action is None:
            errors.append(f"{where}.action: unknown action {spec.action!r}")
        else:
            errors += [
                f"{where}.inputs.{key}: not an input of {action.id!r}"
                for key in spec.inputs
                if action.input(key) is None
            ]
            if action.scope == "service" and spec.service is None:
                errors.append(f"{where}.service: {action.id!r} runs on a service; name one")
        if spec.service is not None and spec.service not in services:
            errors.append(f"{where}.service: unknown service {spec.service!r}")
        if (spec.cron is None) == (spec.at is None):
            errors.append(f"{where}.cron: give either cron (recurring) or at (once)")
        try:
            if spec.cron is not None:
                cron.trigger(spec.cron, spec.timezone)
            else:
                cron.zone(spec.timezone)
        except cron.CronError as exc:
            field = "timezone" if "time zone" in str(exc) else "cron"
            errors.append(f"{where}.{field}: {exc}")
    return errors


MAX_CHAIN = 5  # steps after the first


def _chains(doc: CatalogFile) -> list[str]:
    """Each next step names an action, fills only its inputs, and no chain loops or goes
    deeper than MAX_CHAIN steps."""
    actions = {a.id: a for a in doc.actions}
    errors: list[str] = []
    for i, action in enumerate(doc.actions):
        for name in ("on_success", "on_failure"):
            step = getattr(action, name)
            if step is None:
                continue
            where = f"actions[{i}].{name}"
            target = actions.get(step.action)
            if target is None:
                errors.append(f"{where}.action: unknown action {step.action!r}")
                continue
            for key in step.inputs:
                if target.input(key) is None:
                    errors.append(f"{where}.inputs.{key}: not an input of {target.id!r}")
            problem = _chain_problem(actions, [action.id, step.action])
            if problem:
                errors.append(f"{where}: {problem}")
    return errors


def _chain_problem(actions: Mapping[str, Action], path: list[str]) -> str | None:
    if path[-1] in path[:-1]:
        return "the chain loops: " + " → ".join(path)
    if len(path) - 1 > MAX_CHAIN:
        return f"the chain is deeper than {MAX_CHAIN} steps: " + " → ".join(path)
    current = actions.get(path[-1])
    for step in (current.on_success, current.on_failure) if current else ():
        if step is not None and step.action in actions:
            problem = _chain_problem(actions, [*path, step.action])
            if problem:
                return problem
    return None


def _group_limits(doc: CatalogFile) -> list[str]:
    """Actions sharing a concurrency group share its slots: they must agree on how many."""
    first: dict[str, tuple[int, int]] = {}
    errors: list[str] = []
    for i, action in enumerate(doc.actions):
        rule = action.concurrency
        if rule is None or rule.group is None:
            continue
        j, limit = first.setdefault(rule.group, (i, rule.limit))
        if limit != rule.limit:
            errors.append(
                f"actions[{i}].concurrency.limit: group {rule.group!r} has limit {limit} "
                f"in actions[{j}]"
            )
    return errors


def _check_filter(action: Action, path: str) -> list[str]:
    if action.filter is None:
        return []
    errors = []
    if action.scope != "service":
        errors.append(f"{path}.filter: only scope: service actions have a filter")
    errors += [
        f"{path}.filter.{key}: unknown service field"
        for key in action.filter
        if key not in FILTER_FIELDS
    ]
    if not isinstance(action.filter.get("tags", {}), dict):
        errors.append(f"{path}.filter.tags: expected a mapping of tag to value(s)")
    return errors


def _check_action(action: Action, path: str) -> tuple[list[str], set[str]]:
    errors = _duplicates_inputs(action, path)
    identifiers = [i.identifier for i in action.inputs]
    errors_of_inputs, secrets = _check_inputs(action, path, identifiers)
    errors += errors_of_inputs
    errors += _check_filter(action, path)
    fields = _target_fields(action, path, "", action.webhook, action.backend, errors)
    if action.response_template:
        fields.append(("response_template", action.response_template, True))
    if action.backend is not None and action.is_async:
        errors.append(f"{path}.async: a backend's run is followed by the bot; remove async")
    if action.concurrency is not None:
        fields.append(("concurrency.key", action.concurrency.key, False))
    for name in ("on_success", "on_failure"):
        step = getattr(action, name)
        for key, source in (step.inputs if step else {}).items():
            fields.append((f"{name}.inputs.{key}", source, True))
    for key, source in (action.from_message or {}).items():
        if key not in identifiers and not (key == "service" and action.scope == "service"):
            errors.append(f"{path}.from_message.{key}: not an input of this action")
        errors += [f"{path}.from_message.{key}: {p}" for p in templates.check_message(source)]
    if action.expires is not None:
        fields += _expires_fields(action, action.expires, path, errors)
    for name, source, response in fields:
        problems, used = templates.check(source, action, response=response)
        errors += [f"{path}.{name}: {problem}" for problem in problems]
        secrets |= used
    if action.approval is not None:
        problems, used = _check_approval(action, action.approval, path)
        errors += problems
        secrets |= used
    return errors, secrets


def _check_inputs(action: Action, path: str, identifiers: list[str]) -> tuple[list[str], set[str]]:
    """Each input's own problems, and those of the templates in its values and defaults."""
    errors: list[str] = []
    secrets: set[str] = set()
    for j, item in enumerate(action.inputs):
        where = f"{path}.inputs[{j}]"
        errors += _check_input(item, where, identifiers)
        for name, text in (
            ("values", item.values),
            ("defaultValue", item.defaultValue),
            ("visible", item.visible),
        ):
            if isinstance(text, str) and "{" in text:
                problems, used = templates.check(text, action, form=True)
                errors += [f"{where}.{name}: {problem}" for problem in problems]
                secrets |= used
        if item.values_from is not None:
            for name, text in [
                ("url", item.values_from.url),
                *((f"headers.{k}", v) for k, v in item.values_from.headers.items()),
            ]:
                problems, used = templates.check(text, action, form=True)
                errors += [f"{where}.values_from.{name}: {problem}" for problem in problems]
                secrets |= used
    return errors, secrets


def _expires_fields(
    action: Action, expires: Expiry, path: str, errors: list[str]
) -> list[tuple[str, str, bool]]:
    """The templates of ``expires:`` to check; its own problems go to errors."""
    fields = [("expires.after", expires.after, False)]
    fields += _target_fields(action, path, "expires.", expires.webhook, expires.backend, errors)
    if "{" not in expires.after:
        try:
            if parse_duration(expires.after) > expires.max:
                errors.append(f"{path}.expires.after: longer than expires.max")
        except ValueError as exc:
            errors.append(f"{path}.expires.after: {exc}")
    return fields


def _check_approval(action: Action, approval: Approval, path: str) -> tuple[list[str], set[str]]:
    """The problems of the approval conditions, and the secrets they name."""
    errors: list[str] = []
    secrets: set[str] = set()
    conditions = [("approval.when", approval.when)]
    conditions += [
        (f"approval.auto_approve[{k}].when", rule.when)
        for k, rule in enumerate(approval.auto_approve)
    ]
    for name, source in conditions:
        if source:
            problems, used = templates.check(templates.condition(source), action, policy=True)
            errors += [f"{path}.{name}: {problem}" for problem in problems]
            secrets |= used
    return errors, secrets


def _target_fields(
    action: Action,
    path: str,
    at: str,
    hook: Webhook | None,
    backend: Backend | None,
    errors: list[str],
) -> list[tuple[str, str, bool]]:
    """The templates of a webhook or a backend, to check; its own problems go to errors."""
    if backend is not None:
        errors += [f"{path}.{at}backend.{problem}" for problem in ci_config.problems(backend)]
        return [
            (f"{at}backend.{name}", text, False) for name, text in ci_config.templates_of(backend)
        ]
    assert hook is not None  # the schema wants exactly one of them
    if hook.payload and hook.method == "GET":
        errors.append(f"{path}.{at}webhook.payload: a GET request has no body; use POST or the URL")
    if "{" not in hook.url and not re.match(r"^https?://[^/\s]+", hook.url):
        errors.append(f"{path}.{at}webhook.url: expected an http:// or https:// URL")
    fields = [(f"{at}webhook.url", hook.url, False), (f"{at}webhook.payload", hook.payload, False)]
    return fields + [(f"{at}webhook.headers.{k}", v, False) for k, v in hook.headers.items()]


def payload_warnings(action: Action, path: str = "") -> list[str]:
    """JSON payload templates that print an input without `| json`: allowed, but fragile."""
    hooks = [("webhook", action.webhook)] if action.webhook is not None else []
    if action.expires is not None and action.expires.webhook is not None:
        hooks.append(("expires.webhook", action.expires.webhook))
    warnings = []
    for name, hook in hooks:
        content_type = hook.header("Content-Type")
        if not hook.payload or (content_type and not is_json(content_type)):
            continue
        where = f"{path}.{name}.payload" if path else f"{name}.payload"
        warnings += [
            f"{where}: input {identifier!r} is interpolated without `| json`; a quote or line "
            f"break typed into it breaks the JSON (write "
            f"{{{{ manualInputs.{identifier} | json }}}})"
            for identifier in templates.inputs_without_json(hook.payload)
        ]
    return warnings


def payload_errors(action: Action) -> dict[str, str]:
    """JSON payload templates that can never render valid JSON, by where they are
    (`webhook.payload`, `expires.webhook.payload`), each with its line and column."""
    hooks = [("webhook", action.webhook)]
    if action.expires is not None:
        hooks.append(("expires.webhook", action.expires.webhook))
    errors = {}
    for name, hook in hooks:
        if hook is None:  # a CI backend: no payload of ours
            continue
        content_type = hook.header("Content-Type")
        if not hook.payload or (content_type and not is_json(content_type)):
            continue
        problem = templates.json_shape_problem(hook.payload)
        if problem:
            errors[f"{name}.payload"] = problem
    return errors


def _check_input(item: Any, where: str, identifiers: list[str]) -> list[str]:
    errors = []
    kind = item.type
    if item.pattern is not None:
        try:
            re.compile(item.pattern)
        except re.error as exc:
            errors.append(f"{where}.pattern: invalid regular expression: {exc}")
    static = item.static_values
    if kind in CHOICE_TYPES:
        sources = [bool(item.values), item.binding is not None, item.values_from is not None]
        if not any(sources):
            errors.append(f"{where}.values: a {kind} needs values, binding or values_from")
        elif sum(sources) > 1:
            errors.append(f"{where}: use one of values, binding and values_from")
        if kind in ("checkboxes", "radio"):
            if item.binding or item.values_from:
                errors.append(f"{where}: {kind} takes a list of values (at most 10)")
            if len(static) > 10:
                errors.append(f"{where}.values: Slack shows at most 10 {kind} options")
        values = [o.value for o in static]
        if len(set(values)) != len(values):
            errors.append(f"{where}.values: duplicate values")
        default = item.defaultValue
        if static and default is not None and not (isinstance(default, str) and "{" in default):
            wanted = default if isinstance(default, list) else [default]
            missing = [str(v) for v in wanted if item.option(str(v)) is None]
            if missing:
                errors.append(
                    f"{where}.defaultValue: {', '.join(map(repr, missing))} is not among values"
                )
    elif (item.values and kind != "duration") or item.binding or item.values_from:
        errors.append(
            f"{where}.values: only dropdown, multi_select, checkboxes and radio inputs take options"
        )
    if kind != "number" and (item.min is not None or item.max is not None or item.integer):
        errors.append(f"{where}: min, max and integer are for number inputs")
    if item.min is not None and item.max is not None and item.min > item.max:
        errors.append(f"{where}.min: greater than max")
    if item.minLength and item.maxLength and item.minLength > item.maxLength:
        errors.append(f"{where}.minLength: greater than maxLength")
    default = item.defaultValue
    if (
        isinstance(default, str)
        and "{" not in default
        and item.maxLength
        and len(default) > item.maxLength
    ):
        errors.append(f"{where}.defaultValue: longer than maxLength")
    for parent in item.dependsOn:
        if parent == item.identifier or parent not in identifiers:
            errors.append(f"{where}.dependsOn: {parent!r} is not another input of this action")
    return errors


def _duplicates_inputs(action: Action, path: str) -> list[str]:
    seen: set[str] = set()
    errors = []
    for j, item in enumerate(action.inputs):
        if item.identifier in seen:
            errors.append(f"{path}.inputs[{j}].identifier: duplicate {item.identifier!r}")
        seen.add(item.identifier)
    return errors
