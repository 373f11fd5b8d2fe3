"""Command line: `python -m bot [serve|migrate|check]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import uvicorn

from bot.config import ConfigError, load_file
from bot.redaction import RedactingFilter, Redactor
from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("bot")


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(Redactor(settings.secret_values())))
    logging.basicConfig(level=settings.LOG_LEVEL, handlers=[handler], force=True)


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def load_catalog(settings: Settings, path: str | None = None) -> object:
    loaded = load_file(path or settings.ACTIONS_CONFIG, settings.template_secrets)
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return loaded.catalog


def report(error: ConfigError, path: str) -> int:
    count = len(error.errors)
    print(f"error: {path} has {count} error{'s' if count != 1 else ''}:", file=sys.stderr)
    for line in error.errors:
        print(f"  {line}", file=sys.stderr)
    return 2


def serve(settings: Settings) -> int:
    from bot.runtime import Runtime
    from bot.slack.app import build_app
    from bot.web import create_web_app

    settings.require_slack()
    catalog = load_catalog(settings)
    asynchronous = [a.id for a in catalog.actions.values() if a.is_async]  # type: ignore[attr-defined]
    if asynchronous and not settings.PUBLIC_URL:
        raise SettingsError(
            "PUBLIC_URL: required for async actions (" + ", ".join(asynchronous) + "): "
            "the base URL where receivers reach /runs/{id}/callback"
        )
    setup_logging(settings)
    runtime = Runtime(settings, catalog)  # type: ignore[arg-type]
    bolt = build_app(runtime)
    web = create_web_app(runtime, bolt, slack_over_http=not settings.socket_mode)
    server = uvicorn.Server(
        uvicorn.Config(web, host="0.0.0.0", port=settings.PORT, log_config=None, access_log=False)
    )

    async def main() -> None:
        if not settings.socket_mode:
            log.info("serving Slack over HTTP on :%d/slack/events", settings.PORT)
            await server.serve()
            return
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(bolt, settings.SLACK_APP_TOKEN, web_client=runtime.slack)
        log.info("connecting to Slack in Socket Mode; health on :%d/healthz", settings.PORT)
        web_task = asyncio.create_task(server.serve())
        while not runtime.ready and not web_task.done():
            await asyncio.sleep(0.05)
        await handler.connect_async()
        try:
            await web_task
        finally:
            await handler.close_async()

    asyncio.run(main())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the bot (default)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    check = sub.add_parser("check", help="validate the actions config and exit")
    check.add_argument("config", nargs="?", help="config file (default: $ACTIONS_CONFIG)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        return fail(str(exc))
    command = args.command or "serve"
    path = getattr(args, "config", None) or settings.ACTIONS_CONFIG
    try:
        if command == "check":
            catalog = load_catalog(settings, path)
            print(f"{path}: ok ({len(catalog.actions)} actions)")  # type: ignore[attr-defined]
            return 0
        if command == "migrate":
            from bot.store import migrate

            migrate(settings.DATABASE_URL)
            print("database is up to date")
            return 0
        return serve(settings)
    except SettingsError as exc:
        return fail(str(exc))
    except ConfigError as exc:
        return report(exc, path)


if __name__ == "__main__":
    sys.exit(main())
