"""``serve --ledger URL``: each cart priced against a live read of the ledger."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from starlette.testclient import TestClient

from promorules.cartfile import load_catalog
from promorules.cli import main
from promorules.counters import CounterKey, CounterKind
from promorules.holder import EngineHolder, load_file
from promorules.kind import Kind
from promorules.ledger import open_ledger
from promorules.plugins import PluginHost
from promorules.serve.app import Service, create_app
from tests.helpers import HEADER
from tests.serve.conftest import RULESETS

RULESET = RULESETS / "examples" / "flash.toml"
MINE = CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "flash-lumi", ("c-5005", "LUMI-SERUM"))
# rulesets/examples/carts/flash-member.toml: 3 serums (limit 2 at the flash price)
CART = {
    "at": "2026-11-11T00:01:00",
    "customer": {"id": "c-5005", "segments": ["member"]},
    "lines": [{"sku": "LUMI-SERUM", "quantity": 3}, {"sku": "LUMI-LIPSTICK", "quantity": 1}],
}


def serum(client: TestClient) -> dict[str, str]:
    response = client.post("/v1/price", json=CART)
    assert response.status_code == 200, response.text
    line = response.json()["lines"][0]
    return {a["promotion"]: a["amount"] for a in line["adjustments"]}


def test_what_the_customer_already_bought_counts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    assert main(["ledger", "init", str(RULESET), "--ledger", url]) == 0
    kinds = PluginHost.default().kinds
    loaded = load_file(RULESET, kinds)
    catalog = load_catalog(RULESETS / "catalog.csv", loaded.engine.currency)
    holders = {"flash": EngineHolder(loaded, kinds)}
    live = Service(holders, kinds, catalog, ledger=url)
    unlimited = Service(holders, kinds, catalog)
    with TestClient(create_app(live)) as client, TestClient(create_app(unlimited)) as plain:
        assert serum(client) == serum(plain)
        assert "flash-lumi" in serum(client)
        with open_ledger(url) as ledger:
            ledger.commit(ledger.reserve(((MINE, 2),), "earlier-order", 600))
        # the customer's limit of 2 is used up: the serums get the member price alone
        assert serum(client) == {"member-lumi": "90.00"}
        assert "flash-lumi" in serum(plain)


COUPON_RULESET = HEADER + (
    '[[promotion]]\nid = "c20"\nkind = "coupon"\ncode = "C20"\noff = "20.00"\n'
    'threshold = "100.00"\nuses = 1\n'
)
COUPON_CART = {
    "at": "2026-11-11T10:00:00",
    "coupons": ["C20"],
    "lines": [{"sku": "A", "quantity": 1, "unit_price": "150.00"}],
}


def coupon_served(
    tmp_path: Path,
) -> tuple[str, dict[str, EngineHolder], Mapping[str, Kind]]:
    """The one-use coupon's ruleset with a SQLite ledger made for it: the ledger's URL,
    the holders to serve and the kinds."""
    ruleset = tmp_path / "coupon.toml"
    ruleset.write_text(COUPON_RULESET, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'live.db'}"
    assert main(["ledger", "init", str(ruleset), "--ledger", url]) == 0
    kinds = PluginHost.default().kinds
    return url, {"coupon": EngineHolder(load_file(ruleset, kinds), kinds)}, kinds


def test_an_order_pricing_again_names_its_reservation(tmp_path: Path) -> None:
    url, holders, kinds = coupon_served(tmp_path)
    live = Service(holders, kinds, None, ledger=url)
    with TestClient(create_app(live)) as client:
        first = client.post("/v1/price", json=COUPON_CART).json()
        assert first["totals"]["payable"] == "130.00"
        # the order reserves the only use, then prices again (a changed address)
        with open_ledger(url) as ledger:
            use = CounterKey(CounterKind.COUPON_USES, "c20")
            ledger.reserve(((use, 1),), "order-1", 600)
        again = client.post("/v1/price", json=COUPON_CART)
        assert again.json()["totals"]["payable"] == "150.00"  # its own hold reads as taken ...
        named = client.post("/v1/price?reservation=order-1", json=COUPON_CART)
        assert named.status_code == 200, named.text
        assert named.json()["totals"]["payable"] == "130.00"  # ... unless it names it
        other = client.post("/v1/price?reservation=order-2", json=COUPON_CART)
        assert other.json()["totals"]["payable"] == "150.00"
    plain = Service(holders, kinds, None)
    with TestClient(create_app(plain)) as client:
        refused = client.post("/v1/price?reservation=order-1", json=COUPON_CART)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["path"] == "reservation"


def test_a_served_refund_gives_back_to_the_ledger_once(tmp_path: Path) -> None:
    url, holders, kinds = coupon_served(tmp_path)
    use = CounterKey(CounterKind.COUPON_USES, "c20")
    with open_ledger(url) as ledger:
        ledger.commit(ledger.reserve(((use, 1),), "order-1", 600))
        assert ledger.availability([use]).remaining(use) == 0
    body = {"cart": COUPON_CART, "returns": {"A": 1}, "reservation": "order-1"}
    with TestClient(create_app(Service(holders, kinds, None, ledger=url))) as client:
        wanted = client.post("/v1/refund", json=body)
        assert wanted.status_code == 422  # a reservation needs a refund id
        assert wanted.json()["errors"][0]["path"] == "refund_id"
        body["refund_id"] = "rma-1"
        first = client.post("/v1/refund", json=body)
        assert first.status_code == 200, first.text
        found = first.json()
        # the whole order comes back: 130.00 and the coupon's use
        assert found["total"] == "130.00"
        assert found["ledger"]["given_back"] == [[str(use), 1]]
        assert client.post("/v1/refund", json=body).json()["ledger"] == found["ledger"]
        with open_ledger(url) as ledger:
            assert ledger.availability([use]).remaining(use) == 1  # given back once
        # another refund id for the same units: more than the order used
        body["refund_id"] = "rma-2"
        refused = client.post("/v1/refund", json=body)
        assert refused.status_code == 409
        assert refused.json()["errors"][0]["code"] == "PR906"
    with TestClient(create_app(Service(holders, kinds, None))) as plain:
        assert plain.post("/v1/refund", json=body).status_code == 422  # no --ledger
