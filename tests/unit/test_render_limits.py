"""The render time limit stops the render itself: no thread keeps burning CPU after it."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot import templates

# 100 x 100 iterations stay under the loop limit; each one sorts a long string, so the
# whole render would take minutes.
HEAVY = (
    "{% for i in (1..100) %}{% for j in (1..100) %}"
    '{% assign s = inputs.text | split: "" | sort | join: "" %}'
    "{% endfor %}{% endfor %}done"
)


def _cpu_while_idle(seconds: float) -> float:
    start = time.process_time()
    time.sleep(seconds)
    return time.process_time() - start


def test_a_heavy_render_is_stopped_at_the_limit_and_stops_burning_cpu() -> None:
    context = {"inputs": {"text": "qwertyuiopasdfghjklzxcvbnm" * 1000}}
    started = time.monotonic()
    with pytest.raises(templates.TemplateError, match="rendering took longer than 2 s"):
        asyncio.run(templates.render(HEAVY, context, {}))
    assert time.monotonic() - started < templates.RENDER_TIMEOUT + 1
    time.sleep(0.3)  # the render's next check is well within this
    # An abandoned render would keep one core busy: about a second of CPU per second.
    assert _cpu_while_idle(2.0) < 0.3


def test_the_limit_also_stops_synchronous_renders() -> None:
    context = {"inputs": {"text": "qwertyuiopasdfghjklzxcvbnm" * 1000}}
    started = time.monotonic()
    with pytest.raises(templates.TemplateError, match="rendering took longer"):
        templates.render_sync(HEAVY, context, {})
    assert time.monotonic() - started < templates.RENDER_TIMEOUT + 1


def test_nested_loops_past_the_iteration_limit_are_refused_at_once() -> None:
    source = "{% for a in (1..1000) %}{% for b in (1..1000) %}{{ b }}{% endfor %}{% endfor %}"
    started = time.monotonic()
    with pytest.raises(templates.TemplateError, match="loop iteration limit"):
        asyncio.run(templates.render(source, {}, {}))
    assert time.monotonic() - started < 1


def test_a_render_within_the_limit_is_untouched() -> None:
    source = "{% for i in (1..3) %}{{ i }}{% endfor %} {{ inputs.text | upcase }}"
    assert asyncio.run(templates.render(source, {"inputs": {"text": "ok"}}, {})) == "123 OK"
