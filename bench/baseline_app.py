"""The yardstick: a bare Bolt AsyncApp on the bot's server stack.

Starlette + AsyncSlackRequestHandler + uvicorn, configured like `python -m bot` serves
(same Bolt defaults, a client pointed at SLACK_API_URL, token from the environment), but
with listeners that do nothing beyond what Slack requires:

* `/actions` acks with an empty body;
* the `run_action` button acks and opens a static modal;
* submitting `run_action_modal` acks.

Run with `python -m bench.baseline_app` (PORT, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET,
SLACK_API_URL from the environment).
"""

from __future__ import annotations

import os
from typing import Any

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

STATIC_MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "run_action_modal",
    "title": {"type": "plain_text", "text": "Static modal"},
    "submit": {"type": "plain_text", "text": "Run"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*A static modal*"}},
        {
            "type": "input",
            "block_id": "input:title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "title"},
        },
    ],
}


def build() -> Starlette:
    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]
    )
    app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    @app.command("/actions")
    async def actions(ack: AsyncAck) -> None:
        await ack()

    @app.action("run_action")
    async def click(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=STATIC_MODAL)

    @app.view("run_action_modal")
    async def submitted(ack: AsyncAck) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def readyz(_: Request) -> Response:
        return JSONResponse({"ready": True})

    return Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/readyz", readyz, methods=["GET"]),
        ]
    )


def main() -> None:
    config = uvicorn.Config(
        build(),
        host="127.0.0.1",
        port=int(os.environ.get("PORT", "3001")),
        log_config=None,
        access_log=False,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
