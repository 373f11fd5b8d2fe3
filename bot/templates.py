"""The one Liquid environment: filters, limits, template contexts and static checks."""

from __future__ import annotations

import asyncio
import io
import json
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from functools import lru_cache, partial
from typing import Any

from liquid import BoundTemplate, Environment, Markup, RenderContext
from liquid.builtin.output import Output, OutputNode
from liquid.builtin.tags.capture_tag import CaptureNode, CaptureTag
from liquid.builtin.tags.cycle_tag import CycleNode, CycleTag
from liquid.builtin.tags.echo_tag import EchoNode, EchoTag
from liquid.exceptions import LiquidError
from liquid.extra import JSON
from liquid.filter import with_context
from liquid.stringify import to_liquid_string
from liquid.token import Token
from liquid.undefined import UNDEFINED

from bot.catalog import Action, Catalog, Service, Team
from bot.mrkdwn import inert

RENDER_TIMEOUT = 2.0  # seconds; Liquid has no clock of its own


class TemplateError(Exception):
    """A template failed to render; the message is safe to show (after redaction)."""


# When the render running in this thread (or task) must stop; set by render_sync.
_DEADLINE: ContextVar[float] = ContextVar("render_deadline", default=math.inf)


def _check_deadline() -> None:
    if time.monotonic() > _DEADLINE.get():
        raise TemplateError(f"rendering took longer than {RENDER_TIMEOUT:g} s")


class _DeadlineContext(RenderContext):
    """Stops the render at its deadline, in the thread doing it.

    A thread cannot be killed, so giving up on it from outside would leave it burning CPU.
    Every variable lookup, filter and loop start checks the clock instead: whatever keeps
    a render busy does one of those again and again.
    """

    def get(self, path: list[object], *, token: Token | None, default: object = UNDEFINED) -> Any:
        _check_deadline()
        return super().get(path, token=token, default=default)

    def filter(self, name: str, token: Token | None) -> Callable[..., object]:
        _check_deadline()
        return super().filter(name, token)

    def raise_for_loop_limit(self, length: int = 1) -> None:
        _check_deadline()
        super().raise_for_loop_limit(length)


class _DeadlineTemplate(BoundTemplate):
    context_class = _DeadlineContext


class ActionsEnvironment(Environment):
    # Bounds on what an action owner's template may cost us per render.
    loop_iteration_limit = 10_000
    output_stream_limit = 256 * 1024
    context_depth_limit = 30
    local_namespace_limit = 64 * 1024
    template_class = _DeadlineTemplate


def secret_env_name(name: str) -> str:
    """`pagerduty-token` → `ACTIONS_SECRET_PAGERDUTY_TOKEN`."""
    return "ACTIONS_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def _secret_key(name: str) -> str:
    return secret_env_name(name).removeprefix("ACTIONS_SECRET_")


class Secrets(Mapping[str, str]):
    """`secrets.NAME` in templates: normalised like the filter, and loud when unset."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def __getitem__(self, name: str) -> str:
        key = _secret_key(str(name))
        if key not in self._values:
            raise TemplateError(f"secret {name!r} is not set (define {secret_env_name(str(name))})")
        return self._values[key]

    def __contains__(self, name: object) -> bool:
        return _secret_key(str(name)) in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@with_context
def _secret(value: object, name: object = None, *, context: Any) -> str:
    # OpsLevel writes both `{{ 'NAME' | secret }}` and `{{ '' | secret: 'NAME' }}`.
    key = str(name if name else value)
    secrets = context.globals.get("secrets")
    if not isinstance(secrets, Secrets):
        secrets = Secrets({})
    return secrets[key]


def _tag_value(service: object, key: object) -> str:
    tags = service.get("tags") if isinstance(service, Mapping) else None
    if isinstance(tags, Mapping):
        value = tags.get(str(key))
        return "" if value is None else str(value)
    if isinstance(tags, list):  # OpsLevel's [{key, value}] shape
        for tag in tags:
            if isinstance(tag, Mapping) and tag.get("key") == key:
                return str(tag.get("value", ""))
    return ""


def trusted(value: object) -> Markup:
    """`{{ x | trusted }}`: the author vouches for *x*; it is posted to Slack unescaped."""
    return Markup(to_liquid_string(value, autoescape=False))


# --- templates whose output is posted to Slack ------------------------------------------
#
# Every value that `{{ }}`, `{% echo %}` or `{% cycle %}` prints is escaped for Slack
# unless it is Markup, liquid's marker for safe text: what `| trusted` returns, and what
# `{% capture %}` makes of output that was escaped already. Liquid's own `autoescape` is
# not used: it escapes for HTML only, and its string literals are Markup, so
# `{{ "x" | append: value }}` would let a value's `[text](url)` through to the Markdown
# conversion.


def _shown(value: object) -> str:
    text = to_liquid_string(value, autoescape=False)
    return text if hasattr(value, "__html__") else inert(text)


class _Escaped:
    # Mixed into liquid's output nodes: the same rendering, escaped for Slack.
    expression: Any

    def render_to_output(self, context: Any, buffer: Any) -> int:
        return buffer.write(_shown(self.expression.evaluate(context)))

    async def render_to_output_async(self, context: Any, buffer: Any) -> int:
        return buffer.write(_shown(await self.expression.evaluate_async(context)))


class _SlackOutputNode(_Escaped, OutputNode):
    pass


class _SlackEchoNode(_Escaped, EchoNode):
    pass


class _SlackCaptureNode(CaptureNode):
    def _assign(self, context: Any, buf: Any) -> None:
        context.assign(self.name, Markup(buf.getvalue()))


class _SlackCycleNode(CycleNode):
    # `{% cycle a, b %}` prints one of its arguments: escaped, whichever it is.
    def render_to_output(self, context: Any, buffer: Any) -> int:
        out = io.StringIO()
        super().render_to_output(context, out)
        return buffer.write(inert(out.getvalue()))

    async def render_to_output_async(self, context: Any, buffer: Any) -> int:
        out = io.StringIO()
        await super().render_to_output_async(context, out)
        return buffer.write(inert(out.getvalue()))


class _SlackOutput(Output):
    node_class = _SlackOutputNode


class _SlackEcho(EchoTag):
    node_class = _SlackEchoNode


class _SlackCapture(CaptureTag):
    node_class = _SlackCaptureNode


class _SlackCycle(CycleTag):
    node_class = _SlackCycleNode


SCAN_LIMIT = 20_000  # characters of text a `scan` reads: the text may be anyone's


@lru_cache(maxsize=256)
def _pattern(source: str) -> re.Pattern[str]:
    try:
        return re.compile(source)
    except re.error as exc:
        raise TemplateError(f"scan: invalid regular expression {source!r}: {exc}") from None


def _scan(value: object, pattern: object) -> list[str]:
    """Every match of a regular expression in the text: its first group if it has one.

    `{{ message.text | scan: 'svc:([a-z0-9-]+)' | first }}`
    """
    if value is None:
        return []
    compiled = _pattern(str(pattern))
    found = compiled.finditer(str(value)[:SCAN_LIMIT])
    return [m.group(1) if compiled.groups else m.group(0) for m in found]


def build_environment(*, slack: bool = False) -> Environment:
    """The one environment's configuration; ``slack`` escapes output for Slack messages."""
    env = ActionsEnvironment()
    env.filters["json"] = JSON(default=str)  # dates and the like become strings
    env.filters["jsonify"] = env.filters["json"]
    env.filters["secret"] = _secret
    env.filters["tag_value"] = _tag_value
    env.filters["trusted"] = trusted
    env.filters["scan"] = _scan
    if slack:
        for tag in (_SlackOutput, _SlackEcho, _SlackCapture, _SlackCycle):
            env.add_tag(tag)
    return env


ENV = build_environment()
SLACK_ENV = build_environment(slack=True)  # response templates: what users read in Slack


# --- contexts -------------------------------------------------------------------------

USER_FIELDS = {"id", "name", "email"}
ACTION_FIELDS = {"id", "name", "description"}
TEAM_FIELDS = {"id", "name", "members", "channel", "href"}
RUN_FIELDS = {"id", "callback_url", "callback_token", "parent_id"}
APPROVAL_FIELDS = {"approvers", "comment"}
SERVICE_FIELDS = {*Service.model_fields, "slug", "href"}
RESPONSE_FIELDS = {"status", "body", "headers"}
CI_FIELDS = {"conclusion", "url", "run_id", "jobs", "duration", "status"}


def sender(user_id: str, user_name: str | None, profile: Mapping[str, Any]) -> dict[str, Any]:
    """`user` as a request template sees it when the request is sent: the profile Slack
    gives (name, email, …) over what the payload said. The dry run fills it the same way."""
    return {"id": user_id, "name": profile.get("name") or user_name, **profile}


def team_context(team: Team) -> dict[str, Any]:
    href = f"https://slack.com/app_redirect?channel={team.channel}" if team.channel else ""
    return {**team.model_dump(), "href": href}


def service_context(service: Service, catalog: Catalog) -> dict[str, Any]:
    data = service.model_dump()
    owner = catalog.team(service.owner)
    data["owner"] = team_context(owner) if owner else {"id": service.owner, "name": service.owner}
    data["slug"] = service.id
    data["href"] = service.links[0].url if service.links else ""
    return data


def request_context(
    *,
    catalog: Catalog,
    action: Action,
    user: Mapping[str, Any],
    inputs: Mapping[str, Any],
    service: Service | None,
    run_id: str,
) -> dict[str, Any]:
    """What the URL, header and payload templates see (OpsLevel's names)."""
    values = {i.identifier: inputs.get(i.identifier) for i in action.inputs}
    return {
        "manualInputs": values,
        "inputs": values,
        "user": {k: user.get(k) for k in USER_FIELDS},
        "service": service_context(service, catalog) if service else None,
        "action": {"id": action.id, "name": action.name, "description": action.description},
        "action_owner": team_context(catalog.owner_of(action)),
        "run": {"id": run_id, "parent_id": None},
        "approval": {"approvers": [], "comment": ""},
        "expires_at": None,
    }


def response_context(
    base: Mapping[str, Any], *, status: int | None, body: Any, headers: Mapping[str, str], ok: bool
) -> dict[str, Any]:
    # Rendered with render(..., slack=True): every value is escaped on output.
    return {
        **base,
        "response": {"status": status, "body": body, "headers": dict(headers)},
        "status": "SUCCESS" if ok else "FAILURE",
    }


# --- rendering ------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _parse(source: str, slack: bool = False) -> Any:
    return (SLACK_ENV if slack else ENV).from_string(source)


def render_sync(
    source: str, context: Mapping[str, Any], secrets: Mapping[str, str], *, slack: bool = False
) -> str:
    """Render, stopping with TemplateError after RENDER_TIMEOUT seconds; with ``slack``,
    every value is escaped for a Slack message."""
    deadline = _DEADLINE.set(time.monotonic() + RENDER_TIMEOUT)
    try:
        return _parse(source, slack).render(**context, secrets=Secrets(secrets))
    except TemplateError:
        raise
    except LiquidError as exc:
        raise TemplateError(str(exc)) from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateError(f"{type(exc).__name__}: {exc}") from None
    finally:
        _DEADLINE.reset(deadline)


async def render(
    source: str, context: Mapping[str, Any], secrets: Mapping[str, str], *, slack: bool = False
) -> str:
    """Render off the event loop, bounded in time as well as in loops and output."""
    if "{" not in source:
        return source
    try:
        # The render stops itself at the deadline; this only frees us from one long call.
        return await asyncio.wait_for(
            asyncio.to_thread(partial(render_sync, slack=slack), source, context, secrets),
            RENDER_TIMEOUT,
        )
    except TimeoutError:
        raise TemplateError(f"rendering took longer than {RENDER_TIMEOUT:g} s") from None


_LONE_OUTPUT = re.compile(r"\s*\{\{-?\s*([^|{}]+?)\s*-?\}\}\s*", re.DOTALL)


def condition(source: str) -> str:
    """An approval condition as a template: a lone `{{ a == 'b' }}` is read as an `if`,
    since Liquid's output has no comparisons; anything else renders as written."""
    found = _LONE_OUTPUT.fullmatch(source)
    if found is None:
        return source
    return f"{{% if {found[1]} %}}true{{% else %}}false{{% endif %}}"


def parse_body(text: str) -> Any:
    """A response body as templates see it: parsed JSON, or the text itself."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: a receiver's deeply nested JSON
        return text


# --- static checks (config load) --------------------------------------------------------

_SECRET_LITERAL = re.compile(
    r"""(['"])([^'"]+)\1\s*\|\s*secret\b(?!\s*:)|\|\s*secret\s*:\s*(['"])([^'"]+)\3"""
)


def check(
    source: str,
    action: Action,
    *,
    response: bool = False,
    form: bool = False,
    policy: bool = False,
) -> tuple[list[str], set[str]]:
    """Parse a template and check every variable and filter it uses.

    Returns (errors, secret names used). Variables are checked against the context the
    template will get: the action's own input identifiers, the known fields of user,
    service, action, owner and run, and the response only in response templates. Form
    templates (options, defaults, visibility) see only inputs, user and service; approval
    conditions (``policy``) also see `user.on_call`.
    """
    try:
        template = _parse(source)
        paths = template.global_variable_segments()
        filters = template.filter_names()
    except LiquidError as exc:
        return [f"Liquid syntax error: {exc}"], set()
    errors = [f"unknown filter {name!r}" for name in filters if name not in ENV.filters]
    secrets = {m.group(2) or m.group(4) for m in _SECRET_LITERAL.finditer(source)}
    for segments in paths:
        problem = _check_path(segments, action, response=response, form=form, policy=policy)
        if problem:
            errors.append(problem)
        elif segments[0] == "secrets" and len(segments) > 1 and isinstance(segments[1], str):
            secrets.add(segments[1])
    return sorted(set(errors)), secrets


MESSAGE_FIELDS = {"text", "user", "ts", "permalink", "files", "attachments"}


def check_message(source: str) -> list[str]:
    """A `from_message` template: Liquid that sees only `message` and its known fields."""
    try:
        template = _parse(source)
        paths = template.global_variable_segments()
        filters = template.filter_names()
    except LiquidError as exc:
        return [f"Liquid syntax error: {exc}"]
    errors = [f"unknown filter {name!r}" for name in filters if name not in ENV.filters]
    for segments in paths:
        if segments[0] != "message":
            errors.append(f"unknown variable {segments[0]!r}: only message.* is known here")
        elif len(segments) > 1 and segments[1] not in MESSAGE_FIELDS:
            errors.append(f"unknown field message.{segments[1]}")
    return sorted(set(errors))


_OUTPUT = re.compile(r"\{\{-?(.*?)-?\}\}", re.DOTALL)
_INPUT_REF = re.compile(
    r"""\b(?:manualInputs|inputs)(?:\.([A-Za-z_][\w-]*)|\[\s*(['"])(.+?)\2\s*\])"""
)


# The last filter of an output that leaves valid JSON: `json`, or one that makes a number.
_JSON_SAFE_FILTERS = {
    "json", "jsonify", "plus", "minus", "times", "divided_by", "modulo", "round", "ceil",
    "floor", "abs", "at_least", "at_most", "size",
}  # fmt: skip


_TAG_OR_COMMENT = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def json_shape_problem(source: str) -> str | None:
    """Why a JSON payload template can never render valid JSON, with its line and column;
    None when it can, or when tags (`{% if %}`, loops) make its shape depend on the values.

    Each `{{ … }}` stands for one JSON value (as `| json` prints it) and keeps its place,
    so the line and column are the template's own.
    """
    if _TAG_OR_COMMENT.search(source):
        return None

    def placeholder(match: re.Match[str]) -> str:
        text = match.group(0)
        return "0" + re.sub(r"[^\n]", " ", text[1:])

    skeleton = _OUTPUT.sub(placeholder, source)
    try:
        json.loads(skeleton)
    except json.JSONDecodeError as exc:
        return f"Not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    return None


def inputs_without_json(source: str) -> list[str]:
    """The inputs a JSON payload template prints without `| json`, in order of use.

    A quote or line break typed into such an input breaks the JSON, or adds keys to it.
    """
    found: list[str] = []
    for output in _OUTPUT.finditer(source):
        expression, *filters = output[1].split("|")
        if filters and filters[-1].split(":")[0].strip() in _JSON_SAFE_FILTERS:
            continue
        for ref in _INPUT_REF.finditer(expression):
            name = ref[1] or ref[3]
            if name not in found:
                found.append(name)
    return found


def _check_path(
    segments: list[Any], action: Action, *, response: bool, form: bool, policy: bool = False
) -> str | None:
    names = [s for s in segments if isinstance(s, str | int)]
    if len(names) != len(segments):  # a computed index: a[b.c]; check the root only
        names = names[:1]
    dotted = ".".join(str(s) for s in names)
    root = names[0]
    field = names[1] if len(names) > 1 else None
    inputs = {i.identifier for i in action.inputs}
    known: dict[str, set[str] | None] = {
        "manualInputs": inputs,
        "inputs": inputs,
        "user": USER_FIELDS | {"on_call"} if policy else USER_FIELDS,
        "action": ACTION_FIELDS,
        "action_owner": TEAM_FIELDS,
        "run": RUN_FIELDS,
        "secrets": None,
        "approval": APPROVAL_FIELDS,
        "expires_at": set(),
    }
    if action.scope == "service":
        known["service"] = SERVICE_FIELDS
    if form:
        known = {
            k: v for k, v in known.items() if k in ("manualInputs", "inputs", "user", "service")
        }
    if response:
        known["response"] = RESPONSE_FIELDS
        known["status"] = set()
        if getattr(action, "backend", None) is not None:
            known["ci"] = CI_FIELDS
    if root not in known:
        if root == "service":
            return f"unknown variable {dotted} (service is only set for scope: service)"
        if root in ("response", "status"):
            return f"unknown variable {dotted} (response is only set in response_template)"
        if form:
            return f"unknown variable {dotted} (forms see manualInputs, user and service)"
        return f"unknown variable {dotted}"
    allowed = known[root]
    if field is None or allowed is None:
        return None
    if field not in allowed:
        return f"unknown variable {dotted}"
    if root == "service" and field == "owner" and len(names) > 2 and names[2] not in TEAM_FIELDS:
        return f"unknown variable {dotted}"
    return None
