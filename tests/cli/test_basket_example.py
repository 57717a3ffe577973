"""The basket example prices as worked out by hand, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from promorules.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_basket_example_prices_as_worked_out(capsys: object) -> None:
    # masks 3 x 89.00: one free (89.00). towels 2 x 49.00 + mug 59.00 = 157.00 as 3 for
    # 129.00: 28.00 off, 17.48 / 10.52 by amount. Lumi store 178.00 + 329.00 = 507.00:
    # 60.00 off. Platform base 576.00 >= 500.00: the tote (cost 15.00); 12.00 shipping waived.
    code = main(
        [
            "price",
            str(ROOT / "rulesets/examples/basket.toml"),
            str(ROOT / "rulesets/examples/carts/basket.toml"),
            "--catalog",
            str(ROOT / "rulesets/catalog.csv"),
            "--format",
            "json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)[0]  # type: ignore[attr-defined]
    totals = out["totals"]
    assert totals["payable"] == "576.00"
    assert totals["shipping"] == "0.00"
    assert totals["by_promotion"] == {
        "masks-b2g1": "89.00",
        "home-3-for-129": "28.00",
        "lumi-ladder": "60.00",
        "ship-99": "12.00",
    }
    # goods cost 3 x 21 + 98 + 2 x 15 + 18 = 209.00, plus the tote 15.00
    assert totals["cost"] == "224.00"
    gifts = [line for line in out["lines"] if line["gift"]]
    assert [(g["sku"], g["cost"]) for g in gifts] == [("GIFT-TOTE", "15.00")]
    home = {line["sku"]: line["adjustments"] for line in out["lines"]}
    assert home["HEARTH-TOWEL"][0]["amount"] == "17.48"
    assert home["HEARTH-MUG"][0]["amount"] == "10.52"
