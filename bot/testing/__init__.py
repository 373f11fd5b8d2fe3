"""A Slack simulator on loopback, shipped with the package: for the tests, the playground and bench.

- `slack`: `FakeSlack`, the in-memory Slack Web API served over real HTTP.
- `requests`: `SlackRequests`, Slack calling the bot: signed slash commands, interactions and
  events; `sign`, `signed_headers` and `encode` build them for any HTTP client.
- `receiver`: `Receiver`, a webhook endpoint that records what the bot sends.
- `http`: the threaded loopback server the doubles share.

Nothing here verifies signatures: checks that a receiver would make stay with the tests,
written independently of the code they test.
"""

from bot.testing.receiver import Received, Receiver
from bot.testing.requests import SlackRequests, values_for
from bot.testing.slack import Call, FakeSlack

__all__ = ["Call", "FakeSlack", "Received", "Receiver", "SlackRequests", "values_for"]
