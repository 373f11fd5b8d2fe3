"""Block Kit checks the in-process Web API applies, so a mistake fails here as in Slack.

Slack refuses messages and views that break its documented limits (`invalid_blocks`,
`invalid_arguments`). The playground checks the limits a bot is most likely to hit and
names the JSON pointer of each problem, the way Slack's error messages do. It also fills in
the `block_id` and `action_id` Slack generates when a bot leaves them out.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterator
from typing import Any

BLOCK_TYPES = {
    "section",
    "divider",
    "image",
    "actions",
    "context",
    "header",
    "input",
    "rich_text",
    "video",
    "file",
}
ELEMENT_TYPES = {
    "button",
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "email_text_input",
    "external_select",
    "image",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
    "number_input",
    "overflow",
    "plain_text_input",
    "radio_buttons",
    "rich_text_input",
    "static_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "timepicker",
    "url_text_input",
    "file_input",
}
INPUT_ELEMENTS = ELEMENT_TYPES - {"button", "image", "overflow"}
MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}


def _id() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(5))


def _elements(block: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(JSON pointer suffix, element) for each interactive element of a block."""
    if isinstance(block.get("accessory"), dict):
        yield "/accessory", block["accessory"]
    if isinstance(block.get("element"), dict):
        yield "/element", block["element"]
    if block.get("type") == "actions":
        for i, element in enumerate(block.get("elements") or []):
            if isinstance(element, dict):
                yield f"/elements/{i}", element


def fill_ids(blocks: list[Any]) -> None:
    """Give every block and interactive element an id, as Slack does when they lack one."""
    for block in blocks:
        if not isinstance(block, dict):
            continue
        block.setdefault("block_id", _id())
        for _, element in _elements(block):
            if element.get("type") != "image":
                element.setdefault("action_id", _id())


class Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, message: str, pointer: str) -> None:
        self.errors.append(f"[ERROR] {message} [json-pointer:{pointer}]")

    def text(
        self,
        value: Any,
        pointer: str,
        limit: int,
        *,
        plain_only: bool = False,
        required: bool = True,
    ) -> None:
        if value is None:
            if required:
                self.fail("must provide an object", pointer)
            return
        if not isinstance(value, dict) or value.get("type") not in ("plain_text", "mrkdwn"):
            self.fail("must be a text object (plain_text or mrkdwn)", pointer)
            return
        if plain_only and value["type"] != "plain_text":
            self.fail("must be plain_text", f"{pointer}/type")
        text = value.get("text")
        if not isinstance(text, str) or not text:
            self.fail("must be more than 0 characters", f"{pointer}/text")
        elif len(text) > limit:
            self.fail(f"must be less than {limit + 1} characters", f"{pointer}/text")

    def options(self, options: Any, pointer: str, limit: int = 100) -> None:
        if not isinstance(options, list):
            self.fail("must provide an array", pointer)
            return
        if len(options) > limit:
            self.fail(f"must provide no more than {limit} items", pointer)
        for i, option in enumerate(options):
            if not isinstance(option, dict):
                self.fail("must provide an object", f"{pointer}/{i}")
                continue
            self.text(option.get("text"), f"{pointer}/{i}/text", 75)
            value = option.get("value")
            if not isinstance(value, str) or not value:
                self.fail("must be more than 0 characters", f"{pointer}/{i}/value")
            elif len(value) > 150:
                self.fail("must be less than 151 characters", f"{pointer}/{i}/value")

    def confirm(self, confirm: Any, pointer: str) -> None:
        if not isinstance(confirm, dict):
            self.fail("must provide an object", pointer)
            return
        self.text(confirm.get("title"), f"{pointer}/title", 100, plain_only=True)
        self.text(confirm.get("text"), f"{pointer}/text", 300)
        self.text(confirm.get("confirm"), f"{pointer}/confirm", 30, plain_only=True)
        self.text(confirm.get("deny"), f"{pointer}/deny", 30, plain_only=True)

    def element(self, element: dict[str, Any], pointer: str, *, in_input: bool) -> None:
        kind = element.get("type")
        if kind not in ELEMENT_TYPES:
            self.fail(f"unknown element type {kind!r}", f"{pointer}/type")
            return
        if in_input and kind not in INPUT_ELEMENTS:
            self.fail(f"{kind} cannot be used in an input block", f"{pointer}/type")
        action_id = element.get("action_id")
        if isinstance(action_id, str) and len(action_id) > 255:
            self.fail("must be less than 256 characters", f"{pointer}/action_id")
        if "confirm" in element:
            self.confirm(element["confirm"], f"{pointer}/confirm")
        if kind == "button":
            self.text(element.get("text"), f"{pointer}/text", 75, plain_only=True)
            if element.get("style") not in (None, "primary", "danger"):
                self.fail("must be primary or danger", f"{pointer}/style")
            if len(str(element.get("value", ""))) > 2000:
                self.fail("must be less than 2001 characters", f"{pointer}/value")
        elif kind in ("static_select", "multi_static_select"):
            if "option_groups" in element:
                for g, group in enumerate(element.get("option_groups") or []):
                    where = f"{pointer}/option_groups/{g}"
                    self.text(group.get("label"), f"{where}/label", 75, plain_only=True)
                    self.options(group.get("options"), f"{where}/options")
            else:
                self.options(element.get("options"), f"{pointer}/options")
        elif kind in ("overflow",):
            self.options(element.get("options"), f"{pointer}/options", 5)
        elif kind in ("checkboxes", "radio_buttons"):
            self.options(element.get("options"), f"{pointer}/options", 10)
        elif kind == "plain_text_input":
            low, high = element.get("min_length"), element.get("max_length")
            if isinstance(high, int) and not 1 <= high <= 3000:
                self.fail("must be between 1 and 3000", f"{pointer}/max_length")
            if isinstance(low, int) and isinstance(high, int) and low > high:
                self.fail("min_length must not exceed max_length", f"{pointer}/min_length")
        if "placeholder" in element:
            self.text(element["placeholder"], f"{pointer}/placeholder", 150, plain_only=True)

    def block(self, block: Any, pointer: str, seen: set[str]) -> None:
        if not isinstance(block, dict):
            self.fail("must provide an object", pointer)
            return
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            self.fail(f"unknown block type {kind!r}", f"{pointer}/type")
            return
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if len(block_id) > 255:
                self.fail("must be less than 256 characters", f"{pointer}/block_id")
            if block_id in seen:
                self.fail(f"duplicate block_id {block_id!r}", f"{pointer}/block_id")
            seen.add(block_id)
        if kind == "header":
            self.text(block.get("text"), f"{pointer}/text", 150, plain_only=True)
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                self.fail("must provide text or fields", pointer)
            if "text" in block:
                self.text(block["text"], f"{pointer}/text", 3000)
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    self.fail("must provide no more than 10 items", f"{pointer}/fields")
                else:
                    for i, field in enumerate(fields):
                        self.text(field, f"{pointer}/fields/{i}", 2000)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
                self.fail("must provide between 1 and 10 items", f"{pointer}/elements")
            else:
                for i, element in enumerate(elements):
                    if isinstance(element, dict) and element.get("type") != "image":
                        self.text(element, f"{pointer}/elements/{i}", 3000)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
                self.fail("must provide between 1 and 25 items", f"{pointer}/elements")
        elif kind == "input":
            self.text(block.get("label"), f"{pointer}/label", 2000, plain_only=True)
            if "hint" in block:
                self.text(block["hint"], f"{pointer}/hint", 2000, plain_only=True)
            if not isinstance(block.get("element"), dict):
                self.fail("must provide an object", f"{pointer}/element")
        elif kind == "image" and not block.get("alt_text"):
            self.fail("must provide alt_text", f"{pointer}/alt_text")
        for suffix, element in _elements(block):
            self.element(element, pointer + suffix, in_input=kind == "input")

    def blocks(self, blocks: Any, surface: str, pointer: str = "/blocks") -> None:
        if blocks is None:
            return
        if not isinstance(blocks, list):
            self.fail("must provide an array", pointer)
            return
        limit = MAX_BLOCKS[surface]
        if len(blocks) > limit:
            self.fail(f"must provide no more than {limit} items", pointer)
        seen: set[str] = set()
        for i, block in enumerate(blocks):
            self.block(block, f"{pointer}/{i}", seen)


def check_message(text: Any, blocks: Any) -> list[str]:
    """Problems Slack would report for a message with this text and these blocks."""
    checker = Checker()
    if not text and not blocks:
        checker.fail("must provide text or blocks", "/text")
    if isinstance(text, str) and len(text) > 40_000:
        checker.fail("must be less than 40001 characters", "/text")
    checker.blocks(blocks, "message")
    return checker.errors


def check_view(view: Any) -> list[str]:
    """Problems Slack would report for a modal or Home tab view."""
    checker = Checker()
    if not isinstance(view, dict):
        checker.fail("must provide an object", "/view")
        return checker.errors
    kind = view.get("type")
    if kind not in ("modal", "home"):
        checker.fail("must be modal or home", "/view/type")
        return checker.errors
    if kind == "modal":
        checker.text(view.get("title"), "/view/title", 24, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                checker.text(view[key], f"/view/{key}", 24, plain_only=True)
        has_input = any(
            isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or []
        )
        if has_input and "submit" not in view:
            checker.fail("must provide submit when the view has input blocks", "/view/submit")
    if len(str(view.get("private_metadata", ""))) > 3000:
        checker.fail("must be less than 3001 characters", "/view/private_metadata")
    if len(str(view.get("callback_id", ""))) > 255:
        checker.fail("must be less than 256 characters", "/view/callback_id")
    if not isinstance(view.get("blocks"), list):
        checker.fail("must provide an array", "/view/blocks")
    else:
        checker.blocks(view["blocks"], kind, "/view/blocks")
    return checker.errors
