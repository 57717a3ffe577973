"""The space of carts reaches every window a kind declares and every choice a cart can
make: breaches planted only there are found (both were UNPROVEN when the space knew
only campaign phases and ``window``, and never picked a ``choose_one_of`` option)."""

from __future__ import annotations

import json
from pathlib import Path

from promorules.cart import Context
from promorules.cartfile import load_cart, load_catalog
from promorules.engine import Engine
from promorules.validate import Options, Status, validate
from promorules.validate.report import Report
from promorules.validate.search import shortfall, unguarded
from promorules.validate.space import build_space, declared_choices, declared_windows

CORPUS = Path(__file__).parent / "corpus"


def run(name: str, tmp_path: Path) -> tuple[Engine, Report]:
    engine = Engine.from_toml(CORPUS / f"{name}.toml")
    catalog = load_catalog(CORPUS / f"{name}.csv", "CNY")
    return engine, validate(engine, catalog, Options(examples=300, seed=0, out_dir=tmp_path))


def test_a_presales_own_windows_cut_the_time_slots(tmp_path: Path) -> None:
    engine, _ = run("presale-own-window", tmp_path)
    (presale,) = engine.ruleset.promotions
    assert [w.start.day for w in declared_windows(presale.config)] == [3, 7]
    space = build_space(engine, None, max_lines=6, max_quantity=5)
    starts = {slot.moments[0].isoformat() for slot in space.slots}
    assert "2026-11-03T00:00:00+08:00" in starts
    assert "2026-11-07T00:00:00+08:00" in starts


def test_a_breach_only_inside_a_deposit_window_is_found(tmp_path: Path) -> None:
    _, report = run("presale-own-window", tmp_path)
    verdict = report.verdict("line")
    assert verdict.status is Status.BREACHED, verdict.claim.reason
    assert verdict.breach is not None
    case = verdict.breach.case
    # 3-5 November is the deposit window: the 200.00 bonus leaves 800.00 against 900.00
    assert (case.at.month, case.at.day) in {(11, 3), (11, 4), (11, 5)}
    assert verdict.breach.shortfall.revenue == 80000


def test_the_dearer_gift_of_a_choice_is_tried(tmp_path: Path) -> None:
    engine, report = run("gift-choice", tmp_path)
    assert declared_choices(engine.ruleset.promotions[0].config) == ("MUG", "KETTLE")
    verdict = report.verdict("order")
    assert verdict.status is Status.BREACHED, verdict.claim.reason
    breach = verdict.breach
    assert breach is not None
    assert breach.case.choices == (("tea-gift", "KETTLE"),)
    assert [(line.sku, line.quantity) for line in breach.case.lines] == [("TEA", 1)]
    # the cart file carries the choice, so `promorules price` reproduces the breach
    assert breach.cart_file is not None
    assert json.loads(Path(breach.cart_file).read_text())["choices"] == {"tea-gift": "KETTLE"}
    written = load_cart(breach.cart_file, "CNY", engine.ruleset.tz)
    assert written.choices == (("tea-gift", "KETTLE"),)
    assert written.at == breach.case.at
    context = Context(breach.case.at, written.channel, written.coupons, choices=written.choices)
    quote = unguarded(engine).price(written.cart, context)
    assert shortfall(quote, written.cart, verdict.floor).deficit > 0
