"""No raw control character from input reaches a terminal, whatever the command.

Names in rulesets, skus and customer ids in carts and order logs, counter keys and
paused promotions in a ledger, and what a third-party plugin says about itself all
carry escape sequences, bidi controls, NUL and invisible characters here; every
command's text output (and its error output) must show none of them raw.
"""

from __future__ import annotations

import json
import types
import unicodedata
from pathlib import Path

import pytest

from promorules import hookimpl
from promorules.cli import main
from promorules.cli.render import safe, table

# an escape sequence (ESC and C1 CSI), bidi embedding/override/isolates, NUL, a line
# separator, zero-width and other invisible characters, a lone surrogate
EVIL = "\x1b[31mred\x1b]0;title\x07\x9b2J\u202aa\u202eb\u2066c\u2069\x00\u2028\u200b\u3164\ud800"


def raw_controls(text: str) -> list[str]:
    """Characters a terminal would act on or hide: everything but the line feed from
    the control, format, surrogate, private and unassigned categories and separators."""
    return sorted(
        {
            f"U+{ord(ch):04X}"
            for ch in text
            if (
                ch != "\n"
                and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
            )
            or ch in "\u3164\u115f\u1160\uffa0"
        }
    )


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out + err


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (escapes for every control; TOML cannot hold a
    lone surrogate, so it is left out)."""
    body = "".join(
        f"\\u{ord(ch):04x}" if not ch.isprintable() or ch in '"\\' else ch
        for ch in text
        if not 0xD800 <= ord(ch) <= 0xDFFF
    )
    return f'"{body}"'


NAME = toml_string(EVIL)
CATEGORY = toml_string("cat" + EVIL)


def ruleset(tmp_path: Path, grade: str = "B") -> Path:
    path = tmp_path / "evil.toml"
    path.write_text(
        f"""
[campaign]
name = {NAME}
grade = "{grade}"
currency = "CNY"
timezone = "Asia/Shanghai"

[campaign.phases]
{NAME} = {{ start = 2026-03-01T00:00:00, end = 2026-03-02T23:59:59 }}
explosion = {{ start = 2026-03-03T00:00:00, end = 2026-03-05T23:59:59 }}

[guardrails]
min_line_margin = "0%"
on_breach = "warn"
categories = {{ {CATEGORY} = "50%" }}

[catalog.categories.{CATEGORY}]
margin = "55%"

[[promotion]]
id = "deep"
title = {NAME}
kind = "discount"
percent = "30%"
""",
        encoding="utf-8",
    )
    return path


def cart(tmp_path: Path) -> Path:
    path = tmp_path / "cart.json"
    line = {
        "sku": "sku" + EVIL[:-1],
        "quantity": 1,
        "unit_price": "100.00",
        "unit_cost": "50.00",
        "category": "cat" + EVIL[:-1],
        "merchant": "m" + EVIL[:-1],
        "title": EVIL[:-1],
    }
    data = {"at": "2026-03-04T10:00:00+08:00", "channel": EVIL[:-1], "lines": [line]}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_safe_leaves_no_control_and_keeps_text() -> None:
    assert raw_controls(safe(EVIL, None)) == []
    assert raw_controls(safe(EVIL + "\n" + EVIL, None, lines=True)) == []
    assert safe("plain name, \u4fc3\u9500 \u00e9 \u2764\ufe0f", None) == (
        "plain name, \u4fc3\u9500 \u00e9 \u2764\ufe0f"
    )
    assert safe("a\nb", None) == "a?b"
    assert safe("a\nb", None, lines=True) == "a\nb"
    assert safe(safe(EVIL, 20), 20) == safe(EVIL, 20)  # twice is the same as once


def test_a_table_cleans_every_cell_and_keeps_its_line_breaks() -> None:
    text = table([[EVIL, 5, None, "one\ntwo"]], ("a", "b", "c", EVIL))
    assert raw_controls(text) == []
    assert "two" in text.splitlines()[-1]


def test_price_text_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run(["price", str(ruleset(tmp_path)), str(cart(tmp_path))], capsys)
    assert code == 1, text  # the 50% category floor breaks, under "warn"
    assert "BROKEN" in text
    assert raw_controls(text) == []


def test_validate_text_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["validate", str(ruleset(tmp_path)), "--examples", "20", "--quiet"]
    code, text = run([*argv, "--out", str(tmp_path / "breaches")], capsys)
    assert code == 1, text
    assert "cat" in text
    assert raw_controls(text) == []


def test_calendar_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run(["calendar", str(ruleset(tmp_path, grade="S"))], capsys)
    assert code == 0, text
    assert "PR70" in text  # the rhythm warnings quote campaign and phase names
    assert raw_controls(text) == []


def test_simulate_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = tmp_path / "orders.jsonl"
    row = {
        "time": "2026-03-04T10:00:00+08:00",
        "order": "o" + EVIL[:-1],
        "customer": "c" + EVIL[:-1],
        "segment": ["s" + EVIL[:-1]],
        "channel": "ch" + EVIL[:-1],
        "lines": [
            {
                "sku": "sku" + EVIL[:-1],
                "unit_price": "100.00",
                "unit_cost": "50.00",
                "category": "cat" + EVIL[:-1],
            }
        ],
    }
    orders.write_text(json.dumps(row) + "\n", encoding="utf-8")
    argv = ["simulate", str(ruleset(tmp_path)), str(orders), "--no-progress", "--workers", "1"]
    code, text = run(argv, capsys)
    assert code == 0, text
    assert "by category" in text
    assert raw_controls(text) == []


def test_simulate_error_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = tmp_path / "orders.jsonl"
    row = {"time": "2026-03-04T10:00:00", "lines": [{"sku": EVIL[:-1], "bogus" + EVIL[:-1]: 1}]}
    orders.write_text(json.dumps(row) + "\n", encoding="utf-8")
    code, text = run(["simulate", str(ruleset(tmp_path)), str(orders), "--no-progress"], capsys)
    assert code == 2, text
    assert raw_controls(text) == []


def test_ledger_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from promorules.counters import CounterKey, CounterKind, CounterSpec
    from promorules.ledger import open_ledger

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    evil = EVIL[:-1].replace("\x00", "")  # a ledger refuses NUL in a key (InvalidRequest)
    with open_ledger(url) as ledger:
        # checkout writes customer ids and skus into counter keys
        ledger.provision(
            [
                CounterSpec(CounterKey(CounterKind.FLASH_STOCK, "p" + evil, evil), 5),
                CounterSpec(CounterKey(CounterKind.BUDGET, "deep", ""), 100),
            ]
        )
        ledger.pause("p" + evil)
    code, text = run(["ledger", "status", "--ledger", url], capsys)
    assert code == 0, text
    assert "paused" in text
    assert raw_controls(text) == []
    # an unknown promotion is refused (exit 2, did-you-mean), its name made safe
    code, text = run(["ledger", "pause", "--ledger", url, "q" + evil], capsys)
    assert code == 2, text
    assert raw_controls(text) == []
    code, text = run(["ledger", "adjust", "--ledger", url, "budget:" + EVIL[:-1], "+5"], capsys)
    assert code == 2, text
    assert raw_controls(text) == []


def test_plugins_list(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from promorules import plugins
    from promorules_plugins.tiered import Tiered

    class Evil(Tiered):
        name = "evil"
        summary = "a kind" + EVIL

    @hookimpl(specname="promorules_register_kinds")
    def register(register: object) -> None:
        assert callable(register)
        register(Evil())

    class EvilEntryPoint:
        name = "evil" + EVIL
        value = "evil.module" + EVIL
        dist = None

        def load(self) -> object:
            return types.SimpleNamespace(promorules_register_kinds=register)

    monkeypatch.setattr(plugins, "entry_points", lambda group: [EvilEntryPoint()])
    code, text = run(["plugins"], capsys)
    assert code == 0, text
    assert "evil" in text
    assert raw_controls(text) == []
