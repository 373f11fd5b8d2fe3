"""The README's examples work as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.config import validate
from bot.webhooks.delivery import build

README = (Path(__file__).parents[2] / "README.md").read_text()
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_config_example_is_valid() -> None:
    document = YAML(typ="safe", pure=True).load(blocks("yaml")[0])
    loaded = validate(document, secrets={"TRACKER_TOKEN": "x"})
    assert list(loaded.catalog.actions) == ["create-ticket"]


def test_receiver_snippet_verifies_a_real_request() -> None:
    code = next(b for b in blocks("python") if "def verify" in b)
    namespace: dict = {}
    exec(code.replace('"whsec_…"', repr(SECRET)), namespace)
    configured = {"Content-Type": "application/json", "Authorization": "Bearer t"}
    request = build(
        method="POST",
        url="https://r.example.com/",
        configured=configured,
        body=b'{"a": 1}',
        secret=SECRET,
        prefix="X-Actions",
        run_id="0b9e2f8e-1",
    )
    namespace["verify"](request.headers, request.body)
    with pytest.raises(ValueError, match="bad signature"):
        namespace["verify"](request.headers, request.body + b" ")
    stale = {**request.headers, "X-Actions-Timing": "1000"}
    with pytest.raises(ValueError, match="stale"):
        namespace["verify"](stale, request.body)


@pytest.mark.parametrize(("language", "name"), [("js", "verify.js"), ("go", "verify.go")])
def test_receiver_snippets_are_the_tested_files(language: str, name: str) -> None:
    # tests/test_receiver_verify.py runs docs/receivers/*; the README must show those files.
    shipped = (Path(__file__).parents[2] / "docs" / "receivers" / name).read_text()
    assert shipped.rstrip("\n") + "\n" in blocks(language)
