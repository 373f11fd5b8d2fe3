"""`python -m bot token create` (tokens for CI, from the shell) and `python -m bot mcp`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from bot.settings import Settings
from bot.tokens import TokenError, Tokens


def add_parsers(sub: argparse._SubParsersAction) -> None:
    token = sub.add_parser("token", help="API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="make a personal API token for a user")
    create.add_argument("--user", required=True, help="the Slack user id it acts as (U…)")
    create.add_argument("--name", required=True, help="what it is for, e.g. ci")
    create.add_argument(
        "--scopes",
        nargs="+",
        default=["actions:read", "runs:read", "runs:write"],
        help="actions:read runs:read runs:write (space- or comma-separated; default all)",
    )
    create.add_argument("--expires", default="90d", help="e.g. 30d, 12h, 4w, 1y (at most 1y)")
    sub.add_parser("mcp", help="an MCP server on stdio for ACTIONS_API_URL, as ACTIONS_API_TOKEN")


def token_create(settings: Settings, args: argparse.Namespace) -> int:
    from bot.store import Store, migrate

    migrate(settings.DATABASE_URL)
    store = Store(settings.DATABASE_URL)

    async def nobody_left(_: str) -> dict[str, object]:
        return {}

    try:
        tokens = Tokens(settings, store, nobody_left)
        value, row = tokens.create(
            user_id=args.user, name=args.name, scopes=args.scopes, expires=args.expires, by="cli"
        )
    except TokenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(
        f"# token {row.name!r} for {row.user_id} ({', '.join(row.scopes)}), "
        f"expires {row.expires_at:%Y-%m-%d}: shown once, keep it secret",
        file=sys.stderr,
    )
    print(value)
    return 0


def mcp_stdio() -> int:
    from bot.agents.remote import RemoteBackend
    from bot.agents.server import serve_stdio

    url = os.environ.get("ACTIONS_API_URL", "").rstrip("/")
    token = os.environ.get("ACTIONS_API_TOKEN", "")
    if not url.startswith(("http://", "https://")) or not token:
        print(
            "error: set ACTIONS_API_URL (the bot's base URL, e.g. https://actions.example.com) "
            "and ACTIONS_API_TOKEN (a token from /actions token)",
            file=sys.stderr,
        )
        return 2
    asyncio.run(serve_stdio(RemoteBackend(url, token)))
    return 0
