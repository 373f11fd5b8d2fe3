"""`python -m bot` with the recommended changes applied, to measure them before they are made.

1. The webhook client's connection pool holds as many connections as the worker runs jobs
   (WORKER_CONCURRENCY, default 200) instead of 100, so a burst of slow receivers is not
   served in two rounds (bot/webhooks/transport.py).
2. The worker claims again as soon as a job finishes, instead of at the next 1 s poll, so
   slots freed by quick Slack jobs are refilled at once (bot/jobs.py).
3. The catalog remembers, per action, which services it applies to, and which user groups
   the rules mention, instead of scanning 2,000 services and 500 actions on every click
   (bot/catalog.py, bot/access.py).

4. Once started, the bot moves everything it holds so far (the catalog, imported modules)
   out of the garbage collector's reach with gc.freeze(), so full collections no longer
   walk the 500-action / 2,000-service catalog (bot/runtime.py).

BENCH_WHATIF_CHANGES=pool,wake,catalog,gc (the default) picks which. See docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import os
import sys

import httpx

from bot import jobs
from bot.webhooks import transport


def main() -> int:
    changes = set(os.environ.get("BENCH_WHATIF_CHANGES", "pool,wake,catalog,gc").split(","))
    if "pool" in changes:
        size = int(os.environ.get("WORKER_CONCURRENCY", "200"))
        transport._DEFAULT_LIMITS = httpx.Limits(  # type: ignore[attr-defined]
            max_connections=size, max_keepalive_connections=min(size, 100)
        )
    if "wake" in changes:
        execute = jobs.Worker._execute

        async def execute_then_wake(self: jobs.Worker, job: jobs.Job) -> None:
            try:
                await execute(self, job)
            finally:
                # after the task's done callback has freed its slot
                asyncio.get_running_loop().call_soon(self.wake)

        jobs.Worker._execute = execute_then_wake  # type: ignore[method-assign]
    if "catalog" in changes:
        _cache_catalog_scans()
    if "gc" in changes:
        _freeze_after_start()
    from bot.__main__ import main as bot_main

    return bot_main([])


def _freeze_after_start() -> None:
    import gc

    from bot import runtime

    start = runtime.Runtime.start

    async def start_then_freeze(self: runtime.Runtime) -> None:
        await start(self)
        gc.collect()
        gc.freeze()

    runtime.Runtime.start = start_then_freeze  # type: ignore[method-assign]


def _cache_catalog_scans() -> None:
    from bot import catalog

    scan = getattr(catalog.Catalog, "services_for", None)
    if scan is not None:

        def services_for(self: catalog.Catalog, action: catalog.Action) -> list:
            cache = self.__dict__.setdefault("_services_for", {})
            if action.id not in cache:
                cache[action.id] = scan(self, action)
            return cache[action.id]

        catalog.Catalog.services_for = services_for  # type: ignore[method-assign]
    for name in ("bot.access", "bot.slack.directory"):
        module = importlib.import_module(name)
        groups = getattr(module, "usergroups_in_use", None)
        if groups is not None:
            cached = functools.lru_cache(maxsize=8)(lambda c, f=groups: frozenset(f(c)))
            module.usergroups_in_use = cached  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
