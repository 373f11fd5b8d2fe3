"""Browsing: the Home tab, `/actions` pages, search, service pages and Run buttons.

Every page is built as the bot builds it, checked against what Slack accepts (slack_sdk
plus Slack's block limits), and read the way a user reads it: following the Next and
Previous buttons through the values they carry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.access import Decision
from bot.catalog import Catalog
from bot.slack.views import browse
from bot.slack.views.browse import Card, Page
from bot.store import Run
from tests import samples
from tests.samples import message_ok, texts, view_ok

ALLOWED = Decision(True)
CATEGORIES = [
    "Databases",
    "Deploys",
    "Feature flags",
    "Incidents",
    "Kafka",
    "Networking",
    "Observability",
    "On-call",
    "Releases",
    "Secrets",
    "Security",
    "Storage",
]
SPECIAL = {
    7: {
        "name": "Rotate database credentials",
        "description": "Issues new Postgres passwords to every app",
        "category": "Security",
    },
    100: {"name": "Purge CDN cache", "description": "Empties the edge cache", "category": None},
    201: {
        "name": "Page the on-call",
        "description": "Wakes someone up",
        "category": "Incidents",
    },
}


def big_catalog(count: int = 300) -> Catalog:
    """`count` actions across the categories above, every 13th without a category."""
    actions = []
    for i in range(count):
        category = CATEGORIES[i % 13] if i % 13 < len(CATEGORIES) else None
        item = samples.action(
            f"task-{i:03}",
            name=f"Task {i:03}",
            description=f"Does chore number {i}",
            category=category,
        )
        item.update(SPECIAL.get(i, {}))
        if item["category"] is None:
            del item["category"]
        actions.append(item)
    return samples.catalog(samples.document(actions))


def cards_of(catalog: Catalog) -> list[Card]:
    return [Card(a, catalog.owner_of(a), ALLOWED) for a in catalog.actions.values()]


def button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any] | None:
    found = [
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    ]
    return found[0] if found else None


def pager(blocks: list[dict[str, Any]]) -> list[str]:
    rows = [b for b in blocks if b.get("block_id") == "pager"]
    return [e["text"]["text"] for e in rows[0]["elements"]] if rows else []


def card_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["block_id"][5:] for b in blocks if b.get("block_id", "").startswith("card:")]


def follow(
    build: Callable[[Page], list[dict[str, Any]]], start: Page
) -> list[list[dict[str, Any]]]:
    """Every page, reached by clicking Next; checks Previous leads back."""
    pages, state = [], start
    while True:
        blocks = build(state)
        pages.append(blocks)
        nxt = button(blocks, f"{browse.PAGE_BUTTON}:next")
        if nxt is None:
            return pages
        following = Page.decode(nxt["value"])
        assert following.page == state.page + 1
        assert following.query == start.query
        back = button(build(following), f"{browse.PAGE_BUTTON}:prev")
        assert back is not None
        assert Page.decode(back["value"]) == state
        state = following
        assert len(pages) < 100, "paging does not end"


def headings_of(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """Each card's category heading, as the user reads it above the card."""
    found, current = {}, None
    for block in blocks:
        if block["type"] == "section" and "block_id" not in block:
            text = block.get("text", {}).get("text", "")
            if text.startswith("*") and text.endswith("*") and "\n" not in text:
                current = text.strip("*")
        elif block.get("block_id", "").startswith("card:"):
            found[block["block_id"][5:]] = current
    return found


def check_pages(pages: list[list[dict[str, Any]]], catalog: Catalog) -> None:
    """Every action exactly once, in category order, under its heading, with a pager."""
    total = len(catalog.actions)
    seen = [a for page in pages for a in card_ids(page)]
    assert len(seen) == len(set(seen)) == total
    assert set(seen) == set(catalog.actions)
    for number, page in enumerate(pages):
        if len(pages) == 1:
            assert pager(page) == []
        elif number == 0:
            assert pager(page) == ["Next"]
        elif number == len(pages) - 1:
            assert pager(page) == ["Previous"]
        else:
            assert pager(page) == ["Previous", "Next"]
        first = sum(len(card_ids(p)) for p in pages[:number]) + 1
        last = first + len(card_ids(page)) - 1
        if len(pages) > 1:
            assert f"Showing {first}–{last} of {total} actions" in texts(page)
        headings = headings_of(page)
        for action_id in card_ids(page):
            category = catalog.actions[action_id].category
            assert headings[action_id] == (category or "Other"), action_id
    # Categories alphabetically, the uncategorised last, names in order within each.
    order = [(catalog.actions[a].category or "~", catalog.actions[a].name.lower()) for a in seen]
    assert order == sorted(order)


# --- the Home tab -----------------------------------------------------------------------


def test_home_tab_pages_through_300_actions() -> None:
    catalog = big_catalog()
    cards = cards_of(catalog)

    def home(state: Page) -> list[dict[str, Any]]:
        view = browse.home_view(cards, state)
        view_ok(view)  # at most 100 blocks
        return view["blocks"]

    pages = follow(home, Page())

    check_pages(pages, catalog)
    assert len(pages) >= 3
    for page in pages:
        assert page[0] == {
            "type": "header",
            "text": {"type": "plain_text", "text": "Self-service actions", "emoji": True},
        }
        (search,) = [b for b in page if b.get("block_id") == "home_search"]
        assert search["dispatch_action"] is True
    assert "Other" in texts(pages[-1])


def test_home_tab_with_recent_runs_and_an_admin_note_stays_within_limits() -> None:
    catalog = big_catalog()
    runs = [
        Run(
            id=f"run-{i}",
            action_id="task-007",
            user_id="U0DEV",
            status=status,
            created_at=datetime(2024, 3, 1, 12, i, tzinfo=UTC),
            permalink="https://example.slack.com/archives/C0/p1" if i else None,
        )
        for i, status in enumerate(["SUCCESS", "FAILURE", "PENDING", "TIMED_OUT", "CANCELLED"])
    ]
    extra = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": ":key: You are an admin"}]}
    ]
    names = {a.id: a.name for a in catalog.actions.values()}

    def home(state: Page) -> list[dict[str, Any]]:
        view = browse.home_view(cards_of(catalog), state, runs=runs, names=names, extra=extra)
        view_ok(view)
        return view["blocks"]

    pages = follow(home, Page())
    check_pages(pages, catalog)
    shown = texts(pages[0])
    assert "*Your recent runs*" in shown
    assert "<https://example.slack.com/archives/C0/p1|Rotate database credentials>" in shown
    assert "Rotate database credentials · success · <!date^1709294400^" in shown
    assert "timed out" in shown


def test_home_search_keeps_the_query_and_pages_within_the_results() -> None:
    catalog = big_catalog()
    query = "chore"
    found = browse.search(cards_of(catalog), query)

    def home(state: Page) -> list[dict[str, Any]]:
        view = browse.home_view(found, state)
        view_ok(view)
        return view["blocks"]

    pages = follow(home, Page(query=query))
    (search,) = [b for b in pages[0] if b.get("block_id") == "home_search"]
    assert search["element"]["initial_value"] == "chore"
    seen = [a for page in pages for a in card_ids(page)]
    assert len(seen) == 297  # every action but the three renamed ones


def test_home_search_without_results_says_so() -> None:
    view = browse.home_view(
        browse.search(cards_of(big_catalog()), "kubernetes"), Page("kubernetes")
    )
    view_ok(view)
    assert "No actions match “kubernetes”." in texts(view["blocks"])
    assert card_ids(view["blocks"]) == []


# --- `/actions` messages ----------------------------------------------------------------


def test_catalog_message_pages_through_300_actions() -> None:
    catalog = big_catalog()
    cards = cards_of(catalog)

    def message(state: Page) -> list[dict[str, Any]]:
        blocks = browse.catalog_message(cards, state)
        message_ok(blocks)  # at most 50 blocks
        return blocks

    pages = follow(message, Page())

    check_pages(pages, catalog)
    assert len(pages) >= 10
    assert all(texts(p).startswith("Self-service actions") for p in pages)


def test_catalog_message_with_many_small_categories_stays_within_50_blocks() -> None:
    actions = [samples.action(f"a-{i:03}", category=f"Team {i // 2:03}") for i in range(300)]
    catalog = samples.catalog(samples.document(actions))
    cards = cards_of(catalog)
    for number in range(-(-300 // browse.CARDS_PER_MESSAGE)):
        message_ok(browse.catalog_message(cards, Page(page=number)))


def test_search_matches_names_descriptions_and_categories() -> None:
    cards = cards_of(big_catalog())

    def found(query: str) -> list[str]:
        return [c.action.id for c in browse.search(cards, query)]

    assert found("rotate DATABASE") == ["task-007"]  # name, any case, every word
    assert found("postgres") == ["task-007"]  # description
    assert found("purge") == ["task-100"]
    assert set(found("security")) == {
        a.id for a in big_catalog().actions.values() if a.category == "Security"
    }
    assert "task-007" in found("security")
    assert found("on-call wakes") == ["task-201"]  # name and description together
    assert found("rotate kafka") == []
    assert len(found("")) == 300


def test_search_results_message() -> None:
    cards = cards_of(big_catalog())
    state = Page(query="postgres")

    blocks = message_ok(browse.catalog_message(browse.search(cards, state.query), state))

    assert card_ids(blocks) == ["task-007"]
    shown = texts(blocks)
    assert "Matching “postgres”" in shown
    assert "*Rotate database credentials*\nIssues new Postgres passwords to every app" in shown
    assert pager(blocks) == []


def test_empty_search_tells_what_to_do() -> None:
    state = Page(query="<nothing> & more")
    blocks = message_ok(browse.catalog_message([], state))
    assert texts(blocks).endswith(
        "No actions match “&lt;nothing&gt; &amp; more”. Type `/actions` for the whole "
        "catalog, or `/actions <service>` for a service's page."
    )


# --- service pages ----------------------------------------------------------------------


def service_catalog(extra: int = 0) -> Catalog:
    """Two services; `extra` more service actions, each in a category of its own."""
    doc = samples.document(
        [
            samples.action(
                "restart", name="Restart pods", scope="service", confirm="Restarts every pod."
            ),
            samples.action(
                "deploy",
                name="Deploy",
                scope="service",
                category="Deploys",
                inputs=[{"identifier": "ref", "displayName": "Ref", "type": "text_input"}],
            ),
            samples.action("other-team", scope="service", filter={"owner": "search"}),
            samples.action(
                "create-ticket",
                name="Create ticket",
                inputs=[{"identifier": "title", "displayName": "Title", "type": "text_input"}],
            ),
            *(
                samples.action(f"extra-{i:02}", scope="service", category=f"Cat {i:02}")
                for i in range(extra)
            ),
        ],
        teams=[samples.team(), samples.team("search", channel=None)],
        services=[
            samples.service(
                "checkout-api",
                name="Checkout API",
                description="Carts & orders",
                tier=1,
                lifecycle="production",
                language="python",
                system="checkout",
                links=[
                    {"title": "Runbook", "url": "https://wiki.example.com/checkout"},
                    {"title": "Dashboard", "url": "https://grafana.example.com/d/checkout"},
                ],
            ),
            samples.service("search-api", name="Search API", owner="search"),
        ],
    )
    return samples.catalog(doc)


def service_page(catalog: Catalog, service_id: str) -> list[dict[str, Any]]:
    service = catalog.services[service_id]
    cards = [Card(a, catalog.owner_of(a), ALLOWED, service) for a in catalog.actions_for(service)]
    return message_ok(
        browse.service_message(
            service, catalog.team(service.owner), cards, Page(service=service.id)
        )
    )


def test_service_page_header() -> None:
    blocks = service_page(service_catalog(), "checkout-api")

    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Checkout API", "emoji": True},
    }
    assert blocks[1]["text"]["text"] == "Carts &amp; orders"
    facts = [f["text"] for f in blocks[2]["fields"]]
    assert facts == [
        "*Owner*\nPayments · <#C0PAY>",
        "*Tier*\n1",
        "*Lifecycle*\nproduction",
        "*Language*\npython",
        "*System*\ncheckout",
    ]
    assert blocks[3]["elements"][0]["text"] == (
        "<https://wiki.example.com/checkout|Runbook> · "
        "<https://grafana.example.com/d/checkout|Dashboard>"
    )
    # Only the actions that apply to this service, run on it.
    assert card_ids(blocks) == ["deploy", "restart"]
    assert "Runs on a service" not in texts(blocks)
    everything = button(blocks, f"{browse.PAGE_BUTTON}:all")
    assert everything is not None
    assert Page.decode(everything["value"]) == Page()


def test_service_page_of_a_bare_service() -> None:
    blocks = service_page(service_catalog(), "search-api")
    assert blocks[0]["text"]["text"] == "Search API"
    assert [f["text"] for f in blocks[1]["fields"]] == ["*Owner*\nSearch"]
    assert card_ids(blocks) == ["deploy", "other-team", "restart"]  # no filter: every service


def test_service_page_without_actions() -> None:
    catalog = service_catalog()
    service = catalog.services["checkout-api"]
    blocks = message_ok(
        browse.service_message(service, catalog.team("payments"), [], Page(service="checkout-api"))
    )
    assert "No actions apply to Checkout API yet." in texts(blocks)


def test_service_page_with_many_categories_stays_within_50_blocks() -> None:
    catalog = service_catalog(extra=14)
    service_page(catalog, "checkout-api")


def test_team_channel_with_several_services_offers_a_choice() -> None:
    catalog = service_catalog()
    team = catalog.teams["payments"]
    blocks = message_ok(browse.services_chooser(team, [catalog.services["checkout-api"]]))
    row = blocks[-1]["elements"]
    assert [(e["text"]["text"], e.get("value")) for e in row][:1] == [
        ("Checkout API", "checkout-api")
    ]
    assert row[-1]["text"]["text"] == "All actions"


# --- Run buttons ------------------------------------------------------------------------


def card_for(
    catalog: Catalog, action_id: str, service: str | None = None, ok: bool = True
) -> list[dict[str, Any]]:
    action = catalog.actions[action_id]
    decision = ALLOWED if ok else Decision(False, "only admins can run this action")
    bound = catalog.services[service] if service else None
    return message_ok(browse.card_blocks(Card(action, catalog.owner_of(action), decision, bound)))


def test_one_click_action_asks_for_confirmation_when_configured() -> None:
    catalog = samples.catalog(
        samples.document(
            [
                samples.action(
                    "restart-all", name="Restart all", confirm="This restarts every pod."
                ),
                samples.action("ping", name="Ping"),
            ]
        )
    )

    run = card_for(catalog, "restart-all")[0]["accessory"]
    assert run["action_id"] == browse.RUN_NOW_BUTTON
    assert run["value"] == "restart-all"
    assert run["text"]["text"] == "Run"
    assert run["confirm"] == {
        "title": {"type": "plain_text", "text": "Run Restart all?", "emoji": True},
        "text": {"type": "plain_text", "text": "This restarts every pod.", "emoji": True},
        "confirm": {"type": "plain_text", "text": "Run", "emoji": True},
        "deny": {"type": "plain_text", "text": "Cancel", "emoji": True},
    }

    ping = card_for(catalog, "ping")[0]["accessory"]
    assert ping["action_id"] == browse.RUN_NOW_BUTTON
    assert "confirm" not in ping


def test_actions_with_inputs_open_the_form() -> None:
    catalog = service_catalog()
    run = card_for(catalog, "create-ticket")[0]["accessory"]
    assert run["action_id"] == browse.RUN_BUTTON
    deploy = card_for(catalog, "deploy", "checkout-api")[0]["accessory"]
    assert deploy["action_id"] == browse.RUN_BUTTON
    assert browse.parse_button_value(deploy["value"]) == ("deploy", "checkout-api")
    assert "confirm" not in deploy


def test_a_service_action_without_inputs_is_one_click_only_on_its_service() -> None:
    catalog = service_catalog()

    # In the catalog, the service is still to be chosen: open the form.
    blocks = card_for(catalog, "restart")
    assert blocks[0]["accessory"]["action_id"] == browse.RUN_BUTTON
    assert "confirm" not in blocks[0]["accessory"]
    assert "Runs on a service" in texts(blocks)

    # On the service's page, one click runs it there, after the confirmation.
    bound = card_for(catalog, "restart", "checkout-api")[0]["accessory"]
    assert bound["action_id"] == browse.RUN_NOW_BUTTON
    assert browse.parse_button_value(bound["value"]) == ("restart", "checkout-api")
    assert bound["confirm"]["text"]["text"] == "Restarts every pod."


def test_a_refused_card_has_no_run_button() -> None:
    blocks = card_for(service_catalog(), "restart", "checkout-api", ok=False)
    assert all("accessory" not in b for b in blocks)
    assert "only admins can run this action" in texts(blocks)
