"""Playground settings, stand-in secrets, and action URLs pointed at the echo receiver."""

from __future__ import annotations

import base64
import re
import secrets
import urllib.parse
from collections.abc import Callable
from functools import cached_property
from typing import Any

from pydantic import BaseModel

from bot import templates
from bot.catalog import Action, Catalog
from bot.settings import Settings

BOT_TOKEN = "xoxb-playground"
DEFAULT_DATABASE = "sqlite:///playground.db"
DEFAULT_CONFIG = "examples/actions.yml"
ECHO_PATH = "/playground/echo"
STAND_IN = "playground-stand-in-for-{name}"
FAKE_GITHUB_TOKEN = "playground-github-token"

# `{{ expression }}` (with optional whitespace control) and `{% tag %}` / `{# comment #}`.
_OUTPUT = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.S)
_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)
_LIQUID = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


class PlaygroundSettings(Settings):
    """The bot's settings, plus stand-in values for the secrets the config uses."""

    PLAYGROUND_SECRETS: dict[str, str] = {}

    @cached_property
    def template_secrets(self) -> dict[str, str]:
        # Real ACTIONS_SECRET_* values from the environment win over the stand-ins.
        # cached_property keeps the undecorated function as .func; typeshed omits it.
        from_env = Settings.template_secrets.func(self)  # type: ignore[attr-defined]
        return {**self.PLAYGROUND_SECRETS, **from_env}


def fake_github_settings(url: str, base: Settings) -> dict[str, object]:
    """Point the GitHub backend at the playground's fake; poll it briskly unless told."""
    explicit = base.model_fields_set
    return {
        "GITHUB_API_URL": url,
        "GITHUB_TOKEN": FAKE_GITHUB_TOKEN,
        "CI_POLL_INITIAL_SECONDS": base.CI_POLL_INITIAL_SECONDS
        if "CI_POLL_INITIAL_SECONDS" in explicit
        else 1.0,
        "CI_POLL_MAX_SECONDS": base.CI_POLL_MAX_SECONDS
        if "CI_POLL_MAX_SECONDS" in explicit
        else 2.0,
    }


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def config_path(base: Settings) -> str:
    """ACTIONS_CONFIG when it was set, else the example catalog."""
    return base.ACTIONS_CONFIG if "ACTIONS_CONFIG" in base.model_fields_set else DEFAULT_CONFIG


def playground_settings(
    base: Settings, *, port: int, stand_ins: dict[str, str] | None = None
) -> PlaygroundSettings:
    """Settings for a bot whose Slack is the playground server on ``port``.

    DATABASE_URL, ACTIONS_CONFIG, WEBHOOK_SIGNING_SECRET and the tuning variables are taken
    from ``base`` when they were set; Slack's tokens and URLs are the playground's own.
    """
    public = f"http://127.0.0.1:{port}"
    explicit = base.model_fields_set
    values = base.model_dump(exclude={"PLAYGROUND_SECRETS"})
    values.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=secrets.token_hex(16),
        SLACK_APP_TOKEN="",
        SLACK_API_URL=f"{public}/api/",
        WEBHOOK_SIGNING_SECRET=base.WEBHOOK_SIGNING_SECRET or new_webhook_secret(),
        WEBHOOK_ALLOW_PRIVATE_NETWORKS=True,
        PUBLIC_URL=public,
        PORT=port,
        DATABASE_URL=base.DATABASE_URL if "DATABASE_URL" in explicit else DEFAULT_DATABASE,
        ACTIONS_CONFIG=config_path(base),
        PLAYGROUND_SECRETS=dict(stand_ins or {}),
    )
    return PlaygroundSettings(**values)


def used_secrets(catalog: Catalog) -> set[str]:
    """Secret names (as ACTIONS_SECRET_<NAME> spells them) that the config's templates read."""
    names: set[str] = set()
    for action in catalog.actions.values():
        hook = action.webhook
        sources = [hook.url, hook.payload, *hook.headers.values()] if hook else []
        for source in sources:
            names |= templates.check(source, action, response=False)[1]
        if action.response_template:
            names |= templates.check(action.response_template, action, response=True)[1]
    return {templates.secret_env_name(n).removeprefix("ACTIONS_SECRET_") for n in names}


def stand_in_secrets(catalog: Catalog, present: dict[str, str]) -> dict[str, str]:
    """A clearly labelled stand-in for every secret the config uses and the env lacks."""
    return {
        name: STAND_IN.format(name=name)
        for name in sorted(used_secrets(catalog))
        if name not in present
    }


def _encode(source: str) -> str:
    """URL-encode a URL template so its rendered text becomes one query parameter value.

    Literal text is percent-encoded here; each `{{ … }}` gets `| url_encode`, so what it
    renders to is encoded at render time; `{% … %}` tags stay as they are.
    """
    out = []
    position = 0
    for match in _LIQUID.finditer(source):
        out.append(urllib.parse.quote(source[position : match.start()], safe=""))
        token = match.group(0)
        output = _OUTPUT.fullmatch(token)
        if output and not _TAG.fullmatch(token):
            left, expression, right = output.groups()
            token = f"{{{{{left}{expression.rstrip()} | url_encode {right}}}}}"
        out.append(token)
        position = match.end()
    out.append(urllib.parse.quote(source[position:], safe=""))
    return "".join(out)


def echo_url(public_url: str, action: Action, url: str | None = None, answer: str = "") -> str:
    """The echo receiver's URL for one of an action's URLs, carrying the original in `to`.

    ``url`` defaults to the action's webhook URL; ``answer`` (e.g. `options`) tells the
    receiver what shape to answer in. The result is still a valid URL template: when the
    original has Liquid in it, the rendered original URL arrives in `to`. Should the
    encoded form not check cleanly, the original text is sent as it is written, unrendered.
    """
    if url is None:
        assert action.webhook is not None  # a CI backend has no URL of ours to rewrite
        url = action.webhook.url
    source = url
    base = f"{public_url}{ECHO_PATH}/{action.id}?" + (f"as={answer}&" if answer else "") + "to="
    encoded = base + _encode(source)
    if templates.check(encoded, action, response=False)[0]:
        return base + urllib.parse.quote(source, safe="")
    return encoded


def points_at_echo(url: str, public_url: str) -> bool:
    return url.startswith(f"{public_url}{ECHO_PATH}")


def _rewrite(node: Any, path: str, visit: Callable[[str, str], str]) -> Any:
    """``node`` with every `url` of every model under it replaced by ``visit(path, url)``.

    Walks the whole action, so a URL the config names anywhere (the webhook, the expiry's
    revert, remote options, whatever is added later) cannot escape the playground.
    """
    if isinstance(node, list):
        items = [_rewrite(item, f"{path}[{n}]", visit) for n, item in enumerate(node)]
        return items if any(a is not b for a, b in zip(items, node, strict=True)) else node
    if not isinstance(node, BaseModel):
        return node
    changes = {}
    for name in type(node).model_fields:
        value = getattr(node, name)
        if name == "url" and isinstance(value, str):
            new = visit(path, value)
        else:
            new = _rewrite(value, f"{path}.{name}".lstrip("."), visit)
        if new is not value:
            changes[name] = new
    return node.model_copy(update=changes) if changes else node


def rewrite_action(action: Action, public_url: str) -> tuple[Action, dict[str, str]]:
    """The action with every URL it sends requests to pointed at the echo receiver; and the
    originals by where they are (`webhook`, `expires.webhook`, `inputs[2].values_from`)."""
    originals: dict[str, str] = {}

    def visit(path: str, url: str) -> str:
        if points_at_echo(url, public_url):
            return url
        originals[path] = url
        answer = "options" if path.endswith("values_from") else ""
        return echo_url(public_url, action, url, answer)

    return _rewrite(action, "", visit), originals


def rewrite_catalog(catalog: Catalog, public_url: str) -> tuple[Catalog, dict[str, str]]:
    """The catalog with every URL its actions send to pointed at the echo receiver; and the
    original URLs: by action id for the webhook, `<action id> <where>` for the others."""
    originals: dict[str, str] = {}
    actions = []
    for action in catalog.document.actions:
        rewritten, found = rewrite_action(action, public_url)
        for where, url in found.items():
            originals[action.id if where == "webhook" else f"{action.id} {where}"] = url
        actions.append(rewritten)
    document = catalog.document.model_copy(update={"actions": actions})
    return Catalog(document, source=catalog.source), originals
