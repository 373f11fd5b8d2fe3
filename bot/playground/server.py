"""One server for the whole playground: the bot's own routes, Slack's Web API, the page.

- `/slack/events`, `/healthz`, `/readyz`, `/runs/{id}/callback`: the bot (create_web_app)
- `/api/<method>`: the in-process Slack Web API the bot calls
- `/`: the page, a small Slack client
- `/playground/…`: the page's Slack side, the echo receiver and the audit panel

The routes are in `bot.playground.routes`, one router per concern.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from ruamel.yaml import YAML
from starlette.applications import Starlette
from starlette.middleware import Middleware

from bot import logs
from bot.catalog import Catalog
from bot.config import load_file
from bot.playground import config
from bot.playground.context import Playground
from bot.playground.echo import Echo
from bot.playground.guard import LocalOnly
from bot.playground.interactions import Interactions
from bot.playground.routes import routes
from bot.playground.workspace import PageWorkspace
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack.app import build_app
from bot.testing.github import FakeGitHub
from bot.web import create_web_app

log = logging.getLogger(__name__)

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
FALLBACK_COMMANDS = {
    "/actions": {"description": "Browse and run self-service actions", "usage_hint": ""},
    "/actions-admin": {"description": "Manage and audit actions (admins only)", "usage_hint": ""},
}


def slash_commands() -> dict[str, dict[str, str]]:
    """The app's slash commands, from manifest.yml when it is there."""
    try:
        manifest = YAML(typ="safe", pure=True).load(MANIFEST.read_text(encoding="utf-8"))
        listed = manifest["features"]["slash_commands"]
        return {
            c["command"]: {
                "description": str(c.get("description", "")),
                "usage_hint": str(c.get("usage_hint", "")),
            }
            for c in listed
        }
    except (OSError, KeyError, TypeError, ValueError):
        return dict(FALLBACK_COMMANDS)


def channels_of(catalog: Catalog) -> dict[str, str]:
    """#general plus a channel for every channel id the config names."""
    channels = {"C0CHAN": "general"}
    for team in catalog.teams.values():
        if team.channel:
            channels.setdefault(team.channel, _slug(team.name))
    for service in catalog.services.values():
        if service.channel:
            channels.setdefault(service.channel, _slug(service.name))
    return channels


def _slug(name: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def build(base: Settings, *, port: int, echo: bool = True) -> Playground:
    """The bot, unchanged, wired to an in-process Slack and an echo receiver on ``port``."""
    from_env = base.template_secrets
    loaded = load_file(config.config_path(base), from_env)
    stand_ins = config.stand_in_secrets(loaded.catalog, from_env)
    settings = config.playground_settings(base, port=port, stand_ins=stand_ins)
    github = _fake_github(base, loaded.catalog)
    if github is not None:
        settings = settings.model_copy(update=config.fake_github_settings(github.url, base))
    public = settings.PUBLIC_URL
    catalog, originals = loaded.catalog, dict[str, str]()
    if echo:
        catalog, originals = config.rewrite_catalog(loaded.catalog, public)
    runtime = Runtime(
        settings,
        loaded,
        adjust=(lambda fresh: config.rewrite_catalog(fresh, public)[0]) if echo else None,
    )
    bolt = build_app(runtime)
    web = create_web_app(runtime, bolt)
    workspace = PageWorkspace(
        bot_token=settings.SLACK_BOT_TOKEN,
        public_url=public,
        channels=channels_of(catalog),
        usergroups={g: [] for g in catalog.admins.usergroups},
    )
    interactions = Interactions(
        workspace, f"{public}/slack/events", settings.SLACK_SIGNING_SECRET, slash_commands()
    )
    receiver = Echo(
        catalog=runtime.catalog,
        secret=settings.webhook_secret,
        prefix=settings.WEBHOOK_HEADER_PREFIX,
        public_url=public,
    )
    playground = Playground(
        app=Starlette(),
        settings=settings,
        runtime=runtime,
        bolt=bolt,
        workspace=workspace,
        interactions=interactions,
        echo=receiver,
        originals=originals,
        stand_ins=stand_ins,
        github=github,
    )

    playground.app = _app(playground, web, port)
    return playground


def _fake_github(base: Settings, catalog: Catalog) -> FakeGitHub | None:
    """Workflows run on an in-process fake GitHub unless real credentials are set."""
    wanted = any(a.backend and a.backend.github_workflow for a in catalog.document.actions)
    if not wanted or base.GITHUB_TOKEN or base.GITHUB_APP_ID:
        return None
    return FakeGitHub(token=config.FAKE_GITHUB_TOKEN, run_details=True, any_workflow=True).start()


def _app(pg: Playground, web: Starlette, port: int) -> Starlette:
    """The playground's routes, then the bot's, all behind the local-only guard."""

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with web.router.lifespan_context(web):  # the bot's own start and stop
            yield
        await pg.interactions.aclose()
        await pg.echo.aclose()
        if pg.github is not None:
            pg.github.stop()

    guard = Middleware(
        LocalOnly,
        port=port,
        json_api=("/playground/",),
        # Called by the bot and its Slack client, not by the page.
        except_for=(config.ECHO_PATH, "/playground/upload/", "/playground/response_url/"),
    )
    return Starlette(routes=[*routes(pg), *web.routes], lifespan=lifespan, middleware=[guard])


class _Server(uvicorn.Server):
    """Uvicorn, telling the page's long polls to end when asked to stop."""

    def __init__(self, playground: Playground, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.playground = playground

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.playground.workspace.closing = True
        super().handle_exit(sig, frame)


def setup_logging(settings: Settings) -> None:
    # Plain lines for a person at a terminal; the same redaction as the bot's own logs.
    logs.setup(settings.LOG_LEVEL, "text", settings.secret_values())
    # The worker's scheduler logs every tick at INFO: too chatty for a terminal session.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.root.level))


def serve(base: Settings, *, host: str = "127.0.0.1", echo: bool = True) -> int:
    """Run the playground until interrupted (`python -m bot playground`)."""
    playground = build(base, port=base.PORT, echo=echo)
    settings = playground.settings
    setup_logging(settings)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    print(f"Playground: open http://{shown}:{settings.PORT}/ (the bot, with Slack simulated)")
    print(f"  config {settings.ACTIONS_CONFIG}, database {settings.DATABASE_URL}")
    if echo:
        print(
            f"  every webhook goes to the echo receiver: {settings.PUBLIC_URL}"
            f"{config.ECHO_PATH}/<action-id>?to=<original URL> (--no-echo to keep the URLs)"
        )
    if playground.stand_ins:
        names = ", ".join(playground.stand_ins)
        print(f"  stand-in secret values (set ACTIONS_SECRET_<NAME> for real ones): {names}")
    print(f"  webhook signing secret: {settings.WEBHOOK_SIGNING_SECRET}")
    if playground.github is not None:
        print(
            f"  GitHub workflows run on a built-in fake GitHub at {playground.github.url} "
            "(set GITHUB_TOKEN to use the real one)"
        )
    server = _Server(
        playground,
        uvicorn.Config(
            playground.app,
            host=host,
            port=settings.PORT,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=3,
        ),
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a playground ends
        server.run()
    return 0
