"""The broken-ruleset corpus: every file fails with exactly its expected diagnostics.

Each ``tests/rulesets/broken/NAME.toml`` has a sibling ``NAME.expected`` holding the
diagnostics, one per line, as ``file:line:col: CODE path: message`` with the file named
relative to the repository root (the test loads it by that relative path). Besides the
exact text, every diagnostic about a key is checked to point at that key in the source,
so a wrong line or column cannot hide in a golden file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from promorules.diagnostics import Collector, Diagnostic, RulesetError, format_path
from promorules.diagnostics import Path as KeyPath
from promorules.plugins import PluginHost
from promorules.ruleset import load_ruleset, parse_ruleset
from promorules_plugins import tiered

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "tests" / "rulesets" / "broken"
CASES = sorted(p.stem for p in BROKEN.glob("*.toml"))
KINDS = PluginHost(plugins=[tiered]).kinds


def _diagnostics(name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Diagnostic, ...]:
    monkeypatch.chdir(ROOT)
    with pytest.raises(RulesetError) as caught:
        load_ruleset(f"tests/rulesets/broken/{name}.toml", KINDS)
    return caught.value.diagnostics


def test_the_corpus_covers_what_the_issue_lists() -> None:
    assert len(CASES) >= 15
    for name in CASES:
        assert (BROKEN / f"{name}.expected").is_file(), f"{name}.toml has no .expected file"


@pytest.mark.parametrize("name", CASES)
def test_broken_ruleset_reports_exactly_the_expected_diagnostics(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    diagnostics = _diagnostics(name, monkeypatch)
    expected = (BROKEN / f"{name}.expected").read_text(encoding="utf-8").splitlines()
    assert [str(d) for d in diagnostics] == expected


@pytest.mark.parametrize("name", CASES)
def test_each_diagnostic_points_at_its_key(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    source = (BROKEN / f"{name}.toml").read_text(encoding="utf-8").splitlines()
    for diagnostic in _diagnostics(name, monkeypatch):
        assert diagnostic.file == f"tests/rulesets/broken/{name}.toml"
        text = source[diagnostic.line - 1][diagnostic.column - 1 :]
        last = diagnostic.path[-1] if diagnostic.path else None
        if diagnostic.code == "PR002" or last is None:
            continue
        if diagnostic.code == "PR102":
            # a missing key is located at the nearest thing that exists: its table
            assert not text.startswith(str(last)), diagnostic
        elif isinstance(last, int):
            assert text[:1] in ('"', "'", "{") or text[:1].isdigit(), diagnostic
        else:
            assert re.match(rf"""\[*["']?{re.escape(last)}\b""", text), (str(diagnostic), text)


def test_several_problems_are_all_reported_in_file_order(monkeypatch: pytest.MonkeyPatch) -> None:
    diagnostics = _diagnostics("several-problems", monkeypatch)
    assert [d.code for d in diagnostics] == ["PR103", "PR103", "PR101", "PR201", "PR104"]
    positions = [(d.line, d.column) for d in diagnostics]
    assert positions == sorted(positions)


def test_a_typo_gives_one_diagnostic_not_a_cascade(monkeypatch: pytest.MonkeyPatch) -> None:
    (only,) = _diagnostics("unknown-promotion-key", monkeypatch)
    assert "did you mean 'threshold'?" in only.message


def test_syntax_error_is_a_located_diagnostic_not_an_exception_text() -> None:
    with pytest.raises(RulesetError) as caught:
        parse_ruleset('[campaign]\nname = "x"\ncurrency = = "CNY"\n', KINDS, source="r.toml")
    (only,) = caught.value.diagnostics
    assert (only.file, only.line, only.code) == ("r.toml", 3, "PR002")
    assert "at line" not in only.message  # the position lives in file:line:col only


def test_a_ruleset_nested_past_the_parsers_stack_is_a_diagnostic() -> None:
    text = '[campaign]\nname = "x"\ntags = ' + "[" * 100_000 + "]" * 100_000 + "\n"
    with pytest.raises(RulesetError) as caught:
        parse_ruleset(text, KINDS, source="r.toml")
    (only,) = caught.value.diagnostics
    assert str(only) == "r.toml:1:1: PR002 TOML nested too deeply (arrays or inline tables)"


def test_unreadable_and_oversized_files_are_pr001(tmp_path: Path) -> None:
    with pytest.raises(RulesetError) as caught:
        load_ruleset(tmp_path / "missing.toml", KINDS)
    assert caught.value.diagnostics[0].code == "PR001"
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RulesetError) as caught:
        load_ruleset(binary, KINDS)
    assert caught.value.diagnostics[0].code == "PR001"


def test_wrong_scalar_types_are_refused_not_coerced() -> None:
    base = '[campaign]\nname = "x"\ncurrency = "CNY"\ntimezone = "UTC"\n[[promotion]]\n'
    cases = {
        'id = "p"\nkind = "tiered"\nthreshold = "300"\noff = "30"\ntitle = 5\n': "title",
        'id = "p"\nkind = "tiered"\nthreshold = "300"\noff = "30"\npriority = "5"\n': "priority",
        'id = "p"\nkind = "tiered"\nthreshold = "300"\noff = "30"\npriority = 2.5\n': "priority",
        'id = "p"\nkind = "tiered"\nthreshold = "300"\noff = "30"\nlane = "stor"\n': "lane",
        'id = "p"\nkind = "tiered"\nthreshold = "300"\noff = "30"\nmode = "evry"\n': "mode",
    }
    for body, key in cases.items():
        with pytest.raises(RulesetError) as caught:
            parse_ruleset(base + body, KINDS)
        (only,) = caught.value.diagnostics
        assert (only.code, only.path) == ("PR103", ("promotion", 0, key)), body
    with pytest.raises(RulesetError) as caught:
        parse_ruleset(
            base + 'id = "p"\nkind = "tiered"\nthreshold = "3"\noff = "1"\nlane = "stor"\n', KINDS
        )
    assert "expected one of 'price', 'item', 'store', 'platform'" in str(caught.value)


def test_diagnostic_text_and_dict_share_fields() -> None:
    diagnostic = Diagnostic("PR203", "must exceed", ("promotion", 2, "tiers", 1), "d.toml", 14, 5)
    assert str(diagnostic) == "d.toml:14:5: PR203 promotion[2].tiers[1]: must exceed"
    assert diagnostic.to_dict() == {
        "file": "d.toml",
        "line": 14,
        "column": 5,
        "code": "PR203",
        "severity": "error",
        "path": "promotion[2].tiers[1]",
        "message": "must exceed",
    }
    assert str(Diagnostic("PR001", "cannot read", (), "x.toml")) == "x.toml:1:1: PR001 cannot read"
    assert format_path(("a", 0, "b", "c", 3)) == "a[0].b.c[3]"


def test_collector_falls_back_to_the_nearest_located_ancestor() -> None:
    collector = Collector("f.toml", {("promotion", 1): (9, 1), ("promotion",): (2, 1)})
    collector.add("PR102", "missing", ("promotion", 1, "kind"))
    collector.add("PR102", "missing", ("campaign",))
    collector.add("PR101", "later", ("promotion", 1, "x"), warning=True)
    first, second, third = collector.diagnostics()
    assert (first.line, first.column) == (1, 1)  # sorted by position: campaign first
    assert (second.line, third.line) == (9, 9)
    assert collector.has_errors
    with pytest.raises(RulesetError) as caught:
        collector.raise_if_errors()
    assert str(caught.value).endswith("(and 2 more)")


def test_diagnostics_name_promotions_by_id(monkeypatch: pytest.MonkeyPatch) -> None:
    (only,) = _diagnostics("funding-not-100", monkeypatch)
    assert only.path == ("promotion", 0, "funded_by")  # the key path itself is unchanged
    assert 'PR205 promotion "every-300".funded_by: ' in str(only)
    assert only.to_dict()["path"] == 'promotion "every-300".funded_by'


def test_a_promotion_without_a_usable_id_is_named_by_its_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (duplicate,) = _diagnostics("duplicate-ids", monkeypatch)  # two share it: ambiguous
    assert duplicate.shown_path == "promotion[1].id"
    assert "first used by promotion[0] on line 7" in duplicate.message
    (malformed,) = _diagnostics("id-newline", monkeypatch)
    assert malformed.shown_path == "promotion[0].id"


def test_one_broken_promotion_causes_no_errors_in_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    diagnostics = _diagnostics("one-bad-promotion", monkeypatch)
    # "ladder" (bad funded_by) and "weird" (unknown kind) are dropped, yet naming them in
    # not_with or [simulate] is right; naming "ghost", which nobody declared, is not
    assert [(d.code, d.shown_path) for d in diagnostics] == [
        ("PR103", 'promotion "ladder".funded_by.platfrom'),
        ("PR201", 'promotion "weird".kind'),
        ("PR204", 'promotion "every-300".not_with[2]'),
        ("PR204", 'promotion "every-300".lane'),
    ]
    # the third promotion's problems are located in it, not in the first one's table
    source = (BROKEN / "one-bad-promotion.toml").read_text(encoding="utf-8").splitlines()
    assert source[diagnostics[-1].line - 1].startswith('lane = "price"')


def test_a_duplicate_of_a_broken_promotion_is_still_reported() -> None:
    base = '[campaign]\nname = "x"\ncurrency = "CNY"\ntimezone = "UTC"\n'
    text = (
        base
        + '[[promotion]]\nid = "a"\nkind = "tiered"\nthreshold = 3.5\noff = "1"\n'
        + '[[promotion]]\nid = "a"\nkind = "tiered"\nthreshold = "3"\noff = "1"\n'
    )
    with pytest.raises(RulesetError) as caught:
        parse_ruleset(text, KINDS)
    assert sorted(d.code for d in caught.value.diagnostics) == ["PR104", "PR202"]


def test_format_path_shows_named_prefixes() -> None:
    names: dict[KeyPath, str] = {("promotion", 2): 'promotion "d11-ladder"'}
    assert format_path(("promotion", 2, "tiers", 1), names) == 'promotion "d11-ladder".tiers[1]'
    assert format_path(("promotion", 3, "tiers"), names) == "promotion[3].tiers"
    assert format_path(("promotion",), names) == "promotion"
