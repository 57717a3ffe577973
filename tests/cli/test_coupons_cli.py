"""``promorules coupons generate`` and the coupon paths of ``promorules price``."""

from __future__ import annotations

from pathlib import Path

import pytest

from promorules.cli import main
from promorules.coupon_codes import Series

ROOT = Path(__file__).resolve().parents[2]


def test_generate_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coupons", "generate", "--prefix", "d11", "--count", "50"]) == 0
    codes = capsys.readouterr().out.split()
    assert len(codes) == len(set(codes)) == 50
    series = Series("D11", 10)
    assert all(series.well_formed(code) for code in codes)


def test_generate_to_a_file_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "codes.txt"
    args = ["coupons", "generate", "--prefix", "A", "--count", "7", "--length", "6"]
    assert main([*args, "--output", str(target)]) == 0
    lines = target.read_text().splitlines()
    assert lines[0].startswith("#") and len(lines) == 8
    before = target.read_text()
    assert main([*args, "--output", str(target)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert target.read_text() == before
    assert main([*args, "--output", str(target), "--force"]) == 0
    assert target.read_text() != before
    assert [p.name for p in tmp_path.iterdir()] == ["codes.txt"]  # no temporary left


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--count", "1000000000"], "count must lie between 1 and 1,000,000"),
        (["--count", "10", "--length", "40"], "length must lie between"),
        (["--count", "100000", "--length", "3"], "too easy to guess"),
    ],
)
def test_generate_refuses_absurd_requests(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["coupons", "generate", "--prefix", "D11", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_generate_never_echoes_a_hostile_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coupons", "generate", "--prefix", "\x1b]0;x\x07" * 1000, "--count", "1"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and len(err) < 200


def test_price_refuses_a_huge_code(capsys: pytest.CaptureFixture[str]) -> None:
    ruleset = str(ROOT / "rulesets" / "examples" / "coupons.toml")
    cart = str(ROOT / "rulesets" / "carts" / "coupons.toml")
    assert main(["price", ruleset, cart, "--coupon", "A" * 10_000_000]) == 2
    err = capsys.readouterr().err
    assert "1 to 64 characters" in err
    assert len(err) < 500
