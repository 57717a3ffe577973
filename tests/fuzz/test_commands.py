"""Every command against mutated input files: no traceback, exit 0, 1 or 2, ever.

Each test mutates one input of a command (see :mod:`tests.fuzz.mutations`), writes it to
a temporary file and runs the command in-process through ``promorules.cli.main``. Any
exception escaping ``main`` fails the test (Hypothesis shrinks it to a small input and
prints it); so does an exit code other than 0 (ok), 1 (findings) or 2 (bad input), and
an exit 2 that says nothing on stderr.

The default run is short (``FUZZ_EXAMPLES`` examples a command, a few seconds in all).
The long hunt: ``PROMORULES_FUZZ=long pytest tests/fuzz`` (10,000 examples a command,
or ``PROMORULES_FUZZ_EXAMPLES=N``); ``--hypothesis-show-statistics`` reports the cases
and the time each command took.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promorules.cli import main
from tests.fuzz.mutations import HOSTILE_ARGUMENTS, RULESETS, files, mutants

LONG = os.environ.get("PROMORULES_FUZZ") == "long"
FUZZ_EXAMPLES = int(os.environ.get("PROMORULES_FUZZ_EXAMPLES", "10000" if LONG else "8"))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=not LONG,  # the default run is the same every time; the hunt explores
    database=None,
    suppress_health_check=list(HealthCheck),
)

CATALOG = RULESETS / "catalog.csv"
RULESET_FILES = sorted(
    p for p in RULESETS.rglob("*.toml") if "carts" not in p.parts and "calendar" not in p.parts
)
SMALL_RULESETS = sorted((RULESETS / "examples").glob("*.toml"))
CALENDAR_FILES = sorted((RULESETS / "calendar").glob("*.toml"))
CART_FILES = sorted((RULESETS / "carts").glob("*")) + sorted(
    (RULESETS / "examples" / "carts").glob("*")
)
CATALOG_TOML = "\n".join(
    f'[[item]]\nsku = "{sku}"\ntitle = "{title}"\nprice = "{price}"\ncost = "{cost}"\n'
    f'category = "{category}"\nbrand = "{brand}"\nmerchant = "{merchant}"\n'
    f"tags = {[t for t in tags.split('|') if t]!r}\n".replace("'", '"')
    for sku, title, price, cost, category, brand, merchant, tags in (
        line.split(",") for line in CATALOG.read_text(encoding="utf-8").splitlines()[1:]
    )
)
ORDERS_CSV = (
    "time,order,customer,segment,channel,lines,coupons,shipping\n"
    "2026-11-11T00:00:05,o-1,c-1,member,app,LUMI-SERUM*2;NOVA-BUDS,D11-PLAT-20,\n"
    "2026-11-11T00:10:00,o-2,c-2,,web,HEARTH-TOWEL*3@49.00,,10.00\n"
    '2026-11-11T09:00:00,o-3,c-1,member|new,app,"LUMI-MASK;GREEN-RICE*2",,\n'
)
ORDERS_JSONL = (
    '{"time": "2026-11-11T00:00:05", "order": "o-1", "customer": "c-1", '
    '"segment": ["member"], "lines": ["LUMI-SERUM*2", "NOVA-BUDS"]}\n'
    '{"time": "2026-11-11T00:10:00", "lines": [{"sku": "HEARTH-TOWEL", "quantity": 3, '
    '"unit_price": "49.00"}], "shipping": "10.00", "coupons": ["D11-PLAT-20"]}\n'
)
HISTORY = "sku,date,price\nLUMI-SERUM,2026-11-01,329.00\nNOVA-BUDS,2026-11-05,479.00\n"


@contextlib.contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="promorules-fuzz-") as name:
        yield Path(name)


def put(where: Path, name: str, data: bytes | str) -> str:
    path = where / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return str(path)


PROGRESS = os.environ.get("PROMORULES_FUZZ_LOG")
"""A file a long hunt appends its running counts to (cases and seconds a command)."""
_RUNS: dict[str, list[float]] = {}


def _count(command: str) -> None:
    # Hypothesis reports its statistics only when a test ends; a hunt stopped early
    # still leaves its figures here
    runs = _RUNS.setdefault(command, [time.monotonic(), 0])
    runs[1] += 1
    if PROGRESS and runs[1] % 250 == 0:
        with open(PROGRESS, "a", encoding="utf-8") as log:
            log.write(f"{command} {runs[1]:.0f} cases {time.monotonic() - runs[0]:.0f}s\n")


def check(argv: list[str]) -> int:
    """Run the command; fail on a traceback, an exit code it does not document, or a
    silent exit 2."""
    _count(argv[0])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse refusing an argument: its usage error
            code = exc.code if isinstance(exc.code, int) else 2
    # validate alone also exits 3: a floor UNPROVEN with none breached (docs/validate.md)
    allowed = (0, 1, 2, 3) if argv[0] == "validate" else (0, 1, 2)
    assert code in allowed, f"exit {code}; stderr: {err.getvalue()[-2000:]}"
    if code == 2:
        assert err.getvalue().strip(), "exit 2 without saying why"
    assert "Traceback (most recent call last)" not in err.getvalue()
    return code


def inputs() -> st.SearchStrategy[str]:
    """Which input of a command a case breaks."""
    return st.sampled_from(("ruleset", "cart", "catalog", "catalog-toml"))


@FUZZ
@given(
    target=inputs(),
    ruleset=files(RULESET_FILES),
    cart=files(CART_FILES),
    catalog=files([CATALOG]),
    catalog_toml=mutants(".toml", CATALOG_TOML),
    at=st.none() | st.sampled_from(HOSTILE_ARGUMENTS),
)
def test_price(
    target: str,
    ruleset: tuple[str, bytes],
    cart: tuple[str, bytes],
    catalog: tuple[str, bytes],
    catalog_toml: tuple[str, bytes],
    at: str | None,
) -> None:
    with folder() as where:
        rules = put(where, "r.toml", ruleset[1]) if target == "ruleset" else None
        cart_path = put(where, f"cart{cart[0]}", cart[1])
        if target == "catalog":
            catalog_path = put(where, "catalog.csv", catalog[1])
        elif target == "catalog-toml":
            catalog_path = put(where, "catalog.toml", catalog_toml[1])
        else:
            catalog_path = str(CATALOG)
        if target != "cart":
            cart_path = str(CART_FILES[0])
        argv = ["price", rules or str(RULESETS / "double11.toml"), cart_path]
        argv += ["--catalog", catalog_path]
        if at is not None:
            argv += ["--at", at]
        check(argv)


@FUZZ
@given(
    target=st.sampled_from(("ruleset", "catalog", "history")),
    ruleset=files([*SMALL_RULESETS, RULESETS / "beauty-week.toml"]),
    catalog=files([CATALOG]),
    history=mutants(".csv", HISTORY),
)
def test_validate(
    target: str,
    ruleset: tuple[str, bytes],
    catalog: tuple[str, bytes],
    history: tuple[str, bytes],
) -> None:
    with folder() as where:
        rules = put(where, "r.toml", ruleset[1]) if target == "ruleset" else None
        argv = [
            "validate",
            rules or str(RULESETS / "examples" / "flash.toml"),
            "--catalog",
            put(where, "catalog.csv", catalog[1]) if target == "catalog" else str(CATALOG),
            "--price-history",
            put(where, "history.csv", history[1])
            if target == "history"
            else put(where, "history.csv", HISTORY),
            "--quiet",
            "--examples",
            "1",
            "--max-lines",
            "2",
            "--max-quantity",
            "2",
            "--out",
            str(where / "breaches"),
        ]
        check(argv)


@FUZZ
@given(ruleset=files([*CALENDAR_FILES, RULESETS / "double11.toml"]))
def test_calendar(ruleset: tuple[str, bytes]) -> None:
    with folder() as where:
        check(["calendar", put(where, "r.toml", ruleset[1]), str(CALENDAR_FILES[0])])


@FUZZ
@given(
    target=st.sampled_from(("ruleset", "orders-csv", "orders-jsonl", "catalog", "history")),
    ruleset=files([*SMALL_RULESETS, RULESETS / "double11.toml"]),
    orders_csv=mutants(".csv", ORDERS_CSV),
    orders_jsonl=mutants(".jsonl", ORDERS_JSONL),
    catalog=files([CATALOG]),
    history=mutants(".csv", HISTORY),
)
def test_simulate(
    target: str,
    ruleset: tuple[str, bytes],
    orders_csv: tuple[str, bytes],
    orders_jsonl: tuple[str, bytes],
    catalog: tuple[str, bytes],
    history: tuple[str, bytes],
) -> None:
    with folder() as where:
        if target == "orders-jsonl":
            orders = put(where, "orders.jsonl", orders_jsonl[1])
        elif target == "orders-csv":
            orders = put(where, "orders.csv", orders_csv[1])
        else:
            orders = put(where, "orders.csv", ORDERS_CSV)
        argv = [
            "simulate",
            put(where, "r.toml", ruleset[1])
            if target == "ruleset"
            else str(RULESETS / "double11.toml"),
            orders,
            "--catalog",
            put(where, "catalog.csv", catalog[1]) if target == "catalog" else str(CATALOG),
            "--workers",
            "1",
            "--no-progress",
        ]
        if target == "history":
            argv += ["--price-history", put(where, "history.csv", history[1])]
        check(argv)


@FUZZ
@given(
    target=st.sampled_from(("ruleset", "cart", "arguments")),
    ruleset=files([*SMALL_RULESETS, RULESETS / "double11.toml"]),
    cart=files(CART_FILES),
    returned=st.sampled_from(HOSTILE_ARGUMENTS),
    policy=st.sampled_from(("keep", "claw-back", "x")),
)
def test_refund(
    target: str,
    ruleset: tuple[str, bytes],
    cart: tuple[str, bytes],
    returned: str,
    policy: str,
) -> None:
    with folder() as where:
        rules = put(where, "r.toml", ruleset[1]) if target == "ruleset" else None
        cart_path = put(where, f"cart{cart[0]}", cart[1]) if target == "cart" else None
        argv = ["refund", rules or str(RULESETS / "double11.toml")]
        argv += [cart_path or str(RULESETS / "carts" / "d11-midnight.toml")]
        argv += ["--catalog", str(CATALOG), "--policy", policy]
        argv += ["--return", returned if target == "arguments" else "LUMI-MASK=1"]
        check(argv)


@FUZZ
@given(
    target=st.sampled_from(("old", "new", "cart", "orders")),
    ruleset=files([*SMALL_RULESETS, RULESETS / "double11.toml"]),
    cart=files(CART_FILES),
    orders=mutants(".csv", ORDERS_CSV),
    at=st.none() | st.sampled_from(HOSTILE_ARGUMENTS),
)
def test_diff(
    target: str,
    ruleset: tuple[str, bytes],
    cart: tuple[str, bytes],
    orders: tuple[str, bytes],
    at: str | None,
) -> None:
    with folder() as where:
        d11 = str(RULESETS / "double11.toml")
        mutated = put(where, "r.toml", ruleset[1])
        old, new = (mutated, d11) if target == "old" else (d11, mutated if target == "new" else d11)
        argv = ["diff", old, new, "--catalog", str(CATALOG)]
        if target == "orders":
            argv += ["--orders", put(where, "orders.csv", orders[1]), "--no-progress"]
        else:
            argv += ["--carts", put(where, f"cart{cart[0]}", cart[1])]
            if at is not None:
                argv += ["--at", at]
        check(argv)


@FUZZ
@given(
    target=st.sampled_from(("ruleset", "catalog", "arguments")),
    ruleset=files([*SMALL_RULESETS, RULESETS / "double11.toml"]),
    catalog=files([CATALOG]),
    start=st.sampled_from(HOSTILE_ARGUMENTS),
    days=st.sampled_from(("1", "7", "0", "-1", "366", "367", "x", "9" * 30)),
    count=st.sampled_from(("3", "0", "-1", "x", "9" * 30)),
)
def test_sample_orders(
    target: str,
    ruleset: tuple[str, bytes],
    catalog: tuple[str, bytes],
    start: str,
    days: str,
    count: str,
) -> None:
    with folder() as where:
        argv = [
            "sample-orders",
            put(where, "r.toml", ruleset[1])
            if target == "ruleset"
            else str(RULESETS / "double11.toml"),
            "--catalog",
            put(where, "catalog.csv", catalog[1]) if target == "catalog" else str(CATALOG),
            "-o",
            str(where / "orders.csv"),
        ]
        argv += (
            ["-n", count, "--start", start, "--days", days]
            if target == "arguments"
            else ["-n", "3"]
        )
        check(argv)


@FUZZ
@given(ruleset=files(RULESET_FILES))
def test_ledger_init(ruleset: tuple[str, bytes]) -> None:
    with folder() as where:
        url = f"sqlite:///{where / 'ledger.db'}"
        check(["ledger", "init", put(where, "r.toml", ruleset[1]), "--ledger", url])


@FUZZ
@given(
    prefix=st.sampled_from((*HOSTILE_ARGUMENTS, "D11")),
    count=st.sampled_from(("1", "0", "-1", "x", "9" * 30, "100")),
)
def test_coupons_generate(prefix: str, count: str) -> None:
    with folder() as where:
        check(["coupons", "generate", "--prefix", prefix, "--count", count, "-o", str(where / "c")])


@pytest.mark.parametrize("path", RULESET_FILES + CALENDAR_FILES + CART_FILES + [CATALOG])
def test_the_seeds_are_the_bundled_files(path: Path) -> None:
    # mutants start from real inputs: a bundled file that vanished would quietly
    # narrow the hunt
    assert path.is_file() and path.stat().st_size > 0
