"""One server for the whole playground: the bot's own routes, Slack's Web API, the page.

- `/slack/events`, `/healthz`, `/readyz`, `/runs/{id}/callback`: the bot (create_web_app)
- `/api/<method>`: the in-process Slack Web API the bot calls
- `/`: the page, a small Slack client
- `/playground/…`: the page's Slack side, the echo receiver and the audit panel
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from ruamel.yaml import YAML
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot import logs
from bot.access import Principal, is_admin
from bot.catalog import Catalog
from bot.config import load_file
from bot.playground import config
from bot.playground.echo import BEHAVIOURS, Echo
from bot.playground.guard import LocalOnly
from bot.playground.interactions import Interactions
from bot.playground.workspace import BOT_USER_ID, SLACKBOT, Workspace
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack.app import build_app
from bot.store import Run
from bot.web import create_web_app

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
POLL_SECONDS = 8.0
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


def _shown_path(path: str) -> str:
    """A config path as the person typed it: relative to here when inside, else its name."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(Path.cwd()))
    except ValueError:
        return resolved.name


def _run_json(run: Run, catalog: Catalog) -> dict[str, Any]:
    action = catalog.action(run.action_id)
    return {
        "id": run.id,
        "action_id": run.action_id,
        "action_name": action.name if action else run.action_id,
        "user_id": run.user_id,
        "channel_id": run.channel_id,
        "message_ts": run.message_ts,
        "service_id": run.service_id,
        "status": run.status,
        "inputs": run.inputs,
        "summary": run.summary,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


@dataclass
class Playground:
    app: Starlette
    settings: config.PlaygroundSettings
    runtime: Runtime
    bolt: AsyncApp
    workspace: Workspace
    interactions: Interactions
    echo: Echo
    originals: dict[str, str]
    stand_ins: dict[str, str]


def build(base: Settings, *, port: int, echo: bool = True) -> Playground:
    """The bot, unchanged, wired to an in-process Slack and an echo receiver on ``port``."""
    from_env = base.template_secrets
    loaded = load_file(config.config_path(base), from_env)
    stand_ins = config.stand_in_secrets(loaded.catalog, from_env)
    settings = config.playground_settings(base, port=port, stand_ins=stand_ins)
    public = settings.PUBLIC_URL
    catalog, originals = loaded.catalog, {}
    if echo:
        catalog, originals = config.rewrite_catalog(loaded.catalog, public)
    runtime = Runtime(
        settings,
        loaded,
        adjust=(lambda fresh: config.rewrite_catalog(fresh, public)[0]) if echo else None,
    )
    bolt = build_app(runtime)
    web = create_web_app(runtime, bolt)
    workspace = Workspace(
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
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with web.router.lifespan_context(web):  # the bot's own start and stop
            yield
        await interactions.aclose()
        await receiver.aclose()

    routes = [*_routes(playground), *web.routes]
    guard = Middleware(
        LocalOnly,
        port=port,
        json_api=("/playground/",),
        # Called by the bot and its Slack client, not by the page.
        except_for=(config.ECHO_PATH, "/playground/upload/", "/playground/response_url/"),
    )
    playground.app = Starlette(routes=routes, lifespan=lifespan, middleware=[guard])
    return playground


async def _json(request: Request) -> dict[str, Any]:
    try:
        value = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _routes(pg: Playground) -> list[Route | Mount]:
    ws, slack = pg.workspace, pg.interactions

    def person(data: dict[str, Any]) -> str | None:
        user_id = str(data.get("user", ""))
        usable = user_id in ws.users and user_id not in (BOT_USER_ID, SLACKBOT)
        return user_id if usable else None

    def bad(error: str) -> JSONResponse:
        return JSONResponse({"ok": False, "error": error}, status_code=400)

    async def index(_: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def api(request: Request) -> Response:
        params: dict[str, Any] = dict(request.query_params)
        raw = await request.body()
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json" and raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return JSONResponse({"ok": False, "error": "invalid_json"})
            if isinstance(body, dict):
                params.update(body)
        elif raw:
            params.update(urllib.parse.parse_qsl(raw.decode("utf-8", "replace")))
        for key in ("blocks", "view", "attachments", "metadata", "files"):
            if isinstance(params.get(key), str):  # form-encoded calls send JSON text
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        auth = request.headers.get("authorization", "")
        token = (
            auth[7:].strip() if auth.lower().startswith("bearer ") else params.pop("token", None)
        )
        answer = await ws.call(request.path_params["method"], params, token)
        return JSONResponse(answer)

    def admins() -> dict[str, bool]:
        catalog = pg.runtime.catalog()
        return {
            u: is_admin(
                catalog,
                Principal(u, frozenset(g for g, m in ws.usergroups.items() if u in m)),
            )
            for u in ws.users
        }

    async def state(request: Request) -> Response:
        user_id = request.query_params.get("user", "")
        if person({"user": user_id}) is None:
            return bad("unknown_user")
        try:
            version = int(request.query_params.get("version", "-1"))
        except ValueError:
            version = -1
        await ws.wait(version, POLL_SECONDS, request.is_disconnected)
        snapshot = ws.snapshot(user_id)
        catalog = pg.runtime.catalog()
        runs = await asyncio.to_thread(pg.runtime.store.runs, 50)
        snapshot.update(
            admins=admins(),
            commands=slack.commands,
            receiver={
                "mode": pg.echo.mode,
                "modes": list(BEHAVIOURS),
                "rewritten": bool(pg.originals),
            },
            runs=[_run_json(r, catalog) for r in runs],
            log_size=len(ws.log),
        )
        return JSONResponse(snapshot)

    async def command(request: Request) -> Response:
        data = await _json(request)
        user_id, channel = person(data), str(data.get("channel", ""))
        if user_id is None or ws.resolve_channel(channel) is None:
            return bad("unknown_user_or_channel")
        return JSONResponse(await slack.command(user_id, channel, str(data.get("text", ""))))

    async def message(request: Request) -> Response:
        data = await _json(request)
        user_id, channel = person(data), str(data.get("channel", ""))
        if user_id is None or channel not in ws.channels:
            return bad("unknown_user_or_channel")
        text = str(data.get("text", "")).strip()
        if text:
            ws.post(channel, user_id, text, None, data.get("thread_ts") or None)
        return JSONResponse({"ok": True})

    async def action(request: Request) -> Response:
        data = await _json(request)
        user_id = person(data)
        source, element = data.get("source"), data.get("action")
        if user_id is None or not isinstance(source, dict) or not isinstance(element, dict):
            return bad("invalid_arguments")
        values = data.get("values") if isinstance(data.get("values"), dict) else None
        return JSONResponse(await slack.block_action(user_id, source, element, values))

    async def submit(request: Request) -> Response:
        data = await _json(request)
        user_id = person(data)
        values = data.get("values")
        if user_id is None or not isinstance(values, dict):
            return bad("invalid_arguments")
        return JSONResponse(await slack.submit(user_id, str(data.get("view_id", "")), values))

    async def close(request: Request) -> Response:
        data = await _json(request)
        user_id = person(data)
        if user_id is None:
            return bad("unknown_user")
        everything = bool(data.get("all", True))
        view_id = str(data.get("view_id", ""))
        return JSONResponse(await slack.close(user_id, view_id, everything=everything))

    async def suggest(request: Request) -> Response:
        data = await _json(request)
        user_id = person(data)
        source = data.get("source")
        if user_id is None or not isinstance(source, dict):
            return bad("invalid_arguments")
        return JSONResponse(
            await slack.suggest(
                user_id,
                source,
                str(data.get("action_id", "")),
                str(data.get("block_id", "")),
                str(data.get("value", "")),
            )
        )

    async def home(request: Request) -> Response:
        user_id = person(await _json(request))
        if user_id is None:
            return bad("unknown_user")
        return JSONResponse(await slack.home_opened(user_id))

    async def dismiss(request: Request) -> Response:
        data = await _json(request)
        user_id = person(data)
        if user_id is None:
            return bad("unknown_user")
        ws.dismiss(user_id, str(data.get("ts", "")))
        return JSONResponse({"ok": True})

    async def response_url(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:  # Slack also takes a form-encoded `payload`
            fields = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace")))
            try:
                body = json.loads(fields.get("payload", "{}"))
            except ValueError:
                body = None
        if not isinstance(body, dict):
            return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
        status, answer = slack.respond(request.path_params["token"], body)
        return JSONResponse(answer, status_code=status)

    async def upload(request: Request) -> Response:
        # Where files_upload_v2 POSTs the bytes (Slack's files.slack.com upload URL).
        if not ws.upload(request.path_params["file_id"], await request.body()):
            return JSONResponse({"ok": False, "error": "file_not_found"}, status_code=404)
        return Response("OK - uploaded", media_type="text/plain")

    async def download(request: Request) -> Response:
        entry = ws.files.get(request.path_params["file_id"])
        if entry is None or entry["data"] is None:
            return JSONResponse({"ok": False, "error": "file_not_found"}, status_code=404)
        name = urllib.parse.quote(entry["name"])
        return Response(
            entry["data"],
            media_type="application/octet-stream",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
        )

    async def receiver(request: Request) -> Response:
        mode = str((await _json(request)).get("mode", ""))
        if mode not in BEHAVIOURS:
            return bad("unknown_mode")
        pg.echo.mode = mode
        ws.changed()
        return JSONResponse({"ok": True, "mode": mode})

    async def runs(_: Request) -> Response:
        catalog = pg.runtime.catalog()
        found = await asyncio.to_thread(pg.runtime.store.runs, 50)
        return JSONResponse([_run_json(r, catalog) for r in found])

    async def run_detail(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        run = await asyncio.to_thread(pg.runtime.store.get_run, run_id)
        if run is None:
            return JSONResponse({"ok": False, "error": "not_found"}, status_code=404)
        events = await asyncio.to_thread(pg.runtime.store.events, run_id)
        redact = pg.runtime.runner.run_redactor(run_id, {})  # its callback tokens, too
        return JSONResponse(
            {
                "run": _run_json(run, pg.runtime.catalog()),
                "original_url": pg.originals.get(run.action_id),
                "events": [
                    {
                        "id": e.id,
                        "kind": e.kind,
                        "at": e.at.isoformat() if e.at else None,
                        "actor": e.actor,
                        "detail": redact(e.detail),
                    }
                    for e in events
                ],
            }
        )

    async def protocol_log(request: Request) -> Response:
        after = int(request.query_params.get("after", "0") or 0)
        return JSONResponse([e for e in ws.log if e["n"] > after])

    async def info(_: Request) -> Response:
        settings = pg.settings
        return JSONResponse(
            {
                "config": settings.ACTIONS_CONFIG,
                "config_name": _shown_path(settings.ACTIONS_CONFIG),
                "database": pg.runtime.store.engine.url.render_as_string(hide_password=True),
                "public_url": settings.PUBLIC_URL,
                "echo": f"{settings.PUBLIC_URL}{config.ECHO_PATH}",
                "originals": pg.originals,
                "stand_in_secrets": sorted(pg.stand_ins),
                "header_prefix": settings.WEBHOOK_HEADER_PREFIX,
            }
        )

    return [
        Route("/", index, methods=["GET"]),
        Route("/api/{method}", api, methods=["GET", "POST"]),
        Route("/playground/state", state, methods=["GET"]),
        Route("/playground/info", info, methods=["GET"]),
        Route("/playground/command", command, methods=["POST"]),
        Route("/playground/message", message, methods=["POST"]),
        Route("/playground/action", action, methods=["POST"]),
        Route("/playground/submit", submit, methods=["POST"]),
        Route("/playground/close", close, methods=["POST"]),
        Route("/playground/suggest", suggest, methods=["POST"]),
        Route("/playground/home", home, methods=["POST"]),
        Route("/playground/dismiss", dismiss, methods=["POST"]),
        Route("/playground/response_url/{token}", response_url, methods=["POST"]),
        Route("/playground/receiver", receiver, methods=["POST"]),
        Route("/playground/upload/{file_id}", upload, methods=["POST"]),
        Route("/playground/files/{file_id}", download, methods=["GET"]),
        Route("/playground/runs", runs, methods=["GET"]),
        Route("/playground/runs/{run_id}", run_detail, methods=["GET"]),
        Route("/playground/log", protocol_log, methods=["GET"]),
        Route(
            config.ECHO_PATH,
            pg.echo.handle,
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        ),
        Route(
            config.ECHO_PATH + "/{name}",
            pg.echo.handle,
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        ),
        Mount("/playground/static", StaticFiles(directory=STATIC), name="static"),
    ]


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
