"""Options for type-ahead selects: catalog bindings, long lists and remote sources."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from bot import inputs, templates
from bot.catalog import Action, Catalog, Input, Option, Service
from bot.kinds import DeliveryErrorKind
from bot.settings import Settings
from bot.webhooks import delivery

log = logging.getLogger(__name__)

MAX_RESULTS = 100  # Slack shows at most 100 options per answer


class OptionsError(Exception):
    """The options could not be loaded; the message is shown to the user."""


def matching(options: list[Option], query: str) -> list[Option]:
    words = query.lower().split()
    found = [o for o in options if all(w in o.label.lower() or w in o.value.lower() for w in words)]
    return found[:MAX_RESULTS]


def parse_remote(text: str) -> list[Option]:
    """`["a", …]`, `[{"value", "display"}, …]` or `{"options": [...]}`."""
    data = json.loads(text)
    if isinstance(data, dict):
        data = data.get("options")
    if not isinstance(data, list):
        raise ValueError("expected a JSON list of options")
    found = []
    for item in data:
        if isinstance(item, dict) and "value" in item:
            display = item.get("display") or item.get("text") or item.get("label")
            found.append(
                Option(
                    value=str(item["value"])[:75], display=str(display)[:75] if display else None
                )
            )
        elif isinstance(item, str | int | float):
            found.append(Option(value=str(item)[:75]))
    return found


class OptionSource:
    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        # Keyed by everything the request is rendered from: options fetched for one user
        # (a URL or header naming them) are never shown or accepted for another.
        self._cache: dict[tuple[str, ...], tuple[float, list[Option]]] = {}

    async def search(
        self,
        catalog: Catalog,
        action: Action,
        item: Input,
        query: str,
        *,
        values: Mapping[str, Any],
        user: Mapping[str, Any],
        service: Service | None,
    ) -> list[Option]:
        context = inputs.form_context(catalog, values, user, service)
        if item.values_from is None:
            options = inputs.options_of(item, context, catalog) or []
        else:
            options = await self._remote(action, item, context)
        return matching(options, query)

    async def allowed(
        self,
        catalog: Catalog,
        action: Action,
        item: Input,
        *,
        values: Mapping[str, Any],
        user: Mapping[str, Any],
        service: Service | None,
    ) -> list[Option]:
        """Every option a remote input offers this user in this form, to check a submission.

        Fetched for this context (or from its own cache entry): options another user was
        offered never count. Raises OptionsError when they cannot be loaded.
        """
        assert item.values_from is not None
        context = inputs.form_context(catalog, values, user, service)
        return await self._remote(action, item, context)

    async def _remote(
        self, action: Action, item: Input, context: Mapping[str, Any]
    ) -> list[Option]:
        source = item.values_from
        assert source is not None
        secrets = self.settings.template_secrets
        try:
            url = (await templates.render(source.url, context, secrets)).strip()
            headers = {
                k: await templates.render(v, context, secrets) for k, v in source.headers.items()
            }
        except templates.TemplateError as exc:
            raise OptionsError(f"the options source is misconfigured: {exc}") from None
        key = (action.id, item.identifier, url, json.dumps(headers, sort_keys=True))
        cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        request = delivery.build(
            method=source.method,
            url=url,
            configured=headers,
            body=b"",
            secret=self.settings.webhook_secrets,
            prefix=self.settings.WEBHOOK_HEADER_PREFIX,
            run_id=str(uuid.uuid4()),
        )
        try:
            response = await delivery.send(self.client, request, source.timeout)
        except delivery.DeliveryError as exc:
            log.warning("options for %s.%s: %s", action.id, item.identifier, exc)
            if exc.kind == DeliveryErrorKind.TIMEOUT:
                raise OptionsError("the options source is slow to answer") from None
            raise OptionsError("the options source cannot be reached") from None
        if not 200 <= response.status < 300:
            raise OptionsError(f"the options source answered HTTP {response.status}")
        try:
            options = parse_remote(response.text)
        except ValueError:
            raise OptionsError("the options source sent something that is not a list") from None
        self._cache[key] = (time.monotonic() + source.cache, options)
        return options
