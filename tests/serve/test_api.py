"""The HTTP API: the same figures as the command line, located errors, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from promorules.cartfile import CART_KEYS
from promorules.records import LINE_KEYS
from promorules.serve.app import Service
from promorules.serve.openapi import CART, LINE
from tests.serve.conftest import RULESETS, TOKEN

# the midnight cart of rulesets/carts/d11-midnight.toml (hand-worked there: 586.89)
MIDNIGHT = {
    "at": "2026-11-11T00:30:00",
    "coupons": ["lumi30", "D11-PLAT80"],
    "customer": {"id": "c-5004"},
    "lines": [{"sku": "LUMI-SERUM", "quantity": 2}, {"sku": "LUMI-MASK", "quantity": 3}],
}


def test_price_gives_the_command_lines_figures_and_names_the_version(
    client: TestClient, served: Service
) -> None:
    response = client.post("/v1/price", json=MIDNIGHT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totals"]["payable"] == "586.89"
    version = served.holders["double11"].current.version
    assert body["ruleset"] == {"name": "double11", "version": version}
    assert response.headers["promorules-ruleset-version"] == version
    assert "explanations" not in body  # figures only unless asked
    explained = client.post("/v1/price?explain=true&ruleset=double11", json=MIDNIGHT).json()
    assert explained["totals"] == body["totals"]
    ladder = next(e for e in explained["explanations"] if e["promotion"] == "lumi-ladder")
    assert ladder["status"] == "applied" and ladder["amount"] == "60.00"


def test_explanations_in_the_language_asked_for(client: TestClient) -> None:
    def explained(query: str = "", **headers: str) -> tuple[dict[str, object], str]:
        response = client.post(f"/v1/price?explain=true{query}", json=MIDNIGHT, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        gift = next(e for e in body["explanations"] if e["promotion"] == "lumi-gift")
        return gift, response.headers["content-language"]

    english, language = explained()
    assert language == "en"
    assert english["message"] == (
        "below the threshold (CN¥800.00); spend CN¥23.11 more to get gift Lumi canvas tote"
    )
    assert english["title"] == "Spend 800 at Lumi, get the canvas tote"
    assert english["notes"] == [{"code": "below-threshold", "params": {"threshold": "800.00"}}]
    chinese, language = explained("&lang=zh-CN")
    assert language == "zh-CN"
    assert chinese["message"] == "未满¥800.00；再买¥23.11，可享赠Lumi canvas tote"
    assert chinese["hint"] == {
        "shortfall": "23.11",
        "by_quantity": False,
        "reward": {
            "code": "gifts",
            "params": {"gifts": [{"code": "gift-item", "params": {"name": "Lumi canvas tote"}}]},
        },
        "message": "再买¥23.11，可享赠Lumi canvas tote",
    }
    # codes and parameters do not change with the language
    assert {k: v for k, v in chinese.items() if k not in ("message", "hint")} == {
        k: v for k, v in english.items() if k not in ("message", "hint")
    }
    by_header, language = explained(**{"accept-language": "fr;q=0.9, zh-Hans;q=0.8, en;q=0.1"})
    assert (by_header["message"], language) == (chinese["message"], "zh-CN")
    overridden, _ = explained("&lang=en", **{"accept-language": "zh-CN"})
    assert overridden["message"] == english["message"]
    refused = client.post("/v1/price?explain=true&lang=fr", json=MIDNIGHT)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["path"] == "lang"
    assert "zh-CN" in refused.json()["errors"][0]["message"]


def test_bad_carts_are_located_as_on_the_command_line(client: TestClient) -> None:
    bad = {**MIDNIGHT, "lines": [{"sku": "LUMI-SERUM", "quantity": 0}], "colour": "red"}
    response = client.post("/v1/price", json=bad)
    assert response.status_code == 422
    errors = response.json()["errors"]
    paths = {e["path"] for e in errors}
    assert "lines[0].quantity" in paths and "colour" in paths
    assert all(e["code"].startswith("PR") for e in errors)
    broken = client.post(
        "/v1/price", content=b'{"lines": [', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422 and broken.json()["errors"][0]["code"] == "PR002"
    assert client.post("/v1/price", content=b"\xff\xfe").status_code == 422
    unknown = client.post("/v1/price", json={"lines": [{"sku": "NOPE"}]})
    assert unknown.status_code == 422
    assert client.post("/v1/price?explain=maybe", json=MIDNIGHT).status_code == 422


def test_limits_and_unknown_names(client: TestClient) -> None:
    huge = b'{"coupons": ["' + b"A" * (2 * 1024 * 1024) + b'"]}'
    response = client.post("/v1/price", content=huge)
    assert response.status_code == 413
    assert "bytes" in response.json()["errors"][0]["message"]
    missing = client.post("/v1/price?ruleset=nope", json=MIDNIGHT)
    assert missing.status_code == 404 and "double11" in missing.json()["errors"][0]["message"]
    assert client.get("/v1/nothing").status_code == 404
    assert client.get("/v1/price").status_code == 405


def test_an_internal_error_is_a_500_without_a_traceback(
    client: TestClient,
    served: Service,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine = served.holders["double11"].current.engine

    def broken(*args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(engine, "price", broken)
    response = client.post("/v1/price", json=MIDNIGHT)
    assert response.status_code == 500
    assert "secret" not in response.text and "Traceback" not in response.text
    reference = response.json()["reference"]
    assert reference in capsys.readouterr().err  # the log has it, with the traceback


def test_rulesets_plugins_schema_catalog_and_openapi(client: TestClient) -> None:
    [ruleset] = client.get("/v1/rulesets").json()
    assert ruleset["name"] == "double11" and ruleset["currency"] == "CNY"
    ladder = next(p for p in ruleset["promotions"] if p["id"] == "lumi-ladder")
    assert ladder["title"].startswith("Lumi Beauty") and ladder["lane"] == "store"
    assert any(p["name"] == "explosion" for p in ruleset["phases"])
    kinds = {k["kind"] for k in client.get("/v1/plugins").json()}
    assert {"tiered", "coupon", "presale"} <= kinds
    assert client.get("/v1/schema").json()["type"] == "object"
    items = client.get("/v1/catalog?q=lumi").json()
    assert items and all("lumi" in json.dumps(i).lower() for i in items)
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1") and "/v1/price" in document["paths"]


def test_the_documented_cart_is_the_cart_the_reader_takes() -> None:
    assert set(CART["properties"]) == set(CART_KEYS)
    assert set(LINE["properties"]) == set(LINE_KEYS)


def test_reload_needs_the_token_and_swaps_a_good_ruleset(
    client: TestClient, served: Service, tmp_path: Path
) -> None:
    holder = served.holders["double11"]
    old = holder.current.version
    text = (RULESETS / "double11.toml").read_text(encoding="utf-8")
    new_text = text.replace(
        '{ threshold = "500.00", off = "60.00" }', '{ threshold = "500.00", off = "80.00" }'
    )
    assert client.post("/v1/rulesets/double11", content=new_text).status_code == 401
    wrong = {"authorization": "Bearer nope"}
    assert client.post("/v1/rulesets/double11", content=new_text, headers=wrong).status_code == 401
    auth = {"authorization": f"Bearer {TOKEN}"}
    # a ruleset that does not load is refused, located, and the old one stays
    broken = client.post(
        "/v1/rulesets/double11",
        content=text.replace('kind = "tiered"', 'kind = "x"', 1),
        headers=auth,
    )
    assert broken.status_code == 422 and broken.json()["errors"][0]["code"].startswith("PR")
    assert holder.current.version == old
    swapped = client.post("/v1/rulesets/double11?force=true", content=new_text, headers=auth)
    assert swapped.status_code == 200, swapped.text
    assert swapped.json()["previous"] == old and swapped.json()["changed"]
    priced = client.post("/v1/price", json=MIDNIGHT).json()
    assert priced["totals"]["payable"] == "566.89"
    assert priced["ruleset"]["version"] == swapped.json()["ruleset"]["version"] != old


def test_a_breached_ruleset_is_refused_unless_forced(client: TestClient, served: Service) -> None:
    holder = served.holders["double11"]
    old = holder.current.version
    text = (RULESETS / "double11.toml").read_text(encoding="utf-8")
    # every line 90% off: the line floor (no line below cost) cannot hold
    reckless = text + (
        '\n[[promotion]]\nid = "reckless"\nkind = "discount"\nlane = "platform"\n'
        'percent = "90%"\npriority = 100\n'
    )
    auth = {"authorization": f"Bearer {TOKEN}"}
    refused = client.post("/v1/rulesets/double11", content=reckless, headers=auth)
    assert refused.status_code == 409
    statuses = {v["status"] for v in refused.json()["validation"]["guardrails"]}
    assert "breached" in statuses
    assert holder.current.version == old
    forced = client.post("/v1/rulesets/double11?force=true", content=reckless, headers=auth)
    assert forced.status_code == 200 and holder.current.version != old


def test_reload_is_off_without_a_token(served: Service) -> None:
    from promorules.serve.app import create_app

    served.token = None
    with TestClient(create_app(served)) as client:
        response = client.post("/v1/rulesets/double11", content="x")
    assert response.status_code == 403


def test_refund_over_http(client: TestClient) -> None:
    body = {"cart": MIDNIGHT, "returns": {"LUMI-MASK": 1}, "policy": "claw-back"}
    response = client.post("/v1/refund", json=body)
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["paid"] == "586.89"
    assert [line["sku"] for line in found["lines"]] == ["LUMI-MASK"]
    assert 0 <= float(found["total"]) <= float(found["goods"])
    bad = client.post("/v1/refund", json={"cart": MIDNIGHT, "returns": {"LUMI-MASK": 0}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "returns"
    assert client.post("/v1/refund", json={"returns": {}}).status_code == 422


def test_a_changed_ruleset_compared_over_http(client: TestClient) -> None:
    current = client.get("/v1/rulesets/double11").json()
    assert current["version"] and "[[promotion]]" in current["text"]
    ladder = '{ threshold = "500.00", off = "60.00" }'
    changed = current["text"].replace(ladder, ladder.replace("60.00", "80.00"))
    response = client.post("/v1/diff", json={"ruleset": changed, "carts": [MIDNIGHT]})
    assert response.status_code == 200, response.text
    found = response.json()
    assert [(c["table"], c["key"]) for c in found["changed"]] == [
        ("promotion lumi-ladder", "tiers[1].off")
    ]
    assert found["carts"]["changes"] == [
        {"cart": "carts[0]", "old": "586.89", "new": "566.89", "change": "-20.00"}
    ]
    broken = client.post(
        "/v1/diff", json={"ruleset": changed.replace('kind = "tiered"', 'kind = "t"', 1)}
    )
    assert broken.status_code == 422 and broken.json()["errors"][0]["code"].startswith("PR")
    assert client.post("/v1/diff", json={"carts": []}).status_code == 422


def test_the_served_order_log_is_replayed(served: Service, tmp_path: Path) -> None:
    from promorules.serve.app import create_app

    log = tmp_path / "orders.csv"
    log.write_text(
        "time,order,customer,segment,channel,lines,coupons,shipping\n"
        "2026-11-11T00:30:00,o-1,c-1,,app,LUMI-SERUM*2;LUMI-MASK*3,LUMI30,\n"
        "2026-11-12T10:00:00,o-2,c-2,,app,LUMI-MASK*1,,\n",
        encoding="utf-8",
    )
    with TestClient(create_app(served)) as client:
        assert client.post("/v1/simulate").status_code == 404  # no log served
        served.orders = str(log)
        response = client.post("/v1/simulate")
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["totals"]["orders"] == 2
    assert [row["day"] for row in found["by_day"]] == ["2026-11-11", "2026-11-12"]
    assert found["served"]["name"] == "double11"
