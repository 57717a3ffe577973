"""The message catalogues: every code worded in every bundled language, every parameter
used, every note the code emits declared, and docs/quote.md in step with them."""

from __future__ import annotations

import ast
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from promorules.kind import Reason
from promorules.messages import (
    NOTES,
    PAYMENTS,
    REASONS,
    SENTENCES,
    Amount,
    LocaleError,
    Note,
    ParamType,
    catalogue,
    doc,
    fields,
    locales,
    negotiate,
    resolve,
)
from tests.markdown import fenced

ROOT = Path(__file__).resolve().parents[2]
QUOTE_MD = ROOT / "docs" / "quote.md"
BUNDLED = locales()


def test_english_and_simplified_chinese_are_bundled() -> None:
    assert BUNDLED == ("en", "zh-CN")


def test_every_reason_of_the_engine_is_a_known_code() -> None:
    assert {r.value for r in Reason} <= set(REASONS)


def _distinct(spec: dict[str, ParamType]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Parameters with values no other parameter's rendering contains, and per parameter
    what must appear in the text in each locale (filled in by the caller)."""
    values: dict[str, Any] = {}
    for position, (name, kind) in enumerate(spec.items()):
        n = 901 + position
        if kind is ParamType.MONEY:
            values[name] = Amount(n * 100_000 + 37)  # CN¥90,100.37
        elif kind is ParamType.COUNT:
            values[name] = n
        elif kind is ParamType.PERCENT:
            values[name] = Fraction(10 + position, 100)  # 10%, 11%, ...
        elif kind is ParamType.TEXT:
            values[name] = f"t{n}-{name}"
        elif kind is ParamType.TEXTS:
            values[name] = (f"a{n}", f"b{n}")
        elif kind is ParamType.NOTE:
            values[name] = Note("gift-item", {"name": f"inner{n}"})
        else:
            values[name] = (Note("gift-item", {"name": f"first{n}"}),)
    return values, {}


def _expected(value: Any, locale: str) -> list[str]:
    words = catalogue(locale)
    if isinstance(value, Amount):
        return [words.money(value, "CNY")]
    if isinstance(value, Fraction):
        return [f"{value * 100}%"]
    if isinstance(value, Note):
        return [str(value.params["name"])]
    if isinstance(value, tuple):
        return [x for item in value for x in _expected(item, locale)]
    return [str(value)]


def _cases() -> list[tuple[str, str, str, dict[str, ParamType]]]:
    out = []
    for locale in BUNDLED:
        out += [(locale, "notes", code, spec) for code, spec in NOTES.items()]
        out += [(locale, "sentences", name, spec) for name, spec in SENTENCES.items()]
        out += [(locale, "reasons", code, {}) for code in REASONS]
        out += [(locale, "payments", label, {}) for label in PAYMENTS]
    return out


@pytest.mark.parametrize(
    ("locale", "section", "code", "spec"), _cases(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_every_code_is_worded_with_every_parameter(
    locale: str, section: str, code: str, spec: dict[str, ParamType]
) -> None:
    words = catalogue(locale)
    table = getattr(words, section)
    assert code in table, f"{locale}.toml [{section}] has no {code!r}"
    template = table[code]
    assert template.strip()
    assert set(fields(template)) == set(spec), f"{locale} {code}: {template!r}"
    values, _ = _distinct(spec)
    text = words.fill(template, values, "CNY")
    for name, value in values.items():
        for part in _expected(value, locale):
            assert part in text, f"{locale} {code}: {name} ({part!r}) missing from {text!r}"


@pytest.mark.parametrize("locale", BUNDLED)
def test_no_catalogue_words_a_code_nobody_emits(locale: str) -> None:
    words = catalogue(locale)
    assert set(words.notes) == set(NOTES)
    assert set(words.sentences) == set(SENTENCES)
    assert set(words.reasons) == set(REASONS)
    assert set(words.payments) == set(PAYMENTS)
    assert {"CNY", "USD", "JPY"} <= set(words.symbols)


def _emitted() -> set[str]:
    """Every code written as ``Note("code"...`` in the engine and the bundled kinds."""
    found: set[str] = set()
    for folder in (ROOT / "promorules", ROOT / "plugins"):
        for path in folder.rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "Note"
                    and node.args
                ):
                    first = node.args[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        found.add(first.value)
                    elif isinstance(first, ast.JoinedStr):  # f"{what}-above"
                        found.add("<f-string>")
    return found


def test_every_note_the_code_writes_is_declared() -> None:
    emitted = _emitted()
    emitted.discard("<f-string>")  # the shipping notes: checked by the example carts
    assert emitted - set(NOTES) == set()
    assert len(emitted) > 60  # the walk does find them


def test_money_per_locale() -> None:
    en, zh = catalogue("en"), catalogue("zh-CN")
    assert en.money(123450, "CNY") == "CN¥1,234.50"
    assert zh.money(123450, "CNY") == "¥1,234.50"
    assert zh.money(-5, "CNY") == "-¥0.05"
    assert en.money(1234, "JPY") == "¥1,234"
    assert zh.money(1234, "JPY") == "JP¥1,234"
    assert en.money(1250, "KWD") == "KWD 1.250"  # no symbol: the code


def test_plural_forms() -> None:
    note = Note("units-short", {"units": 1, "needed": 3})
    assert note.render("en") == "1 eligible unit; it needs 3"
    assert (
        Note("units-short", {"units": 2, "needed": 3}).render("en").startswith("2 eligible units")
    )
    assert note.render("zh-CN") == "可参与商品1件，需3件"


def test_an_unknown_code_is_shown_as_its_code_and_parameters() -> None:
    note = Note("my-kind-said", {"amount": Amount(500), "sku": "X"})
    assert note.render("en") == "my-kind-said(amount=CN¥5.00, sku=X)"
    assert Note("my-kind-said").render("zh-CN") == "my-kind-said"


@pytest.mark.parametrize(
    ("asked", "found"),
    [
        ("zh-CN", "zh-CN"),
        ("zh_CN", "zh-CN"),
        ("ZH-cn", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("zh", "zh-CN"),
        ("en", "en"),
        ("en-GB", "en"),
    ],
)
def test_locales_resolve_leniently(asked: str, found: str) -> None:
    assert resolve(asked) == found


@pytest.mark.parametrize("asked", ["fr", "", "x" * 200])
def test_an_unserved_locale_is_refused_naming_those_bundled(asked: str) -> None:
    with pytest.raises(LocaleError, match=r"bundled: en, zh-CN") as caught:
        resolve(asked)
    assert len(str(caught.value)) < 120


@pytest.mark.parametrize(
    ("header", "found"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("fr-FR, en;q=0.5, zh;q=0.7", "zh-CN"),
        ("fr, de", "en"),
        ("zh;q=0, en", "en"),
        ("*", "en"),
        ("zh;q=abc, en;q=0.1", "en"),
    ],
)
def test_accept_language_is_negotiated(header: str | None, found: str) -> None:
    assert negotiate(header) == found


def test_notes_serialise_with_typed_parameters() -> None:
    note = Note(
        "at-most",
        {"reward": Note("percent-off", {"percent": Fraction(1, 10)}), "cap": Amount(2000)},
    )
    assert note.to_dict("CNY") == {
        "code": "at-most",
        "params": {"reward": {"code": "percent-off", "params": {"percent": "10%"}}, "cap": "20.00"},
    }


def test_the_tables_of_docs_quote_md_are_up_to_date() -> None:
    text = QUOTE_MD.read_text(encoding="utf-8")
    assert doc.render(text) == text, "run: python -m promorules.messages.doc"
    for section in ("reasons", "notes", "sentences", "payments"):
        assert f"<!-- messages: {section} -->" in text
    for code in [*NOTES, *REASONS]:
        assert f"| `{code}` |" in text


def test_the_example_of_docs_quote_md_says_what_it_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    (line, code), *_ = fenced(QUOTE_MD.read_text(encoding="utf-8"), "python")
    namespace: dict[str, Any] = {}
    exec(compile("\n" * (line - 1) + code, str(QUOTE_MD), "exec"), namespace)
    checked = 0
    for text in code.splitlines():
        match = re.match(r"^(\w[\w.()\"-]*)  # '(.*)'$", text)
        if match:
            assert str(eval(match.group(1), namespace)) == match.group(2), text
            checked += 1
    assert checked >= 4
