"""``promorules diff``: the keys that changed, and exactly the carts whose price moves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promorules.cli import main

RULESETS = Path(__file__).resolve().parents[2] / "rulesets"
D11 = RULESETS / "double11.toml"
CATALOG = str(RULESETS / "catalog.csv")
D11_CARTS = sorted(str(p) for p in (RULESETS / "carts").glob("d11-*.toml"))
LADDER = '{ threshold = "500.00", off = "60.00" }'


def changed_ladder(tmp_path: Path) -> Path:
    """double11 with Lumi's 500 tier giving 80.00 instead of 60.00."""
    text = D11.read_text(encoding="utf-8")
    assert text.count(LADDER) == 1
    path = tmp_path / "new.toml"
    path.write_text(text.replace(LADDER, LADDER.replace("60.00", "80.00")), encoding="utf-8")
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_one_changed_ladder_moves_exactly_the_carts_that_reach_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = changed_ladder(tmp_path)
    argv = ["diff", str(D11), str(new), "--carts", *D11_CARTS, "--catalog", CATALOG]
    code, out, _ = run([*argv, "--format", "json"], capsys)
    assert code == 1
    found = json.loads(out)
    line = D11.read_text(encoding="utf-8").splitlines().index(f"  {LADDER},") + 1
    assert found["changed"] == [
        {
            "table": "promotion lumi-ladder",
            "key": "tiers[1].off",
            "old": "60.00",
            "new": "80.00",
            "line": line,
        }
    ]
    assert (found["added"], found["removed"]) == ([], [])
    # Only the midnight cart reaches the tier (Lumi's lines come to 776.00 in the
    # explosion phase; the encore has no ladder, the other carts are below 500.00 of
    # Lumi). Its store lane gives 20.00 more: 686.89 -> 666.89, on which "every 300
    # off 50" still gives 100.00, so the payable goes from 586.89 to 566.89.
    assert found["carts"]["priced"] == len(D11_CARTS) == 5
    assert found["carts"]["changes"] == [
        {
            "cart": str(RULESETS / "carts" / "d11-midnight.toml"),
            "old": "586.89",
            "new": "566.89",
            "change": "-20.00",
        }
    ]
    assert found["carts"]["moves"]["cheaper by 1-10%"] == 1
    # the ladder is the merchant's: it pays the 20.00, the platform pays the same
    funders = found["funders"]
    assert float(funders["merchant"]["new"]) - float(funders["merchant"]["old"]) == 20.0
    assert funders["platform"]["new"] == funders["platform"]["old"]
    assert set(found["floors"]) == {"order", "line"}
    code, text, _ = run(argv, capsys)
    assert code == 1
    assert "1 change price" in text and "d11-midnight.toml" in text and "-20.00" in text


def test_the_same_ruleset_differs_in_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        [
            "diff",
            str(D11),
            str(D11),
            "--carts",
            str(RULESETS / "carts"),
            "--catalog",
            CATALOG,
            "--at",
            "2026-11-11T10:00:00",
        ],
        capsys,
    )
    assert code == 0
    assert "no key differs" in out and "0 change price" in out


def test_added_removed_and_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = D11.read_text(encoding="utf-8")
    start = text.index('[[promotion]]\nid = "hearth-every-200"')
    end = text.index("[[promotion]]", start + 1)
    removed = text[:start] + text[end:]
    extra = (
        '\n[[promotion]]\nid = "late-gift"\nkind = "free_shipping"\nphases = ["explosion"]\n'
        'threshold = "50.00"\n'
    )
    new = tmp_path / "new.toml"
    new.write_text(
        removed.replace('min_order_margin = "5%"', 'min_order_margin = "8%"') + extra,
        encoding="utf-8",
    )
    code, out, _ = run(["diff", str(D11), str(new), "--format", "json"], capsys)
    assert code == 1
    found = json.loads(out)
    assert found["added"] == ["late-gift"] and found["removed"] == ["hearth-every-200"]
    assert {"table": "guardrails", "key": "min_order_margin", "old": "5%", "new": "8%"}.items() <= (
        found["changed"][0].items()
    )
    assert "carts" not in found  # no samples given: the keys alone


def test_an_order_log_is_priced_row_by_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "orders.csv"
    log.write_text(
        "time,order,customer,segment,channel,lines,coupons,shipping\n"
        "2026-11-11T00:30:00,o-1,c-1,,app,LUMI-SERUM*2;LUMI-MASK*3,LUMI30,\n"
        "2026-11-11T00:30:00,o-2,c-2,,app,LUMI-MASK*1,,\n",
        encoding="utf-8",
    )
    new = changed_ladder(tmp_path)
    code, out, _ = run(
        [
            "diff",
            str(D11),
            str(new),
            "--orders",
            str(log),
            "--catalog",
            CATALOG,
            "--format",
            "json",
            "--no-progress",
        ],
        capsys,
    )
    assert code == 1
    found = json.loads(out)["carts"]
    assert found["priced"] == 2
    assert [c["cart"] for c in found["changes"]] == ["o-1"]
    assert found["changes"][0]["change"] == "-20.00"


def test_bad_input_is_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(
        D11.read_text(encoding="utf-8").replace('kind = "tiered"', 'kind = "tierd"', 1)
    )
    code, _, err = run(["diff", str(D11), str(broken)], capsys)
    assert code == 2 and "broken.toml:" in err and "tierd" in err
    cart = tmp_path / "cart.toml"
    cart.write_text('[[lines]]\nsku = "LUMI-MASK"\nquantity = 1\n')
    code, _, err = run(
        ["diff", str(D11), str(D11), "--carts", str(cart), "--catalog", CATALOG], capsys
    )
    assert code == 2 and "cart.toml" in err and "--at" in err
    code, _, err = run(["diff", str(D11), str(D11), "--carts", str(tmp_path / "none")], capsys)
    assert code == 2 and "none" in err
