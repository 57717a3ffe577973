"""``promorules ledger``: output, exit codes, and no traceback for user errors."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from promorules.cli import main
from promorules.counters import ANY_SUBJECT, CounterKey, CounterKind, CounterSpec
from promorules.ledger import open_ledger
from promorules.ledger.shards import shard_of

FLASH = CounterKey(CounterKind.FLASH_STOCK, "flash", "sku-1")
EACH = CounterKey(CounterKind.COUPON_CUSTOMER_USES, "c10", ANY_SUBJECT)


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as ledger:
        ledger.provision([CounterSpec(FLASH, 100), CounterSpec(EACH, 1)])
        ledger.reserve(((FLASH, 3),), "o1", 600)
        ledger.commit(ledger.reserve(((FLASH, 2),), "o2", 600))
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["ledger", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_status_table(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "status", "--ledger", url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["counter", "initial", "held", "used", "available"]
    assert "coupon_customer_uses:c10:* (template)" in out
    assert lines[-1].split() == ["flash_stock:flash:sku-1", "100", "3", "2", "95"]


def test_status_json_and_pause_resume(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "pause", "flash", "--ledger", url)[0] == 0
    code, out, _ = run(capsys, "status", "--ledger", url, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["paused"] == ["flash"]
    flash = next(c for c in data["counters"] if c["key"] == str(FLASH))
    assert (flash["initial"], flash["held"], flash["used"], flash["available"]) == (100, 3, 2, 95)
    code, out, _ = run(capsys, "status", "--ledger", url)
    assert "paused" in out.splitlines()[-3]
    assert run(capsys, "resume", "flash", "--ledger", url)[0] == 0
    with open_ledger(url) as ledger:
        assert ledger.paused() == frozenset()


def test_adjust_top_up_cut_and_refusal(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "adjust", str(FLASH), "+50", "--ledger", url)
    assert code == 0 and "145" in out
    code, _, err = run(capsys, "adjust", str(FLASH), "-500", "--ledger", url)
    assert code == 1 and "insufficient" in err and "Traceback" not in err
    code, out, _ = run(capsys, "adjust", str(FLASH), "-500", "--clamp", "--ledger", url)
    assert code == 0
    with open_ledger(url) as ledger:
        row = next(r for r in ledger.status() if r.key == FLASH)
    assert (row.initial, row.available) == (5, 0)


@pytest.mark.parametrize(
    "argv",
    [
        ("adjust", "not-a-key", "5"),
        ("adjust", str(FLASH), "five"),
        ("adjust", "gift_stock:nope:", "5"),
    ],
)
def test_bad_input_exits_2_without_traceback(
    url: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    code, _, err = run(capsys, *argv, "--ledger", url)
    assert code == 2
    assert err.startswith("promorules ledger: error:") and "Traceback" not in err


def test_missing_or_bad_url_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMORULES_LEDGER", raising=False)
    assert run(capsys, "status")[0] == 2
    assert run(capsys, "status", "--ledger", "ftp://nowhere")[0] == 2


def test_url_from_the_environment(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMORULES_LEDGER", url)
    assert run(capsys, "sweep")[0] == 0


def test_sweep_reports_expired(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sweep", "--ledger", url, "--format", "json")
    assert code == 0 and json.loads(out) == {"expired": 0}


def test_init_provisions_what_the_engine_declares(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gift = CounterKey(CounterKind.GIFT_STOCK, "gift", "mug")

    class Engine:
        def __init__(self, counters: tuple[CounterSpec, ...]) -> None:
            self.counters = counters

        @classmethod
        def from_toml(cls, path: str) -> Engine:
            if not Path(path).exists():
                raise FileNotFoundError(2, "No such file or directory")
            return cls((CounterSpec(FLASH, 120), CounterSpec(gift, 10)))

    monkeypatch.setitem(sys.modules, "promorules.engine", types.SimpleNamespace(Engine=Engine))
    ruleset = tmp_path / "d11.toml"
    ruleset.write_text("")
    code, out, _ = run(capsys, "init", str(ruleset), "--ledger", url, "--format", "json")
    assert code == 0
    assert json.loads(out)["created"] == [str(gift)]
    assert json.loads(out)["differing"] == [
        {"key": str(FLASH), "ledger_initial": 100, "ruleset_initial": 120}
    ]
    code, out, _ = run(capsys, "init", str(ruleset), "--ledger", url)
    assert code == 0 and "created 0, unchanged 1" in out and "left alone" in out
    code, _, err = run(capsys, "init", str(tmp_path / "missing.toml"), "--ledger", url)
    assert code == 2 and "cannot read" in err


# -- a safe emergency console ---------------------------------------------------------

MERCHANT = CounterKey(CounterKind.FUNDER_BUDGET, "merchant")


@pytest.fixture
def budgets(url: str) -> str:
    with open_ledger(url) as ledger:
        ledger.provision([CounterSpec(MERCHANT, 100_000_000)])  # 1,000,000.00 CNY
        ledger.set_currency("CNY")
    return url


def test_an_unknown_promotion_is_refused_with_the_closest_names(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("pause", "resume"):
        code, out, err = run(capsys, command, "flsh", "--ledger", url)
        assert code == 2 and out == ""
        assert "unknown promotion 'flsh' (did you mean flash?)" in err and "--new" in err
    assert run(capsys, "status", "--promotion", "flsh", "--ledger", url)[0] == 2
    assert run(capsys, "log", "--promotion", "flsh", "--ledger", url)[0] == 2
    with open_ledger(url) as ledger:
        assert ledger.paused() == frozenset()
        assert [e.action.value for e in ledger.log()] == ["provision"]
    assert run(capsys, "pause", "flsh", "--new", "--ledger", url)[0] == 0
    assert run(capsys, "resume", "flsh", "--ledger", url)[0] == 0  # known now: paused once


def test_an_unknown_counter_is_refused_unless_new(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "adjust", "flash_stock:flash:sku-2", "+5", "--ledger", url)
    assert code == 2 and "did you mean flash_stock:flash:sku-1?" in err
    code, out, _ = run(capsys, "adjust", "flash_stock:flash:sku-2", "+5", "--new", "--ledger", url)
    assert code == 0 and out.splitlines()[-1].split() == [
        "flash_stock:flash:sku-2",
        "5",
        "0",
        "0",
        "5",
    ]


def test_money_is_shown_and_adjusted_in_major_units(
    budgets: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "status", "--ledger", budgets)
    assert code == 0 and "1,000,000.00" in out and "budgets in CNY" in out
    # the key as status prints it, without the trailing colon
    code, out, err = run(
        capsys, "adjust", "funder_budget:merchant", "+5000000.00", "--ledger", budgets
    )
    assert code == 0, err
    assert "6,000,000.00" in out
    assert run(capsys, "adjust", "funder_budget:merchant:", "-0.01", "--ledger", budgets)[0] == 0
    with open_ledger(budgets) as ledger:
        assert ledger.status("merchant")[0].initial == 600_000_000 - 1
    code, _, err = run(capsys, "adjust", "funder_budget:merchant", "+0.001", "--ledger", budgets)
    assert code == 2 and "more precise" in err
    code, out, _ = run(capsys, "status", "--ledger", budgets, "--format", "json")
    row = next(c for c in json.loads(out)["counters"] if c["promotion"] == "merchant")
    assert (row["initial"], row["currency"]) == (599_999_999, "CNY")


def test_money_needs_a_currency(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with open_ledger(url) as ledger:
        ledger.provision([CounterSpec(MERCHANT, 100)])
    code, _, err = run(capsys, "adjust", "funder_budget:merchant", "+5.00", "--ledger", url)
    assert code == 2 and "--currency" in err
    assert "budgets in minor units" in run(capsys, "status", "--ledger", url)[1]
    argv = ("adjust", "funder_budget:merchant", "+5.5", "--currency", "JPY", "--ledger", url)
    code, _, err = run(capsys, *argv)
    assert code == 2 and "more precise than JPY" in err
    argv = ("adjust", "funder_budget:merchant", "+5", "--currency", "JPY", "--ledger", url)
    assert run(capsys, *argv)[0] == 0
    with open_ledger(url) as ledger:
        assert ledger.status("merchant")[0].initial == 105


def test_every_change_is_in_the_audit_log(
    budgets: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "ops-oncall")
    run(capsys, "pause", "flash", "--reason", "price typo", "--ledger", budgets)
    run(capsys, "resume", "flash", "--actor", "li.wei", "--ledger", budgets)
    run(capsys, "adjust", "funder_budget:merchant", "+5000000.00", "--ledger", budgets)
    code, out, _ = run(capsys, "log", "--ledger", budgets, "--format", "json")
    entries = json.loads(out)
    assert code == 0
    assert [(e["action"], e["actor"], e["reason"]) for e in entries[-3:]] == [
        ("pause", "ops-oncall", "price typo"),
        ("resume", "li.wei", None),
        ("adjust", "ops-oncall", None),
    ]
    assert entries[-3]["before"] == {"paused": False} and entries[-3]["after"] == {"paused": True}
    assert entries[-1]["target"] == "funder_budget:merchant:"
    assert (entries[-1]["before"]["initial"], entries[-1]["after"]["initial"]) == (
        100_000_000,
        600_000_000,
    )
    code, out, _ = run(capsys, "log", "--ledger", budgets, "--limit", "1")
    assert "initial 1,000,000.00 -> 6,000,000.00" in out and "ops-oncall" in out
    code, out, _ = run(capsys, "log", "--promotion", "flash", "--ledger", budgets)
    assert "price typo" in out and "merchant" not in out


def test_status_never_prints_a_terminal_escape(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = CounterKey(CounterKind.FLASH_STOCK, "flash", "\x1b]0;pwned\x07")
    with open_ledger(url) as ledger:
        ledger.provision([CounterSpec(hostile, 1)])
        ledger.pause("\x1b[2Jp", actor="\x1b[31m")
    for argv in (("status",), ("log",)):
        code, out, _ = run(capsys, *argv, "--ledger", url)
        assert code == 0 and "\x1b" not in out and "\x07" not in out


def test_init_records_the_currency_and_every_promotion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    ruleset = str(Path(__file__).parents[2] / "rulesets" / "examples" / "flash.toml")
    assert run(capsys, "init", ruleset, "--reason", "go live", "--ledger", url)[0] == 0
    # member-lumi has no counter, but the ruleset names it: no --new needed
    assert run(capsys, "pause", "member-lumi", "--ledger", url)[0] == 0
    with open_ledger(url) as ledger:
        assert ledger.currency() == "CNY"
        assert ledger.paused() == frozenset({"member-lumi"})
        assert [(e.action.value, e.reason) for e in ledger.log()] == [
            ("provision", "go live"),
            ("pause", None),
        ]


def test_init_stores_hot_counters_as_shards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ruleset = str(Path(__file__).parents[2] / "rulesets" / "examples" / "flash.toml")
    every = f"sqlite:///{tmp_path / 'every.db'}"
    assert run(capsys, "init", ruleset, "--shards", "4", "--ledger", every)[0] == 0
    with open_ledger(every) as ledger:
        declared = {r.key: r.initial for r in ledger.status()}
        split = ledger._shard_map()
        stored = {r.key: r.initial for r in ledger._status(None)}
    concrete = {k for k in declared if k.subject != ANY_SUBJECT}
    assert concrete and split == {k: 4 for k in concrete}
    for key in concrete:  # each stored as 4 shards adding up to its initial, read as one
        parts = [n for k, n in stored.items() if (shard_of(k) or (None,))[0] == key]
        assert len(parts) == 4 and sum(parts) == declared[key]

    hot = next(iter(sorted(concrete, key=str)))
    one = f"sqlite:///{tmp_path / 'one.db'}"
    argv = ("init", ruleset, "--shards", "3", "--hot", str(hot), "--ledger", one)
    assert run(capsys, *argv)[0] == 0
    with open_ledger(one) as ledger:
        assert ledger._shard_map() == {hot: 3}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--shards", "0"), "--shards is 1 to 256"),
        (("--shards", "300"), "--shards is 1 to 256"),
        (("--hot", "flash_stock:flash-lumi:LUMI-SERUM"), "give --shards N too"),
        (("--shards", "2", "--hot", "flash_stock:flash-lumi:*"), "is a template"),
        (("--shards", "2", "--hot", "flash_stock:nope:x"), "not a counter of the ruleset"),
        (("--shards", "2", "--hot", "nonsense"), "is not KIND:PROMOTION"),
    ],
)
def test_init_refuses_bad_shard_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], message: str
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    ruleset = str(Path(__file__).parents[2] / "rulesets" / "examples" / "flash.toml")
    code, _, err = run(capsys, "init", ruleset, *extra, "--ledger", url)
    assert code == 2 and message in err and "Traceback" not in err
    with open_ledger(url) as ledger:
        assert ledger.status() == []  # refused before anything was created
