"""``promorules debug plan`` and the plan functions' place in tracebacks."""

from __future__ import annotations

import linecache
import traceback
from pathlib import Path

import pytest

from promorules.cli import main
from tests.helpers import HEADER, cart, ctx, engine, line


def test_debug_plan_prints_the_written_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ruleset = tmp_path / "every.toml"
    ruleset.write_text(
        HEADER + '[[promotion]]\nid = "every-300-off-50"\nkind = "tiered"\nlane = "platform"\n'
        'mode = "every"\nthreshold = "300"\noff = "50"\n'
    )
    code = main(["debug", "plan", str(ruleset), "--at", "2026-11-11T10:00:00"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("def hot(state, scopes, unredeemed):")
    assert "# 'every-300-off-50' ('tiered')" in out
    # written inline from its rule: the threshold and the reward, no evaluator called
    assert "if total >= 30000:" in out
    assert "total // 30000 * 5000" in out
    assert "e0(state" not in out
    compile(out, "<plan>", "exec")


def test_the_member_plan_differs_from_the_guest_plan(capsys: pytest.CaptureFixture[str]) -> None:
    main(["debug", "plan", "rulesets/double11.toml", "--at", "2026-11-11T10:00:00"])
    guest = capsys.readouterr().out
    main(
        [
            "debug",
            "plan",
            "rulesets/double11.toml",
            "--at",
            "2026-11-11T10:00:00",
            "--segment",
            "member",
        ]
    )
    member = capsys.readouterr().out
    assert "'member-oil'" in member and "'member-oil'" not in guest


def test_a_plan_function_shows_its_lines_in_a_traceback() -> None:
    ladder = engine(
        '[[promotion]]\nid = "l"\nkind = "tiered"\nlane = "platform"\n'
        'threshold = "100"\noff = "10"\n'
    )
    quote = ladder.price(cart(line("a", 1, "150")), ctx())
    assert quote.payable == 14000
    plan = next(iter(ladder._plans.values()))
    hot = plan.hot
    assert hot is not None
    filename = hot.__code__.co_filename
    assert filename.startswith("<promorules plan ")
    source = "".join(linecache.getlines(filename))
    assert source.startswith("def hot(state, scopes, unredeemed):")
    try:
        hot(None, [()], frozenset())
    except AttributeError as error:
        frames = traceback.format_tb(error.__traceback__)
        assert any("amounts = state.amounts" in frame for frame in frames)
    else:  # pragma: no cover
        pytest.fail("a plan function given no state must fail")
