"""What validation spends its time on: work only the search needs is not done for a
ruleset proven on every floor."""

from __future__ import annotations

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
