"""Secret values never reach storage, logs or Slack."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.redaction import REDACTED, RedactingFilter, Redactor, for_run, redact_headers, scoped
from bot.templates import render_sync

TOKEN = "tracker-token-s3cr3t"


def test_string() -> None:
    redact = Redactor([TOKEN])
    assert redact(f"Authorization: Bearer {TOKEN}") == f"Authorization: Bearer {REDACTED}"
    assert redact(f"{TOKEN}{TOKEN}") == REDACTED * 2


def test_bytes_become_redacted_text() -> None:
    assert Redactor([TOKEN])(f"token={TOKEN}".encode()) == f"token={REDACTED}"


def test_nested_structures_keys_included() -> None:
    redact = Redactor([TOKEN])
    value = {
        "headers": {"Authorization": f"Bearer {TOKEN}", TOKEN: "as a key"},
        "list": [TOKEN, {"deep": [f"x{TOKEN}x"]}, 3, None, True],
        "tuple": (TOKEN, 1),
    }
    assert redact(value) == {
        "headers": {"Authorization": f"Bearer {REDACTED}", REDACTED: "as a key"},
        "list": [REDACTED, {"deep": [f"x{REDACTED}x"]}, 3, None, True],
        "tuple": [REDACTED, 1],
    }
    assert TOKEN not in json.dumps(redact(value))


def test_input_is_not_modified() -> None:
    value = {"a": [TOKEN]}
    Redactor([TOKEN])(value)
    assert value == {"a": [TOKEN]}


@pytest.mark.parametrize(
    "secret", ['pa"ss"word', "back\\slash\\key", "tab\tand\nnewline", "pässwörd-ünicode"]
)
def test_json_escaped_forms(secret: str) -> None:
    body = json.dumps({"password": secret, "note": "ok"})
    assert secret not in body  # only the JSON-escaped form is in the body

    redacted = Redactor([secret])(body)

    assert json.loads(redacted) == {"password": REDACTED, "note": "ok"}


def test_json_filter_output_is_redacted() -> None:
    secret = 'quote"and\\slash'
    body = render_sync('{"k": {{ v | json }}}', {"v": secret}, {})
    assert json.loads(Redactor([secret])(body)) == {"k": REDACTED}


def test_longest_secret_first() -> None:
    short, long = "abcd1234", "abcd1234-extended"
    redact = Redactor([short, long])
    assert redact(f"{long} and {short}") == f"{REDACTED} and {REDACTED}"
    assert "extended" not in redact(long)


@pytest.mark.parametrize("short", ["", "a", "ab", "abc"])
def test_short_values_are_ignored(short: str) -> None:
    text = "a cab of abc and ab"
    assert Redactor([short])(text) == text


def test_four_characters_are_enough() -> None:
    assert Redactor(["abcd"])("xabcdx") == f"x{REDACTED}x"


def test_no_secrets_changes_nothing() -> None:
    value = {"a": ["b", 1]}
    assert Redactor()(value) == value
    assert Redactor()("text") == "text"


def test_url_encoded_secret_is_redacted() -> None:
    secret = "abc/def+ghi=="
    url = render_sync(
        "https://hooks.example.com/run?key={{ 'KEY' | secret | url_encode }}", {}, {"KEY": secret}
    )
    assert "abc%2Fdef%2Bghi%3D%3D" in url

    assert Redactor([secret])(url) == f"https://hooks.example.com/run?key={REDACTED}"


# --- logging --------------------------------------------------------------------------


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter(Redactor([TOKEN])))
    logger = logging.getLogger("tests.redaction")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, stream
    finally:
        logger.handlers = []
        logger.propagate = True


def test_log_message_and_args_are_redacted(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured

    logger.info("calling with %s and %r", f"Bearer {TOKEN}", {"auth": TOKEN})
    logger.warning(f"inline {TOKEN}")

    out = stream.getvalue()
    assert TOKEN not in out
    assert f"INFO calling with Bearer {REDACTED} and {{'auth': '{REDACTED}'}}" in out
    assert f"WARNING inline {REDACTED}" in out


def test_exception_text_is_redacted(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured

    try:
        raise RuntimeError(f"receiver echoed {TOKEN}")
    except RuntimeError:
        logger.exception("delivery failed for %s", TOKEN)

    out = stream.getvalue()
    assert TOKEN not in out
    assert f"delivery failed for {REDACTED}" in out
    assert f"RuntimeError: receiver echoed {REDACTED}" in out
    assert "Traceback (most recent call last)" in out


# --- transformed forms, headers by name, a run's scope ----------------------------------


def test_base64_and_solidus_escaped_forms() -> None:
    import base64

    secret = "a/b+c?d"
    text = " ".join(
        [
            base64.b64encode(secret.encode()).decode(),
            base64.urlsafe_b64encode(secret.encode()).decode(),
            base64.b64encode(secret.encode()).decode().rstrip("="),
            '"a\\/b+c?d"',  # as PHP's json_encode writes it
        ]
    )
    assert Redactor([secret])(text) == " ".join([REDACTED] * 3 + [f'"{REDACTED}"'])


def test_headers_by_name_whatever_the_value() -> None:
    headers = {
        "authorization": "Basic dXNlcjpwYXNz",
        "Proxy-Authorization": "x",
        "Cookie": "a=b",
        "X-API-Key": "k",
        "X-Custom": "c",
        "Accept": "*/*",
    }
    assert redact_headers(headers, ["x-custom"]) == {
        "authorization": REDACTED,
        "Proxy-Authorization": REDACTED,
        "Cookie": REDACTED,
        "X-API-Key": REDACTED,
        "X-Custom": REDACTED,
        "Accept": "*/*",
    }


def test_a_runs_scope_redacts_its_logs(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    run_secret = "typed-by-the-user-42"
    with scoped("run-1", Redactor([run_secret])) as redact:
        assert for_run("run-1") is redact and for_run("run-2") is None
        logger.info("receiver said %s with %s", run_secret, TOKEN)
    logger.info("outside %s", run_secret)
    out = stream.getvalue()
    assert f"receiver said {REDACTED} with {REDACTED}" in out
    assert f"outside {run_secret}" in out  # only while handling that run
