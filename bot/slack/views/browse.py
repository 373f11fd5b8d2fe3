"""Browsing actions: cards, the catalog, service pages, search results, the Home tab.

Pure builders. A `Page` says what is being browsed (a search, a service, a page number)
and travels in the paging buttons, so Next and Previous need no server-side state.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bot.access import Decision
from bot.catalog import Action, Service, Team
from bot.kinds import RunKind
from bot.mrkdwn import escape, local_time, truncate
from bot.slack import limits
from bot.slack.views.blocks import (
    STATUS_ICONS,
    ask_owner,
    channel_ref,
    context,
    details_button,
    plain,
    section,
)
from bot.store import Run

RUN_BUTTON = "run_action"  # opens the form
RUN_NOW_BUTTON = "run_now"  # one-click: no inputs
STAR_BUTTON = "star_action"  # marks or unmarks a favourite
PINNED = "Your favourites and recent"  # the group shown before the categories
PAGE_BUTTON = "catalog_page"
SERVICE_BUTTON = "service_page"
HOME_SEARCH = "home_search"
CARDS_PER_VIEW = 20  # a Home tab page; messages hold what fits in 50 blocks:
CARDS_PER_MESSAGE = (limits.MESSAGE_BLOCKS - 3) // 3  # 15, without category headings


@dataclass(frozen=True)
class Card:
    action: Action
    owner: Team
    decision: Decision
    service: Service | None = None  # bound: a service page's cards run on it
    approvers: str = ""  # mrkdwn naming who approves, when the action needs approval
    favourite: bool = False
    recent: bool = False


@dataclass(frozen=True)
class Page:
    """What is being browsed; encoded in paging buttons."""

    query: str = ""
    service: str | None = None
    page: int = 0

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))[:2000]

    @classmethod
    def decode(cls, value: str | None) -> Page:
        try:
            data = json.loads(value or "{}")
            return cls(
                query=str(data.get("query") or "")[:100],
                service=data.get("service") or None,
                page=int(data.get("page") or 0),
            )
        except (ValueError, TypeError, AttributeError):
            return cls()


def button_value(action: Action, service: Service | None) -> str:
    return f"{action.id}@{service.id}" if service else action.id


def parse_button_value(value: str) -> tuple[str, str | None]:
    action_id, _, service_id = (value or "").partition("@")
    return action_id, service_id or None


def verb(action: Action) -> str:
    """What the button says: an action needing approval is requested, not run."""
    return "Request" if action.needs_approval else "Run"


def confirm_dialog(action: Action) -> dict[str, Any] | None:
    """Slack's confirmation dialog for a one-click action with `confirm:`."""
    if action.confirm is None:
        return None
    asked = action.confirm
    default = (
        f"{action.name} is sent for approval at once, with no form."
        if action.needs_approval
        else f"{action.name} runs at once, with no form."
    )
    return {
        "title": plain(asked.title or f"{verb(action)} {action.name}?", 100),
        "text": plain(asked.text or default, 300),
        "confirm": plain(asked.confirm or verb(action), 30),
        "deny": plain(asked.deny or "Cancel", 30),
    }


def _run_button(card: Card) -> dict[str, Any]:
    action = card.action
    one_click = not action.inputs and (action.scope == "global" or card.service is not None)
    # No style: a catalog holds many cards, and a message has one primary button at most.
    button: dict[str, Any] = {
        "type": "button",
        "text": plain(verb(action), limits.BUTTON_TEXT),
        "action_id": RUN_NOW_BUTTON if one_click else RUN_BUTTON,
        "value": button_value(action, card.service),
    }
    dialog = confirm_dialog(action) if one_click else None
    if dialog:
        button["confirm"] = dialog
    return button


def star_value(action: Action, state: Page) -> str:
    """The star button's value: the action, and the page to redraw after the click."""
    return f"{action.id}|{state.encode()}"[:2000]


def parse_star_value(value: str) -> tuple[str, Page]:
    action_id, _, page = (value or "").partition("|")
    return action_id, Page.decode(page)


def star_button(card: Card, state: Page) -> dict[str, Any]:
    label = "★ Favourite" if card.favourite else "☆ Add to favourites"
    return {
        "type": "button",
        "text": plain(label, limits.BUTTON_TEXT),
        "action_id": STAR_BUTTON,
        "value": star_value(card.action, state),
        "accessibility_label": (
            f"Remove {card.action.name} from favourites"
            if card.favourite
            else f"Add {card.action.name} to favourites"
        )[:75],
    }


def card_blocks(card: Card, state: Page | None = None) -> list[dict[str, Any]]:
    """A card: what the action does, who owns it, and its Run (or Request) and star buttons."""
    action, owner, decision = card.action, card.owner, card.decision
    title = f"*{escape(action.name)}*"
    if card.favourite:
        title = f":star: {title}"
    if not action.published:
        title += "  `draft`"
    text = f"{title}\n{escape(action.description)}" if action.description else title
    block = section(text, block_id=f"card:{action.id}")
    if decision:
        block["accessory"] = _run_button(card)
    notes = [
        f"Owner: *{escape(owner.name)}*" + (f" · {channel_ref(owner)}" if owner.channel else "")
    ]
    if action.scope == "service" and card.service is None:
        notes.append("Runs on a service")
    if action.category:
        notes.append(escape(action.category))
    if card.approvers:
        notes.append(f"Needs approval by {card.approvers}")
    lines = [" · ".join(notes)]
    if not decision:
        lines.append(
            f":lock: You can't run this: {decision.reason}. {ask_owner(owner)} for access."
        )
    star: dict[str, Any] = {"type": "actions", "block_id": f"star:{action.id}"[:255]}
    star["elements"] = [star_button(card, state or Page())]
    return [block, context(*lines), star]


def group(card: Card) -> str | None:
    """The heading a card is listed under: the user's own first, then the categories."""
    return PINNED if card.favourite or card.recent else card.action.category


def sort_cards(cards: Sequence[Card]) -> list[Card]:
    """The user's favourites, then their recent actions, then by category and name."""
    return sorted(
        cards,
        key=lambda c: (
            not c.favourite,
            not c.recent,
            c.action.category is None,
            (c.action.category or "").lower(),
            c.action.name.lower(),
        ),
    )


def _pager(state: Page, pages: int, total: int, first: int, last: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [context(f"Showing {first}–{last} of {total} actions")]
    buttons = []
    if state.page > 0:
        buttons.append(
            {
                "type": "button",
                "text": plain("Previous"),
                "action_id": f"{PAGE_BUTTON}:prev",
                "value": Page(state.query, state.service, state.page - 1).encode(),
            }
        )
    if state.page < pages - 1:
        buttons.append(
            {
                "type": "button",
                "text": plain("Next"),
                "action_id": f"{PAGE_BUTTON}:next",
                "value": Page(state.query, state.service, state.page + 1).encode(),
            }
        )
    if buttons:
        blocks.append({"type": "actions", "block_id": "pager", "elements": buttons})
    return blocks


def _pages(ordered: Sequence[Card], budget: int, headings: bool) -> list[int]:
    """Where each page starts: as many cards as fit in ``budget`` blocks, headings counted."""
    starts, used = [0], 0
    category: str | None = "\0"
    for index, card in enumerate(ordered):
        cost = 3 + (1 if headings and group(card) != category else 0)
        if used + cost > budget and used:
            starts.append(index)
            used, category = 0, "\0"
            cost = 3 + (1 if headings else 0)
        used += cost
        category = group(card)
    return starts


def card_list(
    cards: Sequence[Card], state: Page, budget: int, empty: str = "No actions here yet."
) -> list[dict[str, Any]]:
    """A page of cards under category headings within ``budget`` blocks, pager included."""
    if not cards:
        return [section(empty)]
    ordered = sort_cards(cards)
    headings = any(group(c) for c in ordered)
    starts = _pages(ordered, budget - 2, headings)  # 2 blocks for the pager
    page = min(max(state.page, 0), len(starts) - 1)
    state = Page(state.query, state.service, page)
    end = starts[page + 1] if page + 1 < len(starts) else len(ordered)
    shown = ordered[starts[page] : end]
    blocks: list[dict[str, Any]] = []
    category: str | None = "\0"
    for card in shown:
        if headings and group(card) != category:
            category = group(card)
            blocks.append(section(f"*{escape(category or 'Other')}*"))
        blocks += card_blocks(card, state)
    if len(starts) > 1:
        blocks += _pager(state, len(starts), len(ordered), starts[page] + 1, end)
    return blocks


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(text, limits.HEADER_TEXT)}


def catalog_message(cards: Sequence[Card], state: Page) -> list[dict[str, Any]]:
    """`/actions` and `/actions some words`: the catalog or search results."""
    if state.query:
        blocks = [header("Actions"), context(f"Matching “{escape(state.query)}”")]
        empty = (
            f"No actions match “{escape(state.query)}”. Type `/actions` for the whole "
            "catalog, or `/actions <service>` for a service's page."
        )
    else:
        blocks = [header("Self-service actions")]
        empty = "No actions are configured yet."
    return blocks + card_list(cards, state, limits.MESSAGE_BLOCKS - len(blocks), empty)


def picked_message(action: Action, note: str) -> list[dict[str, Any]]:
    """What replaces the catalog once a card is picked: one line, and a way back."""
    back = {
        "type": "button",
        "text": plain("Back to the catalog"),
        "action_id": f"{PAGE_BUTTON}:back",
        "value": Page().encode(),
    }
    return [
        section(f"*{escape(action.name)}*: {escape(note)}"),
        {"type": "actions", "block_id": "picked", "elements": [back]},
    ]


def service_header(service: Service, owner: Team | None) -> list[dict[str, Any]]:
    facts = [
        f"*Owner*\n{escape(owner.name) if owner else escape(service.owner)}"
        + (f" · {channel_ref(owner)}" if owner and owner.channel else "")
    ]
    for label, value in (
        ("Tier", service.tier),
        ("Lifecycle", service.lifecycle),
        ("Language", service.language),
        ("System", service.system),
        ("Product", service.product),
    ):
        if value not in (None, ""):
            facts.append(f"*{label}*\n{escape(str(value))}")
    blocks: list[dict[str, Any]] = [header(service.name)]
    if service.description:
        blocks.append(section(escape(service.description)))
    blocks.append(
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": truncate(f, limits.SECTION_FIELD)} for f in facts[:10]
            ],
        }
    )
    if service.links:
        links = " · ".join(f"<{link.url}|{escape(link.title)}>" for link in service.links[:10])
        blocks.append(context(links))
    return blocks


def service_message(
    service: Service,
    owner: Team | None,
    cards: Sequence[Card],
    state: Page,
    runs: Sequence[Run] = (),
    names: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """A service's page: its header, its recent runs, the actions that apply to it, and a
    way to everything."""
    blocks = service_header(service, owner)
    blocks += recent_runs(runs, names or {}, "Recent runs on this service", who=True)
    room = limits.MESSAGE_BLOCKS - len(blocks) - 1  # the All actions button follows
    blocks += card_list(cards, state, room, f"No actions apply to {escape(service.name)} yet.")
    blocks.append(
        {
            "type": "actions",
            "block_id": "service_nav",
            "elements": [
                {
                    "type": "button",
                    "text": plain("All actions"),
                    "action_id": f"{PAGE_BUTTON}:all",
                    "value": Page().encode(),
                }
            ],
        }
    )
    return blocks


def services_chooser(team: Team, services: Sequence[Service]) -> list[dict[str, Any]]:
    """A team channel owning several services: pick one, or see everything."""
    buttons = [
        {
            "type": "button",
            "text": plain(s.name, limits.BUTTON_TEXT),
            "action_id": f"{SERVICE_BUTTON}:{s.id}",
            "value": s.id,
        }
        for s in services[:24]
    ]
    buttons.append(
        {
            "type": "button",
            "text": plain("All actions"),
            "action_id": f"{PAGE_BUTTON}:all",
            "value": Page().encode(),
        }
    )
    return [
        header(f"{team.name}'s services"),
        section("Which service? Or browse every action."),
        {"type": "actions", "block_id": "services", "elements": buttons},
    ]


def run_line(run: Run, names: dict[str, str], who: bool = False) -> str:
    """One run at a glance: status, name (linked to its thread), by whom, when."""
    icon = STATUS_ICONS.get(run.status, "")
    name = escape(names.get(run.action_id, run.action_id))
    if run.kind == RunKind.REVERT:
        name = f"↩ Revert of {name}"
    label = f"<{run.permalink}|{name}>" if run.permalink else name
    by = f" by <@{run.user_id}>" if who else ""
    status = run.status.lower().replace("_", " ")
    return f"{icon} {label}{by} · {status} · {local_time(run.created_at)}"


def recent_runs(
    runs: Sequence[Run], names: dict[str, str], title: str = "Your recent runs", who: bool = False
) -> list[dict[str, Any]]:
    """A few runs, each with its Details button."""
    if not runs:
        return []
    return [section(f"*{title}*")] + [
        section(run_line(run, names, who), accessory=details_button(run.id)) for run in runs[:5]
    ]


def home_view(
    cards: Sequence[Card],
    state: Page,
    *,
    runs: Sequence[Run] = (),
    names: dict[str, str] | None = None,
    extra: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The Self-Service page: search, recent runs, then actions by category."""
    search = {
        "type": "input",
        "block_id": "home_search",
        "dispatch_action": True,
        "optional": True,
        "label": plain("Find an action"),
        "element": {
            "type": "plain_text_input",
            "action_id": HOME_SEARCH,
            "placeholder": plain("Search names and descriptions"),
            "dispatch_action_config": {
                "trigger_actions_on": ["on_enter_pressed", "on_character_entered"]
            },
            **({"initial_value": state.query} if state.query else {}),
        },
    }
    blocks: list[dict[str, Any]] = [
        header("Self-service actions"),
        context("Pick an action and press *Run*, or type `/actions` in a channel to run it there."),
        search,
        *extra,
        *recent_runs(runs, names or {}),
        {"type": "divider"},
    ]
    empty = (
        f"No actions match “{escape(state.query)}”."
        if state.query
        else "No actions are configured yet."
    )
    # At most CARDS_PER_VIEW cards a page (about 3 blocks each), within 100 blocks.
    room = min(limits.VIEW_BLOCKS - len(blocks), 4 * CARDS_PER_VIEW)
    blocks += card_list(cards, state, room, empty)
    return {"type": "home", "blocks": blocks}


def search(cards: Sequence[Card], query: str) -> list[Card]:
    """Cards whose name, description or category hold every word of the query."""
    words = query.lower().split()
    return [
        c
        for c in cards
        if all(
            w
            in f"{c.action.name} {c.action.description} {c.action.category or ''} "
            f"{c.action.id}".lower()
            for w in words
        )
    ]
