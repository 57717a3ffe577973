"""``promorules price``: golden output, hand-checked figures, exit codes, safe errors.

The goldens live in ``tests/cli/golden/``. After a deliberate change to the output,
regenerate them with::

    PROMORULES_UPDATE_GOLDEN=1 pytest tests/cli

then read the diff before committing it: the figures of the cross-store cart are also
checked by hand in ``test_cross_store_figures_by_hand``, which does not regenerate.
The CLI runs in-process (``promorules.cli.main``) for speed; one test runs the
installed console script in a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from promorules.cli import main

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("PROMORULES_UPDATE_GOLDEN") == "1"
CROSS_STORE = [
    "price",
    "rulesets/double11.toml",
    "rulesets/carts/cross-store.toml",
    "--catalog",
    "rulesets/catalog.csv",
]


@pytest.fixture(autouse=True)
def in_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # paths are given relative, as a planner types them, and appear so in the output
    monkeypatch.chdir(ROOT)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing golden {name}: run with PROMORULES_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- goldens


def test_cross_store_table_matches_the_golden(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *CROSS_STORE)
    assert (code, err) == (0, "")
    check_golden("cross-store.txt", out)


def test_cross_store_json_matches_the_golden(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *CROSS_STORE, "--format", "json")
    assert (code, err) == (0, "")
    check_golden("cross-store.json", out)


def test_cross_store_figures_by_hand(capsys: pytest.CaptureFixture[str]) -> None:
    """The goldens' figures, worked out from the ruleset and catalogue by hand.

    Cart (11.11 10:00, member): serum 329.00 + lipstick 199.00 (lumi-beauty),
    3 towels at 49.00 = 147.00 (hearth-home), buds 499.00 (nova-digital); list 1174.00.
    - item lane, home-multibuy: 3 home items -> 10% of 147.00 = 14.70 (towels 132.30).
    - store lane: lumi-ladder 528.00 >= 500 -> 60.00, split 329:199 by largest
      remainder: 37.386.. and 22.613.. -> 37.39 / 22.61. hearth-every-200: 132.30 is
      below 200.00, nothing.
    - platform lane, every-300-off-50 on 1174.00 - 14.70 - 60.00 = 1099.30:
      floor(1099.30 / 300) = 3 -> 150.00, over 291.61 / 176.39 / 132.30 / 499.00:
      39.791.. / 24.068.. / 18.052.. / 68.088.. -> 39.79 / 24.07 / 18.05 / 68.09.
    - discounts 14.70 + 60.00 + 150.00 = 224.70; payable 949.30; cost 98 + 52 + 3 x 15
      + 310 = 505.00; margin 444.30 / 949.30 = 46.8%; digital 120.91 / 430.91 = 28.1%.
    - funding: platform 60% of 150.00 = 90.00; merchant 14.70 + 60.00 + 60.00 = 134.70.
    """
    code, out, _ = run(capsys, *CROSS_STORE, "--format", "json")
    assert code == 0
    (quote,) = json.loads(out)
    totals = quote["totals"]
    assert (totals["list"], totals["discount"], totals["payable"]) == (
        "1174.00",
        "224.70",
        "949.30",
    )
    assert (totals["cost"], totals["margin"]) == ("505.00", "46.8%")
    assert totals["by_promotion"] == {
        "home-multibuy": "14.70",
        "lumi-ladder": "60.00",
        "every-300-off-50": "150.00",
    }
    assert totals["by_funder"] == {"merchant": "134.70", "platform": "90.00"}
    adjustments = {
        line["sku"]: {a["promotion"]: a["amount"] for a in line["adjustments"]}
        for line in quote["lines"]
    }
    assert adjustments == {
        "LUMI-SERUM": {"lumi-ladder": "37.39", "every-300-off-50": "39.79"},
        "LUMI-LIPSTICK": {"lumi-ladder": "22.61", "every-300-off-50": "24.07"},
        "HEARTH-TOWEL": {"home-multibuy": "14.70", "every-300-off-50": "18.05"},
        "NOVA-BUDS": {"every-300-off-50": "68.09"},
    }
    payable = {line["sku"]: line["payable"] for line in quote["lines"]}
    assert payable == {
        "LUMI-SERUM": "251.82",
        "LUMI-LIPSTICK": "152.32",
        "HEARTH-TOWEL": "114.25",
        "NOVA-BUDS": "430.91",
    }
    explanations = {e["promotion"]: (e["status"], e["amount"]) for e in quote["explanations"]}
    assert {k: v for k, v in explanations.items() if v[0] == "applied"} == {
        "home-multibuy": ("applied", "14.70"),
        "lumi-ladder": ("applied", "60.00"),
        "every-300-off-50": ("applied", "150.00"),
    }
    assert explanations["hearth-every-200"] == ("not-applied", "0.00")
    assert "CN¥150.00 off on CN¥1,099.30 (3 x CN¥50.00 off per CN¥300.00)" in [
        e["message"] for e in quote["explanations"]
    ]
    floors = {f["name"]: (f["margin"], f["held"]) for f in quote["guardrail"]["floors"]}
    assert floors == {"order": ("46.8%", True), "category:digital": ("28.1%", True)}


def test_json_carries_what_the_table_shows(capsys: pytest.CaptureFixture[str]) -> None:
    _, table, _ = run(capsys, *CROSS_STORE)
    _, out, _ = run(capsys, *CROSS_STORE, "--format", "json")
    (quote,) = json.loads(out)
    for figure in (quote["totals"]["payable"], quote["totals"]["by_funder"]["platform"]):
        assert figure in table
    for explanation in quote["explanations"]:
        assert explanation["message"] in table


def test_several_carts_and_coupons(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        *CROSS_STORE[:3],
        "rulesets/carts/upsell.toml",
        *CROSS_STORE[3:],
        "--coupon",
        "NOT-A-CODE",
        "--format",
        "json",
    )
    assert code == 0
    assert [q["cart"] for q in json.loads(out)] == [
        "rulesets/carts/cross-store.toml",
        "rulesets/carts/upsell.toml",
    ]


# ----------------------------------------------------------------------------- exit codes


def warn_ruleset(tmp_path: Path) -> Path:
    text = (ROOT / "rulesets" / "breach_example.toml").read_text(encoding="utf-8")
    assert 'on_breach = "clamp"' in text
    path = tmp_path / "warn.toml"
    path.write_text(text.replace('on_breach = "clamp"', 'on_breach = "warn"'), encoding="utf-8")
    return path


def test_a_breach_under_warn_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # phone at its midnight flash price 3699.00 (list 3999.00, cost 3580.00): every 300
    # off 50 gives 12 x 50 = 600.00, payable 3099.00 is below cost, so the 5% order floor
    # breaks; warn reports and keeps it
    argv = ["price", str(warn_ruleset(tmp_path)), "rulesets/carts/clamp.json"]
    code, out, _ = run(capsys, *argv, "--catalog", "rulesets/catalog.csv", "--format", "json")
    assert code == 1
    (quote,) = json.loads(out)
    assert quote["guardrail"]["status"] == "breached"
    assert quote["totals"]["payable"] == "3099.00"
    code, out, _ = run(capsys, *argv, "--catalog", "rulesets/catalog.csv")
    assert code == 1
    assert "BROKEN" in out


def test_the_same_cart_under_clamp_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["price", "rulesets/breach_example.toml", "rulesets/carts/clamp.json"]
    code, _, _ = run(capsys, *argv, "--catalog", "rulesets/catalog.csv")
    assert code == 0


BROKEN = sorted((ROOT / "tests" / "rulesets" / "broken").glob("*.toml"))


@pytest.mark.parametrize("ruleset", BROKEN, ids=lambda p: p.stem)
def test_a_broken_ruleset_exits_2_with_its_diagnostics(
    capsys: pytest.CaptureFixture[str], ruleset: Path
) -> None:
    relative = ruleset.relative_to(ROOT).as_posix()
    code, out, err = run(capsys, "price", relative, "rulesets/carts/upsell.toml")
    assert (code, out) == (2, "")
    expected = ruleset.with_suffix(".expected").read_text(encoding="utf-8")
    # the CLI loads every installed plugin, the corpus was written against `tiered` alone
    assert _kinds_listed(err) == _kinds_listed(expected)


def _kinds_listed(text: str) -> str:
    return re.sub(r"installed kinds: [a-z_, ]+", "installed kinds: ...", text)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["price", "no/such.toml", "rulesets/carts/upsell.toml"], "no/such.toml:1:1: PR001"),
        (["price", "rulesets/double11.toml", "no/cart.json"], "no/cart.json:1:1: PR001"),
        (
            ["price", "rulesets/double11.toml", "rulesets/carts/upsell.toml", "--at", "11.11"],
            "--at: not an ISO 8601 time: '11.11'",
        ),
        (
            ["price", "rulesets/double11.toml", "rulesets/carts/upsell.toml", "--catalog", "x.csv"],
            "x.csv:1:1: PR001 cannot read catalogue",
        ),
        (
            ["price", "rulesets/double11.toml", "rulesets/carts/upsell.toml", "--coupon", "C" * 65],
            "promorules: error: --coupon: a code is 1 to 64 characters (got 65)",
        ),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert fragment in err


def test_a_malformed_cart_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cart = tmp_path / "cart.toml"
    cart.write_text('[[lines]]\nsku = "LUMI-SERUM"\nquantity = "2"\nunit_price = 1.5\n')
    code, out, err = run(capsys, "price", "rulesets/double11.toml", str(cart))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"{cart}:3:1: PR301 lines[0].quantity: quantity must be a whole number from 1 to 1000000"
    ]


def test_a_10_mb_coupon_exits_2_with_a_short_message(capsys: pytest.CaptureFixture[str]) -> None:
    huge = "C" * 10_000_000
    code, out, err = run(
        capsys, "price", "rulesets/double11.toml", "rulesets/carts/upsell.toml", "--coupon", huge
    )
    assert (code, out) == (2, "")
    assert err == "promorules: error: --coupon: a code is 1 to 64 characters (got 10000000)\n"
    assert len(err) < 300


def test_too_many_coupons_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    coupons = [arg for i in range(21) for arg in ("--coupon", f"C{i}")]
    code, _, err = run(
        capsys, "price", "rulesets/double11.toml", "rulesets/carts/upsell.toml", *coupons
    )
    assert code == 2
    assert err == "promorules: error: --coupon: at most 20 codes (got 21)\n"


def test_a_10_mb_at_exits_2_with_a_short_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "price", "rulesets/double11.toml", "rulesets/carts/upsell.toml", "--at", "9" * 10**7
    )
    assert code == 2
    assert len(err) < 300


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, *[])[0] == 2
    with pytest.raises(SystemExit) as caught:
        main(["price"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(["price", "a.toml", "b.json", "--format", "yaml"])
    assert caught.value.code == 2
    capsys.readouterr()


# ----------------------------------------------------------------------------- untrusted text


def test_control_characters_in_a_sku_are_not_echoed_raw(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cart = tmp_path / "cart.json"
    sku = "EVIL\x1b[2J\x07\nSKU"
    cart.write_text(json.dumps({"lines": [{"sku": sku, "unit_price": "1.00"}]}))
    argv = ["price", "rulesets/double11.toml", str(cart), "--at", "2026-11-11T10:00:00"]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "EVIL?[2J??SKU" in out
    code, out, _ = run(capsys, *argv, "--format", "json")
    assert "\x1b" not in out  # JSON escapes it
    assert json.loads(out)[0]["lines"][0]["sku"] == sku


def test_control_characters_in_a_cart_path_are_not_echoed_raw(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = str(tmp_path / "cart\x1b[31m.json")
    code, _, err = run(capsys, "price", "rulesets/double11.toml", missing)
    assert code == 2
    assert "\x1b" not in err
    good = tmp_path / "good\x1b[31m.json"
    good.write_text(json.dumps({"lines": [{"sku": "A", "unit_price": "1.00", "quantity": 0}]}))
    code, _, err = run(capsys, "price", "rulesets/double11.toml", str(good))
    assert code == 2
    assert "\x1b" not in err
    good.write_text(json.dumps({"lines": [{"sku": "A", "unit_price": "1.00"}]}))
    code, out, _ = run(capsys, "price", "rulesets/double11.toml", str(good), "--at", "2026-11-11")
    assert code == 0
    assert "\x1b" not in out


# ----------------------------------------------------------------------------- console script


def test_the_installed_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "promorules"
    if not script.exists():  # pragma: no cover - depends on how the package is installed
        pytest.skip("console script not installed next to the interpreter")
    result = subprocess.run(
        [str(script), *CROSS_STORE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (GOLDEN / "cross-store.txt").read_text(encoding="utf-8")
    broken = subprocess.run(
        [str(script), "price", "tests/rulesets/broken/several-problems.toml", "x.json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert broken.returncode == 2
    assert "Traceback" not in broken.stderr
    assert broken.stderr.count("PR") == 5


def test_price_imports_no_other_command() -> None:
    # a fresh process (what a shell user starts): `price` must not pay for the ledger,
    # the validator or the simulator, whose modules it never uses, nor for secrets
    # (coupon code generation; it loads OpenSSL's hashes)
    probe = (
        "import sys\n"
        "from promorules.cli import main\n"
        f"code = main({['price', *CROSS_STORE[1:]]!r})\n"
        "others = sorted(m for m in sys.modules if m.startswith(('promorules.cli.', "
        "'promorules.ledger', 'promorules.validate', 'promorules.simulate', 'secrets')))\n"
        "print(code, others, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.stderr.strip() == "0 ['promorules.cli.price', 'promorules.cli.render']"


def test_lang_zh_cn_words_the_explanations_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    midnight = [*CROSS_STORE[:2], "rulesets/carts/d11-midnight.toml", *CROSS_STORE[3:]]
    code, out, err = run(capsys, *midnight, "--lang", "zh-CN")
    assert (code, err) == (0, "")
    assert "未满¥800.00；再买¥23.11，可享赠Lumi canvas tote" in out
    assert "¥686.89立减¥100.00（每满¥300.00减¥50.00，共2次）" in out
    assert "below the threshold" not in out
    assert "586.89" in out  # the figures' columns stay plain decimals
    code, out, _ = run(capsys, *midnight, "--lang", "zh_cn", "--format", "json")
    quote = json.loads(out)[0]
    gift = next(e for e in quote["explanations"] if e["promotion"] == "lumi-gift")
    assert gift["message"] == "未满¥800.00；再买¥23.11，可享赠Lumi canvas tote"
    assert gift["reason"] == "below-threshold"
    titles = {p["id"]: p["title"] for p in quote["promotions"]}
    assert titles["lumi-ladder"] == "Lumi Beauty: spend 300 get 30 off, 500 get 60 off"
    deposit = [*CROSS_STORE[:2], "rulesets/carts/d11-deposit.toml", *CROSS_STORE[3:]]
    code, out, _ = run(capsys, *deposit, "--lang", "zh-CN")
    assert re.search(r"定金\s+100\.00", out) and re.search(r"尾款\s+749\.00", out)


def test_an_unknown_lang_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "price", "rulesets/double11.toml", "rulesets/carts/upsell.toml", "--lang", "fr"
    )
    assert code == 2 and out == ""
    assert "--lang: no messages for locale 'fr' (bundled: en, zh-CN)" in err
