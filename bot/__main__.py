"""Command line: `python -m bot [serve|migrate|check|preview|receiver-check|audit …|playground]`.

`check --as U… --action <id> [--service s] [--input k=v]` decides a run as policy: exit 0
when it would be allowed, 3 when refused.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import uvicorn

from bot import admin, inputs, logs, tracing
from bot.api import cli as api_cli
from bot.catalog import Catalog, parse_duration
from bot.config import ConfigError, Loaded, load_file
from bot.redaction import Redactor
from bot.settings import Settings, SettingsError, load_settings
from bot.store.models import utcnow
from bot.webhooks import render

log = logging.getLogger("bot")


def setup_logging(settings: Settings) -> None:
    logs.setup(settings.LOG_LEVEL, settings.LOG_FORMAT, settings.secret_values())


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def load_config(settings: Settings, path: str | None = None) -> Loaded:
    loaded = load_file(path or settings.ACTIONS_CONFIG, settings.template_secrets)
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return loaded


def check_config(settings: Settings, path: str, *, online: bool) -> int:
    """`check`: the config file; with ``online``, each CI backend too (exit 2 on errors)."""
    from bot.backends.online import check_online, credential_problems

    catalog = load_config(settings, path).catalog
    for problem in credential_problems(settings, catalog):
        print(f"warning: {problem}", file=sys.stderr)
    if online:
        errors, notes = asyncio.run(
            check_online(settings.model_copy(update={"ACTIONS_CONFIG": path}))
        )
        for note in notes:
            print(f"online: {note}")
        if errors:
            raise ConfigError(errors)
    print(
        f"{path}: ok ({len(catalog.actions)} actions, {len(catalog.services)} services, "
        f"{len(catalog.teams)} teams)"
    )
    return 0


def report(error: ConfigError, path: str) -> int:
    count = len(error.errors)
    print(f"error: {path} has {count} error{'s' if count != 1 else ''}:", file=sys.stderr)
    for line in error.errors:
        print(f"  {line}", file=sys.stderr)
    return 2


class _Companion(uvicorn.Server):
    """A second server in the same process: the main one handles the signals and stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _require_public_url(settings: Settings, catalog: Catalog) -> None:
    asynchronous = [a.id for a in catalog.actions.values() if a.is_async]
    if asynchronous and not settings.PUBLIC_URL:
        raise SettingsError(
            "PUBLIC_URL: required for async actions (" + ", ".join(asynchronous) + "): "
            "the base URL where receivers reach /runs/{id}/callback"
        )


def serve(settings: Settings) -> int:
    from bot.runtime import Runtime
    from bot.slack.app import build_app
    from bot.web import create_metrics_app, create_web_app

    settings.require_slack()
    loaded = load_config(settings)
    _require_public_url(settings, loaded.catalog)
    setup_logging(settings)
    if tracing.setup():
        log.info("tracing: exporting spans over OTLP/HTTP")
    runtime = Runtime(settings, loaded)
    bolt = build_app(runtime)
    web = create_web_app(runtime, bolt, slack_over_http=not settings.socket_mode)
    server = uvicorn.Server(
        uvicorn.Config(web, host="0.0.0.0", port=settings.PORT, log_config=None, access_log=False)
    )

    async def main() -> None:
        if settings.METRICS_PORT is None:
            await serve_bot()
            return
        metrics = _Companion(
            uvicorn.Config(
                create_metrics_app(runtime),
                host="0.0.0.0",
                port=settings.METRICS_PORT,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
        log.info("serving /metrics on :%d", settings.METRICS_PORT)
        task = asyncio.create_task(metrics.serve())
        try:
            await serve_bot()
        finally:
            metrics.should_exit = True
            await task

    async def serve_bot() -> None:
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


async def preview(settings: Settings, catalog: Catalog, args: argparse.Namespace) -> int:
    """Render the request exactly as the bot would, secrets redacted, and print it."""
    action = catalog.action(args.action)
    if action is None:
        return fail(f"no action {args.action!r}; known: {', '.join(sorted(catalog.actions))}")
    service = catalog.service(args.service) if args.service else None
    if args.service and service is None:
        return fail(f"no service {args.service!r}")
    if action.scope == "service" and service is None:
        return fail(f"{action.id} runs on a service: pass --service")
    raw = parse_pairs(args.input)
    if isinstance(raw, str):
        return fail(raw)
    values, errors = inputs.validate(
        action, raw, inputs.resolve(catalog, action, values=raw, service=service)
    )
    if errors:
        return fail("; ".join(f"{k}: {v}" for k, v in errors.items()))
    try:
        run_id = str(uuid.uuid4())
        rendered = await render.render(
            settings,
            catalog,
            action,
            run_id=run_id,
            user={"id": args.user},
            inputs=values,
            service=service,
        )
    except render.RenderError as exc:
        return fail(str(exc))
    # Secret inputs and the callback token by field, credential headers by name.
    redact = Redactor([*settings.secret_values(), *render.callback_tokens(settings, run_id)])
    request = rendered.shown
    print(f"{request.method} {redact(request.url)}")
    for name, value in request.headers.items():
        print(f"{name}: {redact(value)}")
    print()
    print(redact(rendered.shown_payload))
    return 0


def parse_pairs(pairs: list[str]) -> dict[str, Any] | str:
    """`--input KEY=VALUE` values (JSON lists and objects parsed), or what is wrong."""
    raw: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            return f"--input {pair!r}: expected KEY=VALUE"
        try:
            raw[key] = json.loads(value) if value[:1] in "[{" else value
        except ValueError:
            raw[key] = value
    return raw


class Offline:
    """Slack as seen without a token: nobody's profile, no user groups."""

    async def profile(self, user_id: str) -> dict[str, Any]:
        return {}

    async def user_by_email(self, email: str) -> str | None:
        return None

    async def profile_field(self, user_id: str, field_id: str) -> str | None:
        return None


async def check_as(settings: Settings, catalog: Catalog, args: argparse.Namespace) -> int:
    """Print whether ``--as`` may run ``--action``, rule by rule: exit 0 allowed, 3 refused."""
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.access import Principal, usergroups_in_use
    from bot.pagerduty import PagerDuty
    from bot.policy import People, Policy
    from bot.slack.directory import Directory
    from bot.webhooks.transport import build_client
    from bot.why import why

    action = catalog.action(args.action or "")
    if action is None:
        return fail(f"no action {args.action!r}; known: {', '.join(sorted(catalog.actions))}")
    service = catalog.service(args.service) if args.service else None
    if args.service and service is None:
        return fail(f"no service {args.service!r}")
    raw = parse_pairs(args.input)
    if isinstance(raw, str):
        return fail(raw)
    http = build_client(allow_private=settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS)
    try:
        people: People = Offline()
        who = Principal(args.as_user, groups_known=not usergroups_in_use(catalog))
        if settings.SLACK_BOT_TOKEN:
            client = AsyncWebClient(token=settings.SLACK_BOT_TOKEN, base_url=settings.SLACK_API_URL)
            directory = Directory(client)
            people, who = directory, await directory.principal(args.as_user, catalog)
        policy = Policy(
            pagerduty=PagerDuty(http, settings.PAGERDUTY_API_TOKEN, settings.PAGERDUTY_API_URL),
            people=people,
            secrets=settings.template_secrets,
            manager_field=settings.MANAGER_PROFILE_FIELD,
        )
        found = await why(policy, catalog, action, who, service=service, inputs=raw)
    finally:
        await http.aclose()
    print("\n".join(found.lines()))
    return 0 if found.allowed else 3


async def receiver_check(settings: Settings, catalog: Catalog, args: argparse.Namespace) -> int:
    """Send the action's receiver the check's six requests and print the scorecard.

    Exits 0 when every answer is right, 1 when one is not, 2 when the check cannot run.
    """
    from bot.webhooks import conformance
    from bot.webhooks.transport import build_client

    action = catalog.action(args.action)
    if action is None:
        return fail(f"no action {args.action!r}; known: {', '.join(sorted(catalog.actions))}")
    refused = conformance.refusal(action, args.force, "pass --force")
    if refused:
        return fail(refused)
    try:
        values, service = conformance.prepare(catalog, action, args.service, args.input)
    except conformance.CheckError as exc:
        return fail(str(exc))
    client = build_client(allow_private=settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS)
    try:
        card = await conformance.check(
            client,
            settings,
            catalog,
            action,
            user={"id": args.user},
            inputs=values,
            service=service,
            redact=Redactor(settings.secret_values()),
        )
    except conformance.CheckError as exc:
        return fail(str(exc))
    finally:
        await client.aclose()
    print(conformance.text(card))
    return 0 if card.passed else 1


BROKEN = 4  # exit status of `audit verify` and `audit verify-export` when something differs


def since_time(value: str) -> datetime:
    """`--since`: a duration back from now (24h, 30d) or an ISO 8601 time (UTC if no zone)."""
    try:
        return utcnow() - timedelta(seconds=parse_duration(value))
    except ValueError:
        pass
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value!r}: expected a duration such as 24h or 30d, or a time such as 2026-11-01"
        ) from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def audit_export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.audit import export
    from bot.store import Store, migrate

    try:
        since = since_time(args.since)
    except ValueError as exc:
        return fail(f"--since: {exc}")
    manifest_path = args.manifest or (f"{args.output}.manifest.json" if args.output else None)
    key = None
    if manifest_path:
        if not settings.AUDIT_SIGNING_KEY:
            return fail(
                "AUDIT_SIGNING_KEY is not set: the manifest must be signed; "
                "make a key with `python -m bot audit keygen`"
            )
        try:
            key = export.private_key(settings.AUDIT_SIGNING_KEY)
        except export.BadKey as exc:
            return fail(str(exc))
    migrate(settings.DATABASE_URL)
    store = Store(settings.DATABASE_URL)
    until = utcnow()
    try:
        rows = admin.audit_rows(
            store,
            since,
            until,
            Redactor(settings.secret_values()),
            partial(render.callback_tokens, settings),
        )
    finally:
        store.close()
    content = admin.format_rows(rows, args.format).encode("utf-8")
    if args.output:
        Path(args.output).write_bytes(content)
    else:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    if key is not None and manifest_path:
        name = Path(args.output).name if args.output else "-"
        signed = export.manifest(
            content, rows, fmt=args.format, name=name, since=since, until=until, key=key
        )
        Path(manifest_path).write_text(json.dumps(signed, indent=2) + "\n")
        print(f"wrote {manifest_path} ({len(rows)} events, signed)", file=sys.stderr)
    return 0


def audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from bot.audit.verify import verify
    from bot.store import Store, migrate

    try:
        since = since_time(args.since) if args.since else None
    except ValueError as exc:
        return fail(f"--since: {exc}")
    migrate(settings.DATABASE_URL)
    store = Store(settings.DATABASE_URL)
    try:
        verdict = verify(store, since)
    finally:
        store.close()
    if verdict.broken:
        broken = verdict.broken
        where = f"event id {broken.event_id} (seq {broken.seq})" if broken.event_id else "the end"
        print(f"audit chain BROKEN at {where}: {broken.reason}")
        count = verdict.events
        print(f"{count} event{'' if count == 1 else 's'} verified before it")
        return BROKEN
    if not verdict.events:
        print("audit chain intact: no events to verify")
        return 0
    print(
        f"audit chain intact: {verdict.events} events, seq {verdict.first_seq}.."
        f"{verdict.head_seq}, from {verdict.anchor}; head {verdict.head_hash}"
    )
    return 0


def audit_keygen() -> int:
    from bot.audit import export

    private, public = export.keygen()
    print("# Keep the first line secret (the bot's environment only); share the second.")
    print(f"AUDIT_SIGNING_KEY={private}")
    print(f"# public key (for `audit verify-export --public-key`): {public}")
    return 0


def audit_verify_export(args: argparse.Namespace) -> int:
    from bot.audit import export

    try:
        key = export.public_key(args.public_key)
        content = Path(args.file).read_bytes()
        manifest = json.loads(Path(args.manifest).read_text())
    except (OSError, ValueError) as exc:
        return fail(str(exc))
    if not isinstance(manifest, dict):
        return fail(f"{args.manifest}: not a manifest (expected a JSON object)")
    problems = export.verify(content, manifest, key)
    if problems:
        print(f"{args.file}: NOT verified")
        for problem in problems:
            print(f"  {problem}")
        return BROKEN
    print(
        f"{args.file}: verified: {manifest.get('events')} events, seq {manifest.get('first_seq')}"
        f"..{manifest.get('last_seq')}, last hash {manifest.get('last_hash')}"
    )
    return 0


def audit_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.audit_command == "verify":
        return audit_verify(settings, args)
    if args.audit_command == "keygen":
        return audit_keygen()
    if args.audit_command == "verify-export":
        return audit_verify_export(args)
    return audit_export(settings, args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the bot (default)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    _add_check(sub)
    _add_preview(sub)
    _add_receiver_check(sub)
    _add_audit(sub)
    api_cli.add_parsers(sub)
    _add_playground(sub)
    return parser


def _add_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`check`: validate the config, or decide for one user with --as."""
    check = sub.add_parser("check", help="validate the actions config and exit")
    check.add_argument("config", nargs="?", help="config file (default: $ACTIONS_CONFIG)")
    check.add_argument(
        "--as", dest="as_user", metavar="USER_ID", help="decide for this Slack user (U…)"
    )
    check.add_argument("--action", help="with --as: the action to decide on")
    check.add_argument("--service", help="with --as: the service id")
    check.add_argument(
        "--input", action="append", default=[], metavar="KEY=VALUE", help="with --as: an input"
    )
    check.add_argument(
        "--online",
        action="store_true",
        help="also ask GitHub and GitLab that each backend's workflow or project exists "
        "and that the credentials may dispatch to it",
    )


def _add_preview(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`preview`: render an action's request without sending it."""
    preview_ = sub.add_parser("preview", help="render an action's request without sending it")
    preview_.add_argument("action", help="action id")
    preview_.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an input value (repeat; JSON values such as 3 or [1,2] allowed)",
    )
    preview_.add_argument("--service", help="service id, for scope: service actions")
    preview_.add_argument("--user", default="U0PREVIEW", help="Slack user id to render as")


def _add_receiver_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`receiver-check`: grade a receiver's answers."""
    checker = sub.add_parser(
        "receiver-check", help="send an action's receiver six requests and grade its answers"
    )
    checker.add_argument("action", help="action id")
    checker.add_argument("--service", help="service id, for scope: service actions")
    checker.add_argument(
        "--input", action="append", default=[], metavar="KEY=VALUE", help="an input (repeat)"
    )
    checker.add_argument("--user", default="U0CHECK", help="Slack user id to render as")
    checker.add_argument(
        "--force", action="store_true", help="run it although the action is not conformance_ok"
    )


def _add_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`audit export|verify|keygen|verify-export`."""
    audit = sub.add_parser("audit", help="audit log tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    export = audit_sub.add_parser("export", help="write the audit log of a period to stdout")
    export.add_argument("--since", default="7d", help="how far back, e.g. 24h or 30d")
    export.add_argument("--format", choices=["csv", "jsonl"], default="jsonl")
    export.add_argument("--output", help="write to this file (and FILE.manifest.json)")
    export.add_argument("--manifest", help="write the signed manifest here")
    verify_ = audit_sub.add_parser("verify", help="re-compute the hash chain (exit 4 if broken)")
    verify_.add_argument("--since", help="start at this time: 30d, 24h or 2026-11-01")
    audit_sub.add_parser("keygen", help="make an Ed25519 key pair for signed exports")
    check_export = audit_sub.add_parser(
        "verify-export", help="check an export against its signed manifest (exit 4 if not)"
    )
    check_export.add_argument("file", help="the exported file")
    check_export.add_argument("manifest", help="its manifest")
    check_export.add_argument(
        "--public-key", required=True, help="the public key you trust: base64, PEM or a file"
    )


def _add_playground(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`playground`: the bot against a simulated Slack."""
    playground = sub.add_parser("playground", help="run the bot against a simulated Slack")
    playground.add_argument("--host", default="127.0.0.1", help="address to listen on")
    playground.add_argument(
        "--no-echo", action="store_true", help="send webhooks to the configured URLs"
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "mcp":  # a client of a running bot: its own settings are not needed
        return api_cli.mcp_stdio()
    try:
        settings = load_settings()
    except SettingsError as exc:
        return fail(str(exc))
    command = args.command or "serve"
    if args.command is None and not (settings.SLACK_BOT_TOKEN or settings.SLACK_APP_TOKEN):
        # A fresh clone has no tokens: show the bot working instead of an error.
        print(
            "No SLACK_BOT_TOKEN or SLACK_APP_TOKEN set: starting the playground. To connect a "
            "real workspace, set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN) "
            "as README.md's 'Creating the Slack app' explains."
        )
        command = "playground"
    path = getattr(args, "config", None) or settings.ACTIONS_CONFIG
    try:
        if command == "playground":
            from bot.playground import serve as serve_playground
            from bot.playground.config import config_path

            path = config_path(settings)
            host = getattr(args, "host", "127.0.0.1")
            return serve_playground(settings, host=host, echo=not getattr(args, "no_echo", False))
        if command == "check":
            if args.as_user or args.action:
                if not (args.as_user and args.action):
                    return fail("check --as U… needs --action <id> (and --action needs --as)")
                catalog = load_config(settings, path).catalog
                return asyncio.run(check_as(settings, catalog, args))
            return check_config(settings, path, online=getattr(args, "online", False))
        if command == "preview":
            return asyncio.run(preview(settings, load_config(settings).catalog, args))
        if command == "receiver-check":
            return asyncio.run(receiver_check(settings, load_config(settings).catalog, args))
        if command == "audit":
            return audit_command(settings, args)
        if command == "token":
            return api_cli.token_create(settings, args)
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
