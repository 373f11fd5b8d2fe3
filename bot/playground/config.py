"""Playground settings, stand-in secrets, and action URLs pointed at the echo receiver."""

from __future__ import annotations

import base64
import re
import secrets
import urllib.parse
from functools import cached_property

from bot import templates
from bot.catalog import Action, Catalog
from bot.settings import Settings

BOT_TOKEN = "xoxb-playground"
DEFAULT_DATABASE = "sqlite:///playground.db"
DEFAULT_CONFIG = "examples/actions.yml"
ECHO_PATH = "/playground/echo"
STAND_IN = "playground-stand-in-for-{name}"

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
        sources = [hook.url, hook.payload, *hook.headers.values()]
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


def echo_url(public_url: str, action: Action) -> str:
    """The echo receiver's URL for an action, carrying the original URL in `to`.

    The result is still a valid URL template: when the original has Liquid in it, the
    rendered original URL arrives in `to`. Should the encoded form not check cleanly, the
    original text is sent as it is written, unrendered.
    """
    base = f"{public_url}{ECHO_PATH}/{action.id}?to="
    encoded = base + _encode(action.webhook.url)
    if templates.check(encoded, action, response=False)[0]:
        return base + urllib.parse.quote(action.webhook.url, safe="")
    return encoded


def points_at_echo(url: str, public_url: str) -> bool:
    return url.startswith(f"{public_url}{ECHO_PATH}")


def rewrite_catalog(catalog: Catalog, public_url: str) -> tuple[Catalog, dict[str, str]]:
    """The catalog with every webhook sent to the echo receiver; and the original URLs."""
    originals: dict[str, str] = {}
    actions = []
    for action in catalog.document.actions:
        if not points_at_echo(action.webhook.url, public_url):
            originals[action.id] = action.webhook.url
            hook = action.webhook.model_copy(update={"url": echo_url(public_url, action)})
            action = action.model_copy(update={"webhook": hook})
        actions.append(action)
    document = catalog.document.model_copy(update={"actions": actions})
    return Catalog(document, source=catalog.source), originals
