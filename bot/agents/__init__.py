"""The MCP server for agents: five tools over the same API as `/api/v1`.

`server` builds the tools on a `Backend`; `local` is the in-process one used at `/mcp`
(the request's bearer token decides who acts), `remote` the one `python -m bot mcp` uses
to reach a running bot over its REST API.
"""
