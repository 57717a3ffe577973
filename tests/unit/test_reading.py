"""The reading layer: every input file, whatever its bytes, ends in data or located PRxxx.

Each command is run in-process (``promorules.cli.main``) on files that used to hang it,
exhaust its memory or end in a traceback; each must exit 2 with a ``file:line:col: CODE``
line on stderr.
"""

from __future__ import annotations

import csv
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from promorules.cartfile import load_catalog
from promorules.cli import main
from promorules.diagnostics import RulesetError
from promorules.reading import MAX_CSV_FIELD, MAX_DEPTH, csv_fields, csv_records, read_text

ROOT = Path(__file__).resolve().parents[2]
DOUBLE11 = str(ROOT / "rulesets" / "double11.toml")
CART = str(ROOT / "rulesets" / "carts" / "cross-store.toml")
CATALOG = str(ROOT / "rulesets" / "catalog.csv")
LOCATED = re.compile(r"^\S+:\d+:\d+: PR\d{3} ", re.MULTILINE)
BIG = "9" * 5000  # past Python's 4,300-digit int conversion limit


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def finishes(call: Callable[[], int], seconds: float = 10) -> int:
    """``call()``'s result, failing (not hanging the suite) if it blocks."""
    result: list[int] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(call())
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "reading the file blocked"
    if errors:
        raise errors[0]
    return result[0]


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = tmp_path / "cart.toml"
    os.mkfifo(path)
    return path


# --------------------------------------------------------------------------- special files


def test_a_fifo_as_a_cart_is_refused_without_blocking(
    fifo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = finishes(lambda: main(["price", DOUBLE11, str(fifo), "--catalog", CATALOG]))
    err = capsys.readouterr().err
    assert code == 2
    assert f"{fifo}:1:1: PR001 cannot read cart: a FIFO (named pipe), not a regular file" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["price", "{fifo}", CART, "--catalog", CATALOG],
        ["price", DOUBLE11, CART, "--catalog", "{fifo}"],
        ["validate", "{fifo}", "--quiet"],
        ["calendar", "{fifo}"],
        ["simulate", DOUBLE11, "{fifo}.csv", "--catalog", CATALOG],
        ["simulate", DOUBLE11, "{fifo}.jsonl", "--catalog", CATALOG],
        ["simulate", "{fifo}", str(ROOT / "rulesets" / "catalog.csv")],
        ["validate", DOUBLE11, "--catalog", CATALOG, "--price-history", "{fifo}.csv"],
    ],
)
def test_every_kind_of_input_refuses_a_fifo(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    base = tmp_path / "pipe"
    for suffix in ("", ".csv", ".jsonl"):
        os.mkfifo(f"{base}{suffix}")
    args = [a.replace("{fifo}", str(base)) for a in argv]
    code = finishes(lambda: main(args))
    err = capsys.readouterr().err
    assert code == 2
    assert "PR001" in err and "not a regular file" in err
    assert LOCATED.search(err), err


def test_dev_zero_as_a_ruleset_is_refused_not_read(capsys: pytest.CaptureFixture[str]) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    code, err = run(["price", "/dev/zero", CART], capsys)
    assert code == 2
    assert "/dev/zero:1:1: PR001 cannot read ruleset: a character device" in err


def test_a_directory_as_a_cart_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(["price", DOUBLE11, str(tmp_path)], capsys)
    assert code == 2
    assert f"{tmp_path}:1:1: PR001 cannot read cart: a directory" in err


def test_the_size_limit_counts_bytes_read_not_the_size_stat_claims() -> None:
    # /proc files are regular with st_size 0 whatever they hold: a size check on stat
    # alone would read them whole
    maps = Path("/proc/self/maps")
    if not maps.exists() or maps.stat().st_size != 0:
        pytest.skip("needs a procfs file whose size reads 0")
    with pytest.raises(RulesetError) as caught:
        read_text(maps, "ruleset", 100)
    (only,) = caught.value.diagnostics
    assert str(only) == "/proc/self/maps:1:1: PR001 cannot read ruleset: larger than 100 bytes"


def test_the_csv_size_limit_holds_while_streaming(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text("sku,price\n" + "A,1.00\n" * 100, encoding="utf-8")
    with pytest.raises(RulesetError) as caught:
        list(csv_records(path, "catalogue", 200, "PR302"))
    assert "larger than 200 bytes" in str(caught.value)


def test_bad_utf8_is_located_at_its_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cart = tmp_path / "cart.toml"
    cart.write_bytes(b'[[lines]]\nsku = "A\xff"\n')
    code, err = run(["price", DOUBLE11, str(cart)], capsys)
    assert code == 2
    assert f"{cart}:2:9: PR001 cannot read cart: not UTF-8 text" in err


# --------------------------------------------------------------------------- nesting


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_nesting_past_the_limit_is_refused_and_located(
    suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cart = tmp_path / f"cart{suffix}"
    deep = nested(MAX_DEPTH + 5)
    cart.write_text(
        f'{{\n"lines": {deep}\n}}\n' if suffix == ".json" else f"\nlines = {deep}\n",
        encoding="utf-8",
    )
    code, err = run(["price", DOUBLE11, str(cart)], capsys)
    assert code == 2
    assert f"PR002 lines{'[0]' * (MAX_DEPTH - 1)}: nested more than {MAX_DEPTH} levels deep" in err
    assert err.startswith(f"{cart}:2:")


def test_nesting_within_the_limit_reaches_the_usual_checks(tmp_path: Path) -> None:
    cart = tmp_path / "cart.toml"
    cart.write_text(f"lines = {nested(MAX_DEPTH - 1)}\n", encoding="utf-8")
    with pytest.raises(RulesetError) as caught:
        from zoneinfo import ZoneInfo

        from promorules.cartfile import load_cart

        load_cart(cart, "CNY", ZoneInfo("UTC"))
    assert [d.code for d in caught.value.diagnostics] == ["PR301"]


# --------------------------------------------------------------------------- huge integers


def test_a_5000_digit_integer_in_a_ruleset_is_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ruleset = tmp_path / "r.toml"
    ruleset.write_text(f'[campaign]\nname = "x"\n\n[budgets]\nplatform = {BIG}\n', "utf-8")
    code, err = run(["validate", str(ruleset), "--quiet"], capsys)
    assert code == 2
    assert err.strip() == (
        f"{ruleset}:5:12: PR002 TOML: a number of 5,000 digits (at most 4,300 are read)"
    )


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("cart.toml", f'[[lines]]\nsku = "LUMI-SERUM"\nquantity = {BIG}\n'),
        ("cart.json", f'{{"lines": [{{"sku": "LUMI-SERUM", "quantity": {BIG}}}]}}'),
    ],
)
def test_a_5000_digit_integer_in_a_cart_is_located(
    name: str, text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cart = tmp_path / name
    cart.write_text(text, encoding="utf-8")
    code, err = run(["price", DOUBLE11, str(cart), "--catalog", CATALOG], capsys)
    assert code == 2
    line = 3 if name.endswith(".toml") else 1
    assert err.startswith(f"{cart}:{line}:"), err
    assert "PR002" in err and "5,000 digits" in err


def test_a_5000_digit_integer_in_a_catalogue_is_located(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(f'[[item]]\nsku = "A"\nprice = {BIG}\n', encoding="utf-8")
    with pytest.raises(RulesetError) as caught:
        load_catalog(catalog, "CNY")
    (only,) = caught.value.diagnostics
    assert (only.code, only.line, only.column) == ("PR002", 3, 9)


def test_a_5000_digit_integer_in_an_order_log_is_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "orders.jsonl"
    log.write_text(
        '{"time": "2026-11-11T10:00:00", "lines": ["LUMI-SERUM"]}\n'
        f'{{"time": "2026-11-11T10:00:01", "lines": ["LUMI-SERUM"], "shipping": {BIG}}}\n',
        encoding="utf-8",
    )
    code, err = run(["simulate", DOUBLE11, str(log), "--catalog", CATALOG], capsys)
    assert code == 2
    assert f"{log}:2:1: PR303 a number longer than 4,300 digits" in err


# --------------------------------------------------------------------------- CSV


def test_a_csv_field_past_the_csv_modules_default_limit_is_read(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.csv"
    title = "t" * 200_000
    # the csv module's limit is process-wide: put its default (131,072) back, as a fresh
    # process has it, so the test does not pass on what an earlier reader set
    previous = csv.field_size_limit(131_072)
    catalog.write_text(f"sku,title,price\nA,{title},1.00\n", encoding="utf-8")
    try:
        # read whole (no _csv.Error), then refused by the bound every line holds, located
        with pytest.raises(RulesetError, match=r"catalog\.csv:2:1: PR302 item\[0\]: Line\.title"):
            load_catalog(catalog, "CNY")
    finally:
        csv.field_size_limit(previous)


def test_a_csv_field_past_our_bound_is_a_located_diagnostic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(
        f"sku,title,price\nA,a,1.00\nB,{'t' * (MAX_CSV_FIELD + 1)},1.00\n", encoding="utf-8"
    )
    code, err = run(["price", DOUBLE11, CART, "--catalog", str(catalog)], capsys)
    assert code == 2
    assert f"{catalog}:3:1: PR302 catalogue: a field longer than 1,048,576 characters" in err


def test_a_csv_field_past_the_default_limit_in_a_price_history_is_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tmp_path / "history.csv"
    history.write_text(f"sku,date,price\n{'A' * (MAX_CSV_FIELD + 1)},2026-01-01,1\n", "utf-8")
    code, err = run(
        ["validate", DOUBLE11, "--catalog", CATALOG, "--price-history", str(history), "--quiet"],
        capsys,
    )
    assert code == 2
    assert f"{history}:2:1: PR305 price history: a field longer than" in err


def test_a_quoted_newline_in_a_catalogue_is_one_field(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(
        'sku,title,price\nA,"two\nlines",1.00\nB,"a\x0bvertical tab",2.00\nC,x,oops\n',
        encoding="utf-8",
    )
    with pytest.raises(RulesetError) as caught:
        load_catalog(catalog, "CNY")
    # the bad row is located on the line it starts on, past the quoted newline
    (only,) = caught.value.diagnostics
    assert (only.line, only.path) == (5, ("item", 2, "price"))
    catalog.write_text(
        'sku,title,price\nA,"two\nlines",1.00\nB,"a\x0bvertical tab",2.00\n', encoding="utf-8"
    )
    items = load_catalog(catalog, "CNY")
    assert items["A"].title == "two\nlines"
    assert items["B"].title == "a\x0bvertical tab"


def test_a_csv_field_past_the_default_limit_in_an_order_log_is_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # no CSV catalogue is read first, so nothing else has raised the csv module's limit
    previous = csv.field_size_limit(131_072)
    try:
        log = tmp_path / "orders.csv"
        log.write_text(
            "time,order,lines\n"
            f"2026-11-11T10:00:00,o-1,LUMI-SERUM@1.00\n"
            f"2026-11-11T10:00:01,{'o' * 200_000},LUMI-SERUM@1.00\n",
            encoding="utf-8",
        )
        code, err = run(["simulate", DOUBLE11, str(log)], capsys)
    finally:
        csv.field_size_limit(previous)
    assert code == 2
    # the 200,000-character order id is read (and refused for its length, located)
    assert f"{log}:3:1: PR303 order must be text of at most 128 characters" in err
    with pytest.raises(ValueError, match="a field longer than 1,048,576 characters"):
        csv_fields("a," + "b" * (MAX_CSV_FIELD + 1))
