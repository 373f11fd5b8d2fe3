"""A fake GitHub REST API on loopback, in its documented shapes.

Workflow dispatch (204; 200 with run details when ``run_details`` is on, else the
parameter is refused with 422 as older GitHub Enterprise Servers do), the workflow's runs
with `created`, `event` and pagination (Link header), a run and its jobs, cancel, the
rate-limit headers and 403/429 once the limit is spent, and a GitHub App's installation
token exchange with the JWT verified against the app's public key.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

from bot.testing.ci import FakeCi, FakeRun, iso
from bot.testing.http import Handler

REPO = r"/repos/(?P<repo>[^/]+/[^/]+)"
ROUTES = [
    ("POST", re.compile(REPO + r"/actions/workflows/(?P<wf>[^/]+)/dispatches$"), "dispatch"),
    ("GET", re.compile(REPO + r"/actions/workflows/(?P<wf>[^/]+)/runs$"), "list_runs"),
    ("GET", re.compile(REPO + r"/actions/workflows/(?P<wf>[^/]+)$"), "workflow"),
    ("GET", re.compile(REPO + r"/actions/runs/(?P<id>\d+)$"), "get_run"),
    ("GET", re.compile(REPO + r"/actions/runs/(?P<id>\d+)/jobs$"), "jobs"),
    ("POST", re.compile(REPO + r"/actions/runs/(?P<id>\d+)/cancel$"), "cancel"),
    ("GET", re.compile(REPO + r"/installation$"), "installation"),
    ("POST", re.compile(r"/app/installations/(?P<id>\d+)/access_tokens$"), "access_token"),
    ("GET", re.compile(REPO + r"$"), "repo"),
]


class FakeGitHub(FakeCi):
    def __init__(
        self,
        *,
        token: str = "ghp_fake-token-for-tests",
        run_details: bool = False,
        app_id: str = "",
        public_key: str = "",
        title_template: str = "{workflow} [{actions_run_id}]",
        any_workflow: bool = False,
        ignores_run_details: bool = False,
    ) -> None:
        super().__init__()
        self.token = token
        self.run_details = run_details
        self.app_id, self.public_key = app_id, public_key
        self.minted: dict[str, float] = {}  # installation tokens → expiry
        self.workflows: dict[tuple[str, str], dict[str, Any]] = {}
        self.title_template = title_template  # what the workflow's run-name shows
        self.any_workflow = any_workflow  # every repository has every workflow (playground)
        self.ignores_run_details = ignores_run_details  # answers 204 and says nothing

    def workflow(self, repo: str, name: str, inputs: list[str] | None = None, **how: Any) -> None:
        """Declare a workflow (its inputs; None: any) and how its runs go."""
        with self.lock:
            wf_id = 100 + len(self.workflows)
            self.workflows[(repo, name)] = {"id": wf_id, "name": name, "inputs": inputs}
            self.plan(repo, name, **how)

    # --- HTTP -----------------------------------------------------------------------

    def _handle(self, handler: Handler) -> None:
        parts = urlsplit(handler.path)
        body = handler.read_body()
        with self.lock:
            self.requests.append(
                {
                    "at": time.time(),
                    "method": handler.command,
                    "path": parts.path,
                    "query": parse_qs(parts.query),
                    "body": json.loads(body) if body else None,
                    "authorization": handler.headers.get("Authorization", ""),
                }
            )
            for method, pattern, name in ROUTES:
                found = pattern.match(parts.path)
                if found and method == handler.command:
                    if self.limited(handler):
                        return
                    args = found.groupdict()
                    return getattr(self, f"_{name}")(handler, args, parse_qs(parts.query), body)
            self.answer(handler, 404, {"message": "Not Found"})

    def _authorized(self, handler: Handler) -> bool:
        given = handler.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        ok = given == self.token or self.minted.get(given, 0) > time.time()
        if not ok:
            self.answer(handler, 401, {"message": "Bad credentials"})
        return ok

    def _app(self, handler: Handler) -> bool:
        """The request carries a JWT signed with the app's key (RS256, iss, ≤ 10 min)."""
        given = handler.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        try:
            claims = jwt.decode(
                given, self.public_key, algorithms=["RS256"], issuer=self.app_id,
                options={"require": ["iat", "exp", "iss"]}, leeway=60,
            )  # fmt: skip
            if claims["exp"] - claims["iat"] > 660:
                raise jwt.InvalidTokenError("lives longer than ten minutes")
        except jwt.PyJWTError as exc:
            self.answer(handler, 401, {"message": f"A JSON web token could not be decoded: {exc}"})
            return False
        return True

    def _known(self, handler: Handler, args: dict[str, str]) -> dict[str, Any] | None:
        found = self.workflows.get((args["repo"], args["wf"]))
        if found is None and self.any_workflow:
            self.workflow(args["repo"], args["wf"])
            found = self.workflows[(args["repo"], args["wf"])]
        if found is None:
            self.answer(handler, 404, {"message": "Not Found"})
        return found

    def _dispatch(self, handler: Handler, args: dict, _q: dict, raw: bytes) -> None:
        if not self._authorized(handler) or (wf := self._known(handler, args)) is None:
            return
        body = json.loads(raw or b"{}")
        if "return_run_details" in body and not (self.run_details or self.ignores_run_details):
            message = 'Invalid request.\n\n"return_run_details" is not a permitted key.'
            return self.answer(handler, 422, {"message": message})
        inputs = {str(k): str(v) for k, v in (body.get("inputs") or {}).items()}
        unexpected = [k for k in inputs if wf["inputs"] is not None and k not in wf["inputs"]]
        if unexpected or not body.get("ref"):
            message = f"Unexpected inputs provided: {json.dumps(unexpected)}"
            return self.answer(handler, 422, {"message": message if unexpected else "No ref"})
        run = self.new_run(args["repo"], args["wf"], body["ref"], inputs)
        run.title = self.title_template.format(
            workflow=args["wf"], actions_run_id=inputs.get("actions_run_id", "")
        )
        if self.run_details and body.get("return_run_details"):
            url = f"{self.url}/repos/{args['repo']}/actions/runs/{run.id}"
            details = {"workflow_run_id": run.id, "run_url": url, "html_url": self._html(run)}
            return self.answer(handler, 200, details)
        self.answer(handler, 204, None)

    def _list_runs(self, handler: Handler, args: dict, query: dict, _b: bytes) -> None:
        if not self._authorized(handler) or self._known(handler, args) is None:
            return
        since = (query.get("created") or [">=1970-01-01T00:00:00Z"])[0].removeprefix(">=")
        event = (query.get("event") or ["workflow_dispatch"])[0]
        per_page = min(int((query.get("per_page") or ["30"])[0]), 100)
        page = int((query.get("page") or ["1"])[0])
        runs = [
            r
            for r in sorted(self.runs.values(), key=lambda r: -r.id)
            if (r.project, r.workflow) == (args["repo"], args["wf"])
            and iso(r.created) >= since[:20]
            and event == "workflow_dispatch"
        ]
        shown = runs[(page - 1) * per_page : page * per_page]
        for run in shown:
            run.read()
        headers = {}
        if page * per_page < len(runs):
            base = f"{self.url}/repos/{args['repo']}/actions/workflows/{args['wf']}/runs"
            headers["Link"] = f'<{base}?per_page={per_page}&page={page + 1}>; rel="next"'
        body = {"total_count": len(runs), "workflow_runs": [self._run(r) for r in shown]}
        self.answer(handler, 200, body, headers)

    def _workflow(self, handler: Handler, args: dict, _q: dict, _b: bytes) -> None:
        if self._authorized(handler) and (wf := self._known(handler, args)) is not None:
            path = f".github/workflows/{wf['name']}"
            self.answer(handler, 200, {"id": wf["id"], "path": path, "state": "active"})

    def _repo(self, handler: Handler, args: dict, _q: dict, _b: bytes) -> None:
        if self._authorized(handler):
            access = {"admin": False, "push": True, "pull": True}
            self.answer(handler, 200, {"full_name": args["repo"], "permissions": access})

    def _find(self, handler: Handler, args: dict) -> FakeRun | None:
        run = self.runs.get(int(args["id"]))
        if run is None or run.project != args["repo"]:
            self.answer(handler, 404, {"message": "Not Found"})
            return None
        return run

    def _get_run(self, handler: Handler, args: dict, _q: dict, _b: bytes) -> None:
        if self._authorized(handler) and (run := self._find(handler, args)) is not None:
            run.read()
            self.answer(handler, 200, self._run(run))

    def _jobs(self, handler: Handler, args: dict, _q: dict, _b: bytes) -> None:
        if self._authorized(handler) and (run := self._find(handler, args)) is not None:
            jobs = [
                {
                    "id": run.id * 10 + n,
                    "run_id": run.id,
                    "name": name,
                    "status": status,
                    "conclusion": conclusion,
                    "html_url": f"{self._html(run)}/job/{run.id * 10 + n}",
                    "steps": [{"name": "Run the script", "status": status, "number": 1}],
                }
                for n, (name, status, conclusion) in enumerate(run.job_states())
            ]
            self.answer(handler, 200, {"total_count": len(jobs), "jobs": jobs})

    def _cancel(self, handler: Handler, args: dict, _q: dict, _b: bytes) -> None:
        if self._authorized(handler) and (run := self._find(handler, args)) is not None:
            if run.status == "completed":
                return self.answer(handler, 409, {"message": "Cannot cancel a completed run"})
            run.end("cancelled")
            self.answer(handler, 202, {})

    def _installation(self, handler: Handler, args: dict, _q: dict, _b: bytes) -> None:
        if self._app(handler):
            self.answer(
                handler, 200, {"id": 4242, "account": {"login": args["repo"].split("/")[0]}}
            )

    def _access_token(self, handler: Handler, args: dict, _q: dict, _b: bytes) -> None:
        if not self._app(handler):
            return
        if args["id"] != "4242":
            return self.answer(handler, 404, {"message": "Not Found"})
        token = "ghs_" + secrets.token_hex(16)
        self.minted[token] = time.time() + 3600
        body = {"token": token, "expires_at": iso(time.time() + 3600)}
        self.answer(handler, 201, {**body, "permissions": {"actions": "write"}})

    # --- shapes ----------------------------------------------------------------------

    def _html(self, run: FakeRun) -> str:
        return f"https://github.example/{run.project}/actions/runs/{run.id}"

    def _run(self, run: FakeRun) -> dict[str, Any]:
        return {
            "id": run.id,
            "name": run.workflow,
            "display_title": run.title,
            "event": "workflow_dispatch",
            "head_branch": run.ref,
            "status": run.status,
            "conclusion": run.conclusion,
            "html_url": self._html(run),
            "created_at": iso(run.created),
            "run_started_at": iso(run.created),
            "updated_at": iso(run.finished or time.time()),
        }
