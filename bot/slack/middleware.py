"""Global middleware: what every listener finds in its arguments.

Listeners are plain top-level functions. Rather than closing over the runtime, they ask
for it by name: Bolt passes context entries as listener arguments, so ``runtime`` and
``slack_request`` (the payload, parsed once) are there for any listener, guard or test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.runtime import Runtime
from bot.slack.request import SlackRequest, SlackRequestError


class Provide(AsyncMiddleware):
    """Put the runtime, our Slack client and the parsed request in each request's context.

    A class rather than a function: Bolt prepares a function's arguments from the payload
    (``action``, ``view``…) and that preparation itself fails on some malformed bodies.
    Here the body is parsed first, after its signature was checked, and a malformed one
    is answered 400 with the reason before any listener code sees it.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        try:
            parsed = SlackRequest.parse(req.body)
        except SlackRequestError as exc:
            return BoltResponse(status=exc.status, body=f"Malformed Slack payload: {exc}")
        # Bolt builds a fresh client per request; ours counts errors and retries 429s.
        req.context["client"] = self.runtime.slack
        req.context["runtime"] = self.runtime
        req.context["slack_request"] = parsed
        return await next()
