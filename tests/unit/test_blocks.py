"""Block Kit builders: what Slack accepts, and what a user reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot import inputs, options
from bot.access import Decision, Principal, can_run
from bot.catalog import Action, Catalog, Option
from bot.config import load_file
from bot.runs import Outcome
from bot.slack.views import admin, browse, forms
from bot.slack.views import blocks as kit
from bot.slack.views.browse import Card, Page
from bot.store import Run
from tests import samples
from tests.samples import message_ok, texts, view_ok, walk

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "actions.yml"
ALLOWED = Decision(True)
DENIED = Decision(False, "only admins can run this action")
STATUSES = ("PENDING", "RUNNING", "SUCCESS", "FAILURE", "TIMED_OUT", "CANCELLED")
PER_MESSAGE = browse.CARDS_PER_MESSAGE


# --- builders for the tests -----------------------------------------------------------


def many_actions(count: int) -> Catalog:
    return samples.catalog(
        samples.document([samples.action(f"action-{i:03}") for i in range(count)])
    )


def cards_of(catalog: Catalog, decision: Decision = ALLOWED) -> list[Card]:
    return [Card(a, catalog.owner_of(a), decision) for a in catalog.actions.values()]


def examples() -> Catalog:
    return load_file(EXAMPLES).catalog


def ticket() -> tuple[Catalog, Action]:
    catalog = samples.issue_catalog()
    action = catalog.action("create-ticket")
    assert action is not None
    return catalog, action


def form(catalog: Catalog, action: Action, **extra: Any) -> dict[str, Any]:
    """The run modal as the bot opens it: inputs resolved, then drawn."""
    service = extra.pop("service", None)
    fields = inputs.resolve(catalog, action, service=service)
    extra.setdefault("channel_id", None)
    extra.setdefault("metadata", "m")
    return forms.run_modal(action, catalog.owner_of(action), fields, service=service, **extra)


def run_of(action: Action, inputs: dict[str, Any], **extra: Any) -> Run:
    return Run(
        id="0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        action_id=action.id,
        user_id="U0DEV",
        inputs=inputs,
        **extra,
    )


# --- every builder passes slack_sdk -----------------------------------------------------


def test_every_example_action_builds_valid_views_and_messages() -> None:
    catalog = examples()
    nobody = Principal("U0NOBODY")
    for action in catalog.actions.values():
        owner = catalog.owner_of(action)
        services = catalog.services_for(action)
        view_ok(form(catalog, action, channel_id="C0CHAN", services=services))
        if services:
            view_ok(form(catalog, action, services=services, service=services[-1]))
            view_ok(form(catalog, action, service=services[0], service_fixed=True))
        view_ok(kit.refusal_modal(action, owner, DENIED))
        view_ok(kit.running_modal(action, "C0CHAN"))
        view_ok(kit.running_modal(action, None))
        view_ok(kit.result_modal(action, Outcome(True, "done"), "https://example.slack.com/p1"))
        view_ok(kit.result_modal(action, Outcome(False, "failed"), None))
        message_ok(browse.card_blocks(Card(action, owner, can_run(catalog, action, nobody))))
        sent = {
            i.identifier: i.static_values[0].value if i.static_values else "x"
            for i in action.inputs
        }
        run = run_of(action, sent)
        # A re-run shows what was sent last time.
        fields = inputs.resolve(
            catalog, action, values=sent, service=services[0] if services else None
        )
        for field in fields:
            field.initial = sent[field.identifier]
        rerun = forms.run_modal(
            action, owner, fields, channel_id="C0CHAN", metadata="m", services=services
        )
        view_ok(rerun)
        prefilled = {
            b["block_id"]: b["element"]
            for b in rerun["blocks"]
            if b.get("block_id", "")[:6] == "input:"
        }
        for item in action.inputs:
            element = prefilled.get(f"input:{item.identifier}")
            if element is None:  # hidden by its `visible` rule
                continue
            shown = element.get("initial_value") or element.get("initial_option", {}).get("value")
            assert shown == sent[item.identifier], item.identifier
        service = services[0] if action.scope == "service" else None
        for status in STATUSES:
            message_ok(kit.status_message(run, action, service, status=status)[1])
        message_ok(
            kit.status_message(
                run,
                action,
                service,
                status="RUNNING",
                note="Deploying **v2**",
                links=[{"text": "Logs", "url": "https://ci.example.com/1"}],
                duration_ms=12.3,
            )[1]
        )
        for outcome in (
            Outcome(
                True, "## Done\n**ok**", links=[{"text": "T-1", "url": "https://t.example.com"}]
            ),
            Outcome(False, "x" * 5000, log="line\n```\nmore " + "y" * 5000),
        ):
            message_ok(kit.result_message(run, action, owner, outcome)[1])
    cards = cards_of(catalog)
    view_ok(browse.home_view(cards, Page()))
    view_ok({"type": "home", "blocks": admin.list_blocks(catalog)})
    message_ok(browse.catalog_message(cards, Page()))
    message_ok(admin.list_blocks(catalog))
    for service in catalog.services.values():
        bound = [
            Card(a, catalog.owner_of(a), ALLOWED, service) for a in catalog.actions_for(service)
        ]
        message_ok(
            browse.service_message(
                service, catalog.team(service.owner), bound, Page(service=service.id)
            )
        )
    view_ok(kit.notice_modal("Action not found", "This action no longer exists."))


def test_empty_catalog() -> None:
    blocks = message_ok(browse.catalog_message([], Page()))
    assert "No actions are configured yet." in texts(blocks)
    home = browse.home_view([], Page())
    view_ok(home)
    assert "No actions are configured yet." in texts(home["blocks"])


# --- paging ---------------------------------------------------------------------------


def pager(blocks: list[dict[str, Any]]) -> list[str]:
    found = [b for b in blocks if b.get("block_id") == "pager"]
    return [e["text"]["text"] for e in found[0]["elements"]] if found else []


def shown_cards(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["block_id"][5:] for b in blocks if b.get("block_id", "").startswith("card:")]


def test_two_hundred_actions_page_in_messages() -> None:
    cards = cards_of(many_actions(200))
    pages = -(-200 // PER_MESSAGE)

    first = browse.catalog_message(cards, Page())
    message_ok(first)
    assert f"Showing 1–{PER_MESSAGE} of 200" in texts(first)
    assert pager(first) == ["Next"]
    assert len(shown_cards(first)) == PER_MESSAGE

    second = browse.catalog_message(cards, Page(page=1))
    message_ok(second)
    assert f"Showing {PER_MESSAGE + 1}–{2 * PER_MESSAGE} of 200" in texts(second)
    assert pager(second) == ["Previous", "Next"]

    last = browse.catalog_message(cards, Page(page=pages - 1))
    message_ok(last)
    assert f"Showing {(pages - 1) * PER_MESSAGE + 1}–200 of 200" in texts(last)
    assert pager(last) == ["Previous"]
    assert "*Action 199*" in texts(last)


def test_page_buttons_carry_the_page_to_open() -> None:
    state = Page(query="action", page=1)
    blocks = browse.catalog_message(browse.search(cards_of(many_actions(200)), "action"), state)
    (row,) = [b for b in blocks if b.get("block_id") == "pager"]
    opened = {e["action_id"]: Page.decode(e["value"]) for e in row["elements"]}
    # The search travels with the page, so Next shows more of the same results.
    assert opened == {
        "catalog_page:prev": Page(query="action", page=0),
        "catalog_page:next": Page(query="action", page=2),
    }


def test_page_out_of_range_shows_the_last_page() -> None:
    blocks = browse.catalog_message(cards_of(many_actions(200)), Page(page=999))
    pages = -(-200 // PER_MESSAGE)
    assert f"Showing {(pages - 1) * PER_MESSAGE + 1}–200 of 200" in texts(blocks)


def test_a_garbled_page_value_opens_the_first_page() -> None:
    for value in ("", "not json", "[1]", '{"page": "x"}', None):
        assert Page.decode(value) == Page()


def test_one_page_has_no_pager() -> None:
    blocks = message_ok(browse.catalog_message(cards_of(many_actions(PER_MESSAGE)), Page()))
    assert pager(blocks) == []
    assert "Showing" not in texts(blocks)


def test_home_tab_pages_within_the_view_limit() -> None:
    cards = cards_of(many_actions(200))
    view = browse.home_view(cards, Page())
    view_ok(view)
    per_page = len(shown_cards(view["blocks"]))
    assert per_page >= 10
    assert f"Showing 1–{per_page} of 200" in texts(view["blocks"])
    assert pager(view["blocks"]) == ["Next"]
    pages = -(-200 // per_page)
    last = browse.home_view(cards, Page(page=pages - 1))
    view_ok(last)
    assert f"Showing {(pages - 1) * per_page + 1}–200 of 200" in texts(last["blocks"])
    assert pager(last["blocks"]) == ["Previous"]


def test_admin_list_of_two_hundred_actions_names_them_all() -> None:
    catalog = many_actions(200)
    blocks = admin.list_blocks(catalog)
    message_ok(blocks)
    shown = texts(blocks)
    assert "Actions (200)" in shown
    assert all(f"`{action_id}`" in shown for action_id in catalog.actions)


# --- cards ----------------------------------------------------------------------------


def test_runnable_card_has_a_run_button() -> None:
    catalog, action = ticket()
    section, context = browse.card_blocks(Card(action, catalog.owner_of(action), ALLOWED))
    assert section["accessory"]["action_id"] == "run_action"
    assert section["accessory"]["value"] == "create-ticket"
    assert "*Create ticket*" in section["text"]["text"]
    assert "Owner: *Payments* · <#C0PAY>" in texts([context])


def test_card_the_user_cannot_run_names_the_owner_and_its_channel() -> None:
    catalog, action = ticket()
    blocks = browse.card_blocks(Card(action, catalog.owner_of(action), DENIED))
    message_ok(blocks)
    assert all("accessory" not in b for b in blocks)
    shown = texts(blocks)
    assert "only admins can run this action" in shown
    assert "Ask *Payments* in <#C0PAY> for access." in shown


def test_draft_is_marked() -> None:
    doc = samples.issue_document()
    doc["actions"][0]["published"] = False
    catalog = samples.catalog(doc)
    action = catalog.action("create-ticket")
    assert action is not None

    for who in (Principal("U0ADMIN"), Principal("U0DEV")):
        card = Card(action, catalog.owner_of(action), can_run(catalog, action, who))
        assert "`draft`" in browse.card_blocks(card)[0]["text"]["text"]
    published_catalog, published = ticket()
    card = Card(published, published_catalog.owner_of(published), ALLOWED)
    assert "draft" not in texts(browse.card_blocks(card))


def test_names_are_escaped_in_cards() -> None:
    doc = samples.document(
        [samples.action(name="Ping <!channel> & co", description="<https://evil|bank>")]
    )
    catalog = samples.catalog(doc)
    shown = texts(message_ok(browse.catalog_message(cards_of(catalog), Page())))
    assert "<!channel>" not in shown
    assert "<https://evil|bank>" not in shown
    assert "Ping &lt;!channel&gt; &amp; co" in shown


# --- the run modal --------------------------------------------------------------------


def test_run_modal_has_one_input_block_per_input() -> None:
    catalog, action = ticket()
    view = form(catalog, action, channel_id="C0CHAN", metadata="sealed")
    view_ok(view)

    inputs_ = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs_] == ["input:title", "input:details", "input:prio"]
    title, details, prio = (b["element"] for b in inputs_)
    assert title["max_length"] == 80
    assert inputs_[0]["optional"] is False
    assert details["multiline"] is True
    assert details["placeholder"]["text"] == "What happened?"
    assert [o["value"] for o in prio["options"]] == ["low", "high"]
    assert prio["initial_option"]["value"] == "low"
    assert view["callback_id"] == "run_action_modal"
    assert view["private_metadata"] == "sealed"
    assert view["submit"]["text"] == "Run"
    assert all(b.get("block_id") != "service" for b in view["blocks"])
    assert "The result will be posted in <#C0CHAN>." in texts(view["blocks"])


def test_run_modal_of_a_service_action_has_a_service_select() -> None:
    doc = samples.issue_document()
    doc["actions"][0]["scope"] = "service"
    doc["services"].append(samples.service("payments-ledger", name="Payments Ledger"))
    catalog = samples.catalog(doc)
    action = catalog.action("create-ticket")
    assert action is not None
    services = catalog.services_for(action)

    view = form(catalog, action, services=services, service=services[1])
    view_ok(view)

    (select,) = [b for b in view["blocks"] if b.get("block_id") == "service"]
    assert select["type"] == "input"
    assert [o["value"] for o in select["element"]["options"]] == ["checkout-api", "payments-ledger"]
    assert select["element"]["initial_option"]["value"] == "payments-ledger"
    ids = [b.get("block_id") for b in view["blocks"]]
    assert ids.index("service") < ids.index("input:title")
    assert "your direct messages with me" in texts(view["blocks"])


def test_service_chosen_on_its_page_is_shown_not_asked() -> None:
    doc = samples.issue_document()
    doc["actions"][0]["scope"] = "service"
    catalog = samples.catalog(doc)
    action = catalog.action("create-ticket")
    assert action is not None
    service = catalog.services["checkout-api"]

    view = form(catalog, action, services=[service], service=service, service_fixed=True)

    view_ok(view)
    assert all(b.get("block_id") != "service" for b in view["blocks"])
    assert "Service: *Checkout API*" in texts(view["blocks"])


def test_modal_title_fits_for_a_75_character_name() -> None:
    name = "Restart every single production pod of the checkout service in all regions"
    name = (name + " now")[:75]
    assert len(name) == 75
    catalog = samples.catalog(samples.document([samples.action(name=name)]))
    action = next(iter(catalog.actions.values()))

    for view in (
        form(catalog, action, channel_id="C1"),
        kit.running_modal(action, "C1"),
        kit.result_modal(action, Outcome(True, "ok"), None),
    ):
        view_ok(view)
        assert len(view["title"]["text"]) <= 24
        assert view["title"]["text"].startswith("Restart every")


def test_long_inputs_stay_within_slack_limits() -> None:
    action = samples.action(
        inputs=[
            {
                "identifier": "body",
                "displayName": "D" * 2000,
                "type": "text_area",
                "maxLength": 3000,
                "minLength": 3000,
                "description": "h" * 2000,
                "placeholder": "p" * 150,
            },
            {
                "identifier": "pick",
                "displayName": "Pick",
                "type": "dropdown",
                "values": [{"value": f"{i:075d}", "display": "x" * 75} for i in range(100)],
            },
        ]
    )
    catalog = samples.catalog(samples.document([action]))
    model = next(iter(catalog.actions.values()))
    view_ok(form(catalog, model))


def test_every_service_can_be_chosen_when_there_are_more_than_100() -> None:
    services = [samples.service(f"svc-{i:03}") for i in range(150)]
    doc = samples.document([samples.action(scope="service")], services=services)
    catalog = samples.catalog(doc)
    action = next(iter(catalog.actions.values()))
    chosen = catalog.services_for(action)

    view = form(catalog, action, services=chosen, service=catalog.service("svc-120"))
    view_ok(view)

    (block,) = [b for b in view["blocks"] if b.get("block_id") == "service"]
    element = block["element"]
    # Too many for a static list: the user types and every service can be found.
    assert element["type"] == "external_select"
    assert element["min_query_length"] == 0
    assert element["initial_option"]["value"] == "svc-120"
    offered = [Option(value=s.id, display=s.name) for s in chosen]
    assert [o.value for o in options.matching(offered, "svc 149")] == ["svc-149"]
    assert len(options.matching(offered, "")) == options.MAX_RESULTS
    assert {o["value"] for o in walk(element) if "value" in o and "text" in o} == {"svc-120"}


def test_service_choice_reads_back_from_either_select() -> None:
    for kind in ("static_select", "external_select"):
        state = {
            "values": {
                "service": {
                    "service": {
                        "type": kind,
                        "selected_option": {
                            "text": {"type": "plain_text", "text": "Svc 120", "emoji": True},
                            "value": "svc-120",
                        },
                    }
                }
            }
        }
        assert forms.read_service(state) == "svc-120"
    assert forms.read_service({"values": {}}) is None
    assert (
        forms.read_service({"values": {"service": {"service": {"selected_option": None}}}}) is None
    )


# --- messages about a run -------------------------------------------------------------


def test_status_message_escapes_user_input() -> None:
    _, action = ticket()
    run = run_of(action, {"title": "<!channel> <@U0CEO> & <https://evil|bank>", "prio": "high"})

    text, blocks = kit.status_message(run, action, None)
    message_ok(blocks)
    shown = texts(blocks)

    assert "<!channel>" not in shown
    assert "<@U0CEO>" not in shown
    assert "<https://evil|bank>" not in shown
    assert "&lt;!channel&gt; &lt;@U0CEO&gt; &amp; &lt;https://evil|bank&gt;" in shown
    assert "<@U0DEV> is running *Create ticket*" in shown
    assert "*Priority*\nhigh" in shown
    assert "Run `0f1e2d3c`" in shown
    assert text == "Create ticket: pending"


def test_status_message_shows_dropdown_labels_and_skips_empty_inputs() -> None:
    action = Action.model_validate(
        samples.action(
            inputs=[
                {
                    "identifier": "env",
                    "displayName": "Env",
                    "type": "dropdown",
                    "values": [{"value": "prod", "display": "Production"}],
                },
                {"identifier": "note", "displayName": "Note", "type": "text_input"},
            ]
        )
    )
    _, blocks = kit.status_message(run_of(action, {"env": "prod", "note": None}), action, None)
    shown = texts(message_ok(blocks))
    assert "*Env*\nProduction" in shown
    assert "Note" not in shown


def test_status_message_when_finished() -> None:
    catalog, action = ticket()
    run = run_of(action, {"title": "T"})
    service = catalog.services["checkout-api"]

    text, done = kit.status_message(run, action, service, status="SUCCESS", duration_ms=41.6)
    _, failed = kit.status_message(run, action, None, status="FAILURE")
    _, timed_out = kit.status_message(run, action, None, status="TIMED_OUT")

    assert ":white_check_mark: <@U0DEV> ran *Create ticket* on *Checkout API* — succeeded" in (
        texts(message_ok(done))
    )
    assert "42 ms" in texts(done)
    assert text == "Create ticket on Checkout API: success"
    assert ":x: <@U0DEV> ran *Create ticket* — failed" in texts(message_ok(failed))
    assert "ran *Create ticket* — timed out" in texts(message_ok(timed_out))
    for finished in (done, failed, timed_out):
        assert all(b["type"] != "actions" or b["block_id"] != "run_controls" for b in finished)


def test_pending_run_can_be_cancelled_from_its_status_message() -> None:
    _, action = ticket()
    run = run_of(action, {"title": "T"})

    _, blocks = kit.status_message(run, action, None, status="PENDING")

    message_ok(blocks)
    (controls,) = [b for b in blocks if b.get("block_id") == "run_controls"]
    (button,) = controls["elements"]
    assert button["action_id"] == "cancel_run"
    assert button["value"] == run.id
    assert "confirm" in button


def test_result_message_for_a_failure_names_the_owner_team() -> None:
    catalog, action = ticket()
    outcome = Outcome(False, "Failed with 503", status=503)

    fallback, blocks = kit.result_message(
        run_of(action, {}), action, catalog.owner_of(action), outcome
    )

    shown = texts(message_ok(blocks))
    assert "Failed with 503" in shown
    assert "Need help? Ask *Payments* in <#C0PAY>, who own *Create ticket*." in shown
    assert fallback == "Failed with 503"


def test_result_message_for_a_success_converts_markdown() -> None:
    catalog, action = ticket()
    outcome = Outcome(True, "## Ticket created\n**T-1**: [open](https://t.example.com/T-1)")

    run = run_of(action, {})
    _, blocks = kit.result_message(run, action, catalog.owner_of(action), outcome)

    message_ok(blocks)
    assert blocks[0]["text"]["text"] == (
        "*Ticket created*\n*T-1*: <https://t.example.com/T-1|open>"
    )
    assert "Need help?" not in texts(blocks)
    (rerun,) = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert rerun["action_id"] == "rerun"
    assert rerun["value"] == run.id


def test_refusal_text_names_the_owner() -> None:
    catalog, action = ticket()
    assert kit.refusal_text(action, catalog.owner_of(action), DENIED) == (
        ":lock: You can't run *Create ticket*: only admins can run this action. "
        "Ask *Payments* in <#C0PAY>."
    )


def test_owner_without_a_channel() -> None:
    doc = samples.document(teams=[samples.team(channel=None)], services=[])
    catalog = samples.catalog(doc)
    action = next(iter(catalog.actions.values()))
    owner = catalog.owner_of(action)
    blocks = browse.card_blocks(Card(action, owner, DENIED))
    message_ok(blocks)
    assert "Ask *Payments* for access." in texts(blocks)
    assert "<#" not in texts(blocks)
