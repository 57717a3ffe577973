"""Loading stays cheap as rulesets grow: work done once per class or text, not per promotion.

Timings are left to ``benchmarks/load_bench.py``; these tests count the work itself, so
they hold on a busy machine: cattrs' structuring code generated once per class, key
positions scanned only when a problem has to be located, a kind's source compiled once
per distinct text.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Any

import pytest

import promorules.hotpath
import promorules.ruleset
import promorules.tomlpos
from benchmarks.load_bench import ruleset_text
from promorules.diagnostics import RulesetError
from promorules.engine import Engine
from promorules.plugins import PluginHost
from promorules.ruleset import parse_ruleset

KINDS = PluginHost.default().kinds


def _count_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> Counter[Any]:
    calls: Counter[Any] = Counter()
    original = getattr(owner, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[args[0] if args else None] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls


def test_the_benchmark_ruleset_covers_every_kind_and_loads() -> None:
    ruleset = parse_ruleset(ruleset_text(50, KINDS), KINDS)
    assert len(ruleset.promotions) == 50
    assert {p.kind for p in ruleset.promotions} == set(KINDS)


def test_structuring_code_is_generated_per_class_not_per_promotion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generated = _count_calls(monkeypatch, promorules.ruleset, "make_dict_structure_fn")
    counts = []
    # zones no other test loads with: each load builds its converter from nothing
    for size, zone in ((20, "Pacific/Chatham"), (400, "Pacific/Marquesas")):
        generated.clear()
        parse_ruleset(ruleset_text(size, KINDS).replace("Asia/Shanghai", zone), KINDS)
        counts.append(sum(generated.values()))
    # cattrs may regenerate a class or two while it first meets the mapping types; what
    # matters is that 20 times the promotions cost no more
    assert counts[0] > 0
    assert counts[1] == counts[0], counts
    generated.clear()
    parse_ruleset(ruleset_text(400, KINDS).replace("Asia/Shanghai", "Pacific/Marquesas"), KINDS)
    assert not generated  # the same currency, zone and kinds: the converter is reused


def test_a_clean_ruleset_is_never_scanned_for_positions(monkeypatch: pytest.MonkeyPatch) -> None:
    scans = _count_calls(monkeypatch, promorules.tomlpos, "key_positions")
    text = ruleset_text(20, KINDS)
    Engine(parse_ruleset(text, KINDS), KINDS)
    assert sum(scans.values()) == 0
    broken = text.replace('percent = "10%"', 'percent = "10 %%"', 1)
    with pytest.raises(RulesetError) as caught:
        parse_ruleset(broken, KINDS)
    assert sum(scans.values()) == 1  # scanned once the problem had to be located
    (problem,) = caught.value.diagnostics
    assert broken.splitlines()[problem.line - 1].startswith("percent = ")


def test_building_an_engine_compiles_no_code_per_promotion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # rules are data: code is written per activation plan, when a cart first needs it
    compiled: list[str] = []

    def counting(source: str, filename: str, mode: str) -> Any:
        compiled.append(filename)
        return compile(source, filename, mode)

    monkeypatch.setattr(promorules.hotpath, "compile", counting, raising=False)
    text = ruleset_text(300, KINDS)
    engine = Engine(parse_ruleset(text, KINDS), KINDS)
    assert compiled == []
    engine.plan_source(datetime(2026, 11, 11, 10, tzinfo=timezone.utc))
    assert compiled == []  # printing a plan's source compiles nothing either
