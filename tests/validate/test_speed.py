"""What validation spends its time on: work only the search needs is not done for a
ruleset proven on every floor."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from promorules.cartfile import load_catalog
from promorules.engine import Engine
from promorules.validate import Options, Status, validate
from promorules.validate.bounds import Bounds
from promorules_plugins import tiered
from tests import kinds

CORPUS = Path(__file__).parent / "corpus"


def test_a_ruleset_proven_on_every_floor_never_ranks_skus_for_a_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Bounds) -> list[object]:
        raise AssertionError("risk ranks skus for the search; nothing is searched here")

    monkeypatch.setattr(Bounds, "riskiest_first", refuse)
    engine = Engine.from_toml(CORPUS / "safe-ladder.toml", plugins=[tiered, kinds])
    catalog = load_catalog(CORPUS / "safe.csv", "CNY")
    report = validate(engine, catalog, Options(examples=50, out_dir=tmp_path))
    assert {v.status for v in report.verdicts} == {Status.PROVEN}


def test_the_search_draws_skus_as_sampled_from_does_without_hashing_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the search draws an index into the riskiest-first items from a range: the same
    # choice sampled_from(items) makes (so the same carts, shrinking towards the
    # riskiest), every item reachable, and no item ever hashed to label the strategy
    from hypothesis import Phase, find, given, settings
    from hypothesis import strategies as st

    from promorules.validate.search import Case, _indexes, cases
    from promorules.validate.space import Item, build_space

    engine = Engine.from_toml(CORPUS / "safe-ladder.toml", plugins=[tiered, kinds])
    space = build_space(
        engine, load_catalog(CORPUS / "safe.csv", "CNY"), max_lines=2, max_quantity=2
    )
    order = list(range(len(space.items)))[::-1]

    def unhashable(self: Item) -> int:
        raise AssertionError("an item was hashed")

    monkeypatch.setattr(Item, "__hash__", unhashable)
    quiet = settings(database=None, derandomize=True, phases=[Phase.generate, Phase.shrink])
    for k in order:
        sku = space.items[k].sku

        def holds(case: Case, sku: str = sku) -> bool:
            return any(ln.sku == sku for ln in case.lines)

        found = find(cases(space, order), holds, settings=quiet)
        assert [ln.sku for ln in found.lines] == [sku]
    # the same draws as sampled_from over the items themselves, example for example
    # (over more items than Hypothesis draws an integer range of uniformly)
    monkeypatch.undo()
    items = [Item(f"s{n}", 100 + n, Fraction(50), "home") for n in range(300)]
    drawn: dict[str, list[str]] = {"sampled_from": [], "index": []}
    strategies = {
        "sampled_from": st.sampled_from(items),
        "index": _indexes(items).map(items.__getitem__),
    }

    def run(name: str) -> None:
        @settings(max_examples=60, derandomize=True, database=None)
        @given(st.data())
        def draw(data: st.DataObject) -> None:
            drawn[name].append(data.draw(strategies[name]).sku)

        draw()

    run("sampled_from")
    run("index")
    assert drawn["index"] == drawn["sampled_from"]
    assert len(set(drawn["index"])) > 1
