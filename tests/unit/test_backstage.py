"""Backstage descriptors (`catalog-info.yaml`) as the bot's teams and services.

A config file in a temporary directory names descriptor files under `catalog:`; the tests
load it from disk the way `python -m bot check` and the bot do, then read what an admin
or a user would see: the services and teams, a service's page, or the errors.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.access import Decision
from bot.config import ConfigError, load_file
from bot.slack.views import browse
from bot.slack.views.browse import Card, Page
from tests.samples import message_ok, texts

CONFIG = """\
admins: {users: [U0ADMIN]}
catalog: [backstage/*.yaml]
actions:
  - id: restart
    name: Restart
    owner: payments
    scope: service
    filter: {system: checkout}
    webhook: {url: "https://hooks.example.com/restart"}
    inputs:
      - {identifier: why, displayName: Why, type: text_input}
  - id: page-owners
    name: Page the owners
    owner: sre
    scope: service
    filter: {tags: {tier: "1"}}
    webhook: {url: "https://hooks.example.com/page?pd={{ service.annotations['pagerduty.com/service-id'] }}"}
"""

DESCRIPTORS = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: payments
  annotations:
    slack.com/channel-id: C0PAY
    slack.com/member-ids: "U0OWNER, U0DEV"
spec:
  type: team
  profile: {displayName: Payments Team}
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: sre, title: Site Reliability}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout-api
  title: Checkout API
  description: Carts, pricing and orders.
  tags: [python, critical]
  labels: {tier: "1", language: python, framework: fastapi}
  annotations:
    slack.com/channel-id: C0CHECKOUT
    pagerduty.com/service-id: P7CHK01
    github.com/project-slug: acme/checkout-api
  links:
    - {url: "https://wiki.example.com/checkout", title: Runbook}
    - {url: "https://grafana.example.com/d/checkout"}
spec:
  type: service
  lifecycle: production
  owner: group:default/payments
  system: system:default/checkout
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout-worker
  labels: {tier: "2"}
spec: {type: service, lifecycle: experimental, owner: payments, system: checkout}
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata: {name: checkout}
spec: {owner: group:default/payments}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: checkout-openapi}
spec: {type: openapi, lifecycle: production, owner: payments, definition: "openapi: 3.0.0"}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: status-page, description: Public status page}
spec: {type: website, lifecycle: production, owner: "group:sre"}
"""


def write(tmp_path: Path, descriptors: str = DESCRIPTORS, config: str = CONFIG) -> Path:
    (tmp_path / "backstage").mkdir(exist_ok=True)
    (tmp_path / "backstage" / "catalog-info.yaml").write_text(descriptors, encoding="utf-8")
    path = tmp_path / "actions.yml"
    path.write_text(config, encoding="utf-8")
    return path


def test_descriptors_become_teams_and_services(tmp_path: Path) -> None:
    catalog = load_file(write(tmp_path)).catalog

    # Groups are teams; Systems, APIs and other kinds are not services.
    assert sorted(catalog.teams) == ["payments", "sre"]
    assert sorted(catalog.services) == ["checkout-api", "checkout-worker", "status-page"]

    payments = catalog.teams["payments"]
    assert payments.name == "Payments Team"
    assert payments.members == ["U0OWNER", "U0DEV"]
    assert payments.channel == "C0PAY"
    sre = catalog.teams["sre"]
    assert (sre.name, sre.members, sre.channel) == ("Site Reliability", [], None)

    api = catalog.services["checkout-api"]
    assert api.name == "Checkout API"
    assert api.description == "Carts, pricing and orders."
    assert api.owner == "payments"  # from group:default/payments
    assert api.system == "checkout"  # from system:default/checkout
    assert api.type == "service"
    assert api.lifecycle == "production"
    assert api.tier == 1
    assert api.language == "python"
    assert api.framework == "fastapi"
    assert api.tags == {
        "python": "true",
        "critical": "true",
        "tier": "1",
        "language": "python",
        "framework": "fastapi",
    }
    assert api.annotations["pagerduty.com/service-id"] == "P7CHK01"
    assert api.annotations["github.com/project-slug"] == "acme/checkout-api"
    assert api.channel == "C0CHECKOUT"
    assert [(link.title, link.url) for link in api.links] == [
        ("Runbook", "https://wiki.example.com/checkout"),
        ("https://grafana.example.com/d/checkout", "https://grafana.example.com/d/checkout"),
    ]

    worker = catalog.services["checkout-worker"]
    assert (worker.name, worker.owner, worker.system, worker.tier) == (
        "checkout-worker",
        "payments",
        "checkout",
        2,
    )
    assert worker.channel is None
    status = catalog.services["status-page"]
    assert (status.owner, status.system, status.type) == ("sre", None, "website")


def test_actions_apply_to_descriptor_services_by_their_fields(tmp_path: Path) -> None:
    catalog = load_file(write(tmp_path)).catalog

    restart = catalog.actions["restart"]
    assert [s.id for s in catalog.services_for(restart)] == ["checkout-api", "checkout-worker"]
    page = catalog.actions["page-owners"]
    assert [s.id for s in catalog.services_for(page)] == ["checkout-api"]
    assert catalog.owner_of(page).name == "Site Reliability"
    # Users find a service by its title or its name, and by its channel.
    assert catalog.find_service("checkout api") is catalog.services["checkout-api"]
    assert catalog.find_service("checkout-worker") is catalog.services["checkout-worker"]
    assert catalog.for_channel("C0CHECKOUT") is catalog.services["checkout-api"]
    assert catalog.for_channel("C0PAY") is catalog.teams["payments"]
    assert [s.id for s in catalog.services_of("payments")] == ["checkout-api", "checkout-worker"]
    assert catalog.teams_of("U0DEV") == {"payments"}


def test_a_descriptor_services_page(tmp_path: Path) -> None:
    catalog = load_file(write(tmp_path)).catalog
    service = catalog.services["checkout-api"]
    cards = [
        Card(a, catalog.owner_of(a), Decision(True), service) for a in catalog.actions_for(service)
    ]

    blocks = message_ok(
        browse.service_message(service, catalog.team("payments"), cards, Page(service=service.id))
    )

    shown = texts(blocks)
    assert blocks[0]["text"]["text"] == "Checkout API"
    assert "*Owner*\nPayments Team · <#C0PAY>" in shown
    assert "*Tier*\n1" in shown
    assert "*Lifecycle*\nproduction" in shown
    assert "*Language*\npython" in shown
    assert "*System*\ncheckout" in shown
    assert "<https://wiki.example.com/checkout|Runbook>" in shown
    assert [b["block_id"] for b in blocks if b.get("block_id", "").startswith("card:")] == [
        "card:page-owners",
        "card:restart",
    ]


def test_config_teams_and_descriptor_teams_together(tmp_path: Path) -> None:
    config = CONFIG.replace(
        "catalog: [backstage/*.yaml]\n",
        "catalog: [backstage/*.yaml]\nteams:\n  - {id: data, name: Data, channel: C0DATA}\n",
    ).replace("owner: sre", "owner: data")
    catalog = load_file(write(tmp_path, config=config)).catalog
    assert sorted(catalog.teams) == ["data", "payments", "sre"]
    assert catalog.owner_of(catalog.actions["page-owners"]).channel == "C0DATA"


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_file(path)
    return caught.value.errors


def test_a_descriptor_without_a_name_is_reported_with_its_file_and_index(tmp_path: Path) -> None:
    broken = DESCRIPTORS + (
        "---\nkind: Component\nmetadata: {title: Nameless}\n"
        "spec: {type: service, owner: payments}\n"
    )
    path = write(tmp_path, broken)
    where = tmp_path / "backstage" / "catalog-info.yaml"

    errors = errors_of(path)

    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{where}[7]: metadata.name: ")


def test_a_missing_name_is_called_missing(tmp_path: Path) -> None:
    broken = DESCRIPTORS + "---\nkind: Group\nmetadata: {title: Nameless}\nspec: {type: team}\n"
    where = tmp_path / "backstage" / "catalog-info.yaml"
    assert errors_of(write(tmp_path, broken)) == [f"{where}[7]: metadata.name: missing"]


def test_bad_slack_ids_in_annotations_are_reported_with_the_annotation(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        DESCRIPTORS.replace("slack.com/channel-id: C0PAY", "slack.com/channel-id: '#payments'"),
    )
    where = tmp_path / "backstage" / "catalog-info.yaml"

    errors = errors_of(path)

    assert errors[0].startswith(f"{where}[0]: metadata.annotations[slack.com/channel-id]: ")
    # The team is not loaded, so what it owns is reported too.
    assert "actions[0].owner: unknown team 'payments'" in errors


def test_a_document_that_is_not_an_entity_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, DESCRIPTORS + "---\n- just\n- a list\n")
    where = tmp_path / "backstage" / "catalog-info.yaml"
    assert errors_of(path) == [f"{where}[7]: not a Backstage entity (no kind)"]


def test_a_glob_matching_nothing_is_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path, config=CONFIG.replace("backstage/*.yaml", "services/**/catalog-info.yaml")
    )
    errors = errors_of(path)
    assert "catalog[0]: no file matches 'services/**/catalog-info.yaml'" in errors


def test_invalid_yaml_in_a_descriptor_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, DESCRIPTORS + "---\nkind: Component\nmetadata: {name: [unclosed\n")
    where = tmp_path / "backstage" / "catalog-info.yaml"
    errors = errors_of(path)
    assert any(e.startswith(f"{where}: cannot read: ") for e in errors), errors


def test_a_service_defined_twice_is_reported(tmp_path: Path) -> None:
    config = CONFIG.replace(
        "catalog: [backstage/*.yaml]\n",
        "catalog: [backstage/*.yaml]\nservices:\n"
        "  - {id: checkout-api, name: Checkout, owner: payments}\n",
    )
    errors = errors_of(write(tmp_path, config=config))
    assert "catalog: service 'checkout-api' is also defined in services" in errors


def test_a_descriptor_with_an_unknown_owner_is_reported_with_its_file_and_index(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, DESCRIPTORS.replace('owner: "group:sre"', "owner: group:default/ghosts"))
    where = tmp_path / "backstage" / "catalog-info.yaml"

    errors = errors_of(path)

    assert len(errors) == 1, errors
    assert "'ghosts'" in errors[0]
    assert errors[0].startswith(f"{where}[6]: spec.owner: "), errors
