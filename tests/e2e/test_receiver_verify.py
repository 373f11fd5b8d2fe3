"""The receiver-side verifiers we ship: Python (bot.receiver), Node.js and Go (docs/receivers).

Each is checked against the published test vectors and against requests captured from the bot.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_file
from bot.receiver import Replays, VerificationError, Verified, verify
from bot.settings import Settings
from bot.webhooks import conformance, delivery
from tests.conftest import WEBHOOK_SECRET, Bot

ROOT = Path(__file__).parents[2]
RECEIVERS = ROOT / "docs" / "receivers"
RUN_ID = "baddecaf-cafe-badd-ecaf-123456789012"


@dataclass
class Case:
    secret: str
    headers: dict[str, str]
    body: bytes
    now: int
    prefix: str = "X-Actions"
    signed: Sequence[str] = ()


# OpsLevel's published vectors (as in tests/test_signing.py) and the Standard Webhooks
# specification's.
VECTORS = {
    "opslevel-timing-1": Case(
        "somesecrethere",
        {
            "X-OpsLevel-Timing": "1726164245",
            "X-OpsLevel-Signature": "sha256=89649e9d66e0f48c8a6e67fc12197d68dbcb91710391555fcf3a59d8757bf63b",
        },
        b"",
        1726164245,
        "X-OpsLevel",
    ),
    "opslevel-timing-2": Case(
        "OpslevelWebhookSecret",
        {
            "X-OpsLevel-Timing": "123456",
            "X-OpsLevel-Signature": "sha256=ee9eac178fe5cd260ff1d6f9fedcc409c6389ea5718ec44c8e266c6128770233",
        },
        b"",
        123456,
        "X-OpsLevel",
    ),
    "opslevel-headers-and-body": Case(
        "somesecrethere",
        {
            "X-OpsLevel-Timing": "1726164245",
            "Content-Type": "application/json",
            "X-OpsLevel-Action-Uuid": RUN_ID,
            "X-OpsLevel-Signature": "sha256=0936cf563a703ae5179712d1e7c80c2c2d6750d86afb314467b8700f75277d7b",
        },
        b'{"service":"shopping-cart"}',
        1726164245,
        "X-OpsLevel",
        ("Content-Type",),
    ),
    "standard-webhooks": Case(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        {
            "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "webhook-timestamp": "1614265330",
            "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        },
        b'{"test": 2432232314}',
        1614265330,
    ),
}


# --- the three verifiers, one interface -----------------------------------------------------

Verifier = Callable[[Case], dict[str, Any]]  # {"ok": bool, "error"?: str, "schemes"?: [...]}


def python_verifier(case: Case) -> dict[str, Any]:
    try:
        found = verify(
            case.headers,
            case.body,
            case.secret.split(),
            prefix=case.prefix,
            signed_headers=case.signed,
            now=case.now,
        )
    except VerificationError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "id": found.id, "schemes": list(found.schemes)}


def command_verifier(command: list[str]) -> Verifier:
    def run(case: Case) -> dict[str, Any]:
        given = {
            "headers": case.headers,
            "body_base64": base64.b64encode(case.body).decode(),
            "secret": case.secret,
            "prefix": case.prefix,
            "signed_headers": list(case.signed),
            "now": case.now,
        }
        done = subprocess.run(
            command, input=json.dumps(given), capture_output=True, text=True, timeout=30
        )
        assert done.returncode in (0, 1), done.stderr
        result = json.loads(done.stdout)
        assert result["ok"] is (done.returncode == 0)
        return result

    return run


@pytest.fixture(scope="session")
def go_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("go") is None:
        pytest.skip("go is not installed")
    home = tmp_path_factory.mktemp("go")
    out = home / "verify"
    # Its own caches: the build needs no HOME, and never fetches a toolchain.
    env = {**os.environ, "GOCACHE": str(home / "cache"), "GOPATH": str(home / "path")}
    built = subprocess.run(
        ["go", "build", "-o", str(out), str(RECEIVERS / "verify.go")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=home,
        env={**env, "GOTOOLCHAIN": "local", "GOFLAGS": ""},
    )
    assert built.returncode == 0, built.stderr
    return out


@pytest.fixture(params=["python", "node", "go"])
def verifier(request: pytest.FixtureRequest) -> Verifier:
    if request.param == "python":
        return python_verifier
    if request.param == "node":
        node = shutil.which("node")
        if node is None:
            pytest.skip("node is not installed")
        return command_verifier([node, str(RECEIVERS / "verify.js")])
    return command_verifier([str(request.getfixturevalue("go_binary"))])


def altered(case: Case, **changes: Any) -> Case:
    return Case(**{**case.__dict__, **changes})


def one_byte_changed(body: bytes) -> bytes:
    return body[:-1] + bytes([body[-1] ^ 1]) if body else b"x"


# --- published vectors -------------------------------------------------------------------------


@pytest.mark.parametrize("name", VECTORS)
def test_published_vectors_verify(verifier: Verifier, name: str) -> None:
    case = VECTORS[name]
    result = verifier(case)
    assert result["ok"], result
    assert result["schemes"] == ["opslevel" if name.startswith("opslevel") else "standard"]


@pytest.mark.parametrize("name", VECTORS)
def test_published_vectors_fail_when_anything_changes(verifier: Verifier, name: str) -> None:
    case = VECTORS[name]
    assert not verifier(altered(case, body=one_byte_changed(case.body)))["ok"]
    assert not verifier(altered(case, secret=case.secret[:-1] + "A"))["ok"]
    late = verifier(altered(case, now=case.now + 301))
    assert not late["ok"] and "300" in late["error"]
    assert verifier(altered(case, now=case.now - 300))["ok"]  # within the 5 minutes


def test_a_configured_header_left_out_of_signed_headers_fails(verifier: Verifier) -> None:
    case = VECTORS["opslevel-headers-and-body"]
    result = verifier(altered(case, signed=()))
    assert not result["ok"] and "Signature does not match" in result["error"]
    missing = verifier(altered(case, signed=("Content-Type", "Authorization")))
    assert not missing["ok"] and "Authorization is missing" in missing["error"]


def test_no_signature_at_all_fails(verifier: Verifier) -> None:
    result = verifier(Case(WEBHOOK_SECRET, {"Content-Type": "application/json"}, b"{}", 1))
    assert not result["ok"] and "no signature" in result["error"]


# --- requests captured from the bot -------------------------------------------------------------


def captured_case(headers: Mapping[str, str], body: bytes, secret: str = WEBHOOK_SECRET) -> Case:
    return Case(
        secret,
        dict(headers),
        body,
        int(headers["X-Actions-Timing"]),
        signed=("Content-Type", "Authorization"),
    )


def test_a_run_the_bot_sent_verifies_with_both_schemes(bot: Bot, verifier: Verifier) -> None:
    view = bot.open_form("create-ticket")
    bot.submit(view, {"title": 'Disk full ✓ "quoted"', "prio": "high"})
    received = bot.receiver.wait(1)[0]
    case = captured_case(received.headers, received.body)

    result = verifier(case)
    assert result["ok"], result
    assert sorted(result["schemes"]) == ["opslevel", "standard"]
    assert result["id"] == received.headers["webhook-id"]
    assert not verifier(altered(case, body=one_byte_changed(case.body)))["ok"]
    other = "whsec_" + base64.b64encode(b"o" * 32).decode()
    assert not verifier(altered(case, secret=other))["ok"]
    # During a rotation the receiver holds both secrets: either one verifies.
    assert verifier(altered(case, secret=f"{other} {WEBHOOK_SECRET}"))["ok"]


def test_signed_with_two_secrets_verifies_with_either(verifier: Verifier) -> None:
    old = "whsec_" + base64.b64encode(b"p" * 32).decode()
    request = delivery.build(
        method="POST",
        url="https://hooks.example.com/x",
        configured={"Content-Type": "application/json"},
        body=b'{"a": 1}',
        secret=[WEBHOOK_SECRET, old],
        prefix="X-Actions",
        run_id=RUN_ID,
    )
    case = altered(captured_case(request.headers, request.body), signed=("Content-Type",))
    assert verifier(case)["ok"]
    # Holding only the old secret, the Standard Webhooks signature still matches; the
    # OpsLevel-style one is made with the newest secret only, so it does not.
    only_old = verifier(altered(case, secret=old))
    assert not only_old["ok"] and "X-Actions-Signature" in only_old["error"]
    standard_only = {k: v for k, v in case.headers.items() if k != "X-Actions-Signature"}
    assert verifier(altered(case, secret=old, headers=standard_only))["ok"]


def test_the_receiver_checks_requests_are_graded_alike_by_every_verifier(
    verifier: Verifier, tmp_path: Path
) -> None:
    config = tmp_path / "actions.yml"
    config.write_text(CHECKED)
    settings = Settings(WEBHOOK_SIGNING_SECRET=WEBHOOK_SECRET, ACTIONS_CONFIG=str(config))
    catalog = load_file(config, settings.template_secrets).catalog
    action = catalog.actions["hook"]
    requests = asyncio.run(
        conformance.build(settings, catalog, action, user={"id": "U1"}, inputs={}, service=None)
    )
    now = int(requests[0].headers["X-Actions-Timing"])
    results = [
        verifier(altered(captured_case(r.headers, r.body), signed=("X-Team",), now=now))["ok"]
        for r in requests
    ]
    # Signatures alone: 1, 4 (a replay) and 5 (a retry) are authentic; 2, 3 and 6 are not.
    assert results == [True, False, False, True, True, False]


CHECKED = """
teams: [{id: ops, name: Ops}]
actions:
  - id: hook
    name: Hook
    owner: ops
    webhook: {url: "https://hooks.example.com/x", headers: {X-Team: ops}, payload: '{"who": "{{ user.id }}"}'}
"""


# --- replays and retries (Python) -------------------------------------------------------------


def test_replays_tell_new_retry_and_replay_apart() -> None:
    replays = Replays(keep=60)
    first = Verified("msg_1", 100, "sig-a", ("standard",))
    assert replays.check(first, now=100) == "new"
    assert replays.check(first, now=101) == "replay"
    assert replays.check(Verified("msg_1", 130, "sig-b", ()), now=130) == "retry"
    assert replays.check(Verified("msg_2", 130, "sig-c", ()), now=130) == "new"
    # Forgotten after `keep` seconds, or on request when the work failed.
    assert replays.check(first, now=161) == "new"
    replays.forget("msg_2")
    assert replays.check(Verified("msg_2", 170, "sig-d", ()), now=170) == "new"


def test_bad_timestamps_and_ids_are_explained() -> None:
    case = VECTORS["standard-webhooks"]
    for headers, says in [
        ({**case.headers, "webhook-timestamp": "soon"}, "not a Unix time"),
        ({k: v for k, v in case.headers.items() if k != "webhook-id"}, "missing webhook-id"),
        ({**case.headers, "webhook-timestamp": str(case.now + 400)}, "400 s in the future"),
    ]:
        with pytest.raises(VerificationError, match=says):
            verify(headers, case.body, case.secret, now=case.now)


def test_the_helper_needs_nothing_but_the_standard_library() -> None:
    """Importable with no site-packages at all: `-S` leaves only the standard library."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from bot.receiver import verify; "
        "print(sorted({m.split('.')[0] for m in sys.modules "
        "if m.split('.')[0] not in sys.stdlib_module_names}))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['__main__', 'bot']"
