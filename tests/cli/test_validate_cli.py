"""``promorules validate`` and ``promorules schema`` from the command line."""

from __future__ import annotations

import json
import shlex
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from promorules.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CORPUS = Path(__file__).parent.parent / "validate" / "corpus"
ROOT = Path(__file__).parent.parent.parent


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args, "--examples", "200", "--quiet"])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_proven_ruleset_exits_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = validate(
        capsys,
        str(CORPUS / "safe-tiered.toml"),
        "--catalog",
        str(CORPUS / "safe.csv"),
        "--out",
        str(tmp_path),
    )
    assert code == 0, out
    assert "order margin >= 5%: PROVEN" in out
    assert "line margin >= 0%: PROVEN" in out
    assert "rests on: store-ladder" in out


def test_a_breach_exits_1_and_its_command_reproduces_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ruleset, catalog = CORPUS / "every-low-margin.toml", CORPUS / "every-low-margin.csv"
    code, out, _ = validate(capsys, str(ruleset), "--catalog", str(catalog), "--out", str(tmp_path))
    assert code == 1
    assert "order margin >= 5%: BREACHED" in out
    assert "3 x RICE at 100.00" in out
    command = next(line for line in out.splitlines() if "reproduce:" in line)
    words = shlex.split(command.split("reproduce:", 1)[1])
    assert words[:2] == ["promorules", "price"]
    assert main([*words[1:], "--format", "json"]) == 0  # clamp holds it at checkout
    quote = json.loads(capsys.readouterr().out)[0]
    assert quote["totals"]["list"] == "300.00"
    assert quote["guardrail"]["status"] == "clamped"


def test_json_carries_the_same_findings(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = validate(
        capsys,
        str(CORPUS / "three-stores.toml"),
        "--catalog",
        str(CORPUS / "three-stores.csv"),
        "--max-quantity",
        "1",
        "--format",
        "json",
        "--out",
        str(tmp_path),
    )
    assert code == 1
    data = json.loads(out)
    assert data["exit_code"] == 1
    assert data["limits"] == {"max_lines": 6, "max_quantity": 1}
    (order,) = data["guardrails"]
    assert order["status"] == "breached"
    lines = order["breach"]["cart"]["lines"]
    assert sorted(line["merchant"] for line in lines) == ["store-a", "store-b", "store-c"]
    assert order["breach"]["short"] == "15.00"  # 210.00 paid, cost 225.00, floor 0%


@pytest.mark.parametrize(
    "args",
    [
        ["missing.toml"],
        [str(CORPUS / "safe-tiered.toml"), "--catalog", "missing.csv"],
        [str(CORPUS / "safe-tiered.toml"), "--max-lines", "0"],
        [str(CORPUS / "safe-tiered.toml"), "--max-lines", "10001"],  # past Cart's MAX_LINES
        [str(CORPUS / "safe-tiered.toml"), "--examples", "lots"],
    ],
)
def test_bad_input_exits_2_without_a_traceback(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    with pytest.raises(SystemExit) if "--max-lines" in args or "lots" in args else _nothing():
        code = main(["validate", *args])
        assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err


def test_bad_input_as_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[campaign]\nname = "x"\ncurrency = "CNY"\ntimezone = "UTC"\nbogus = 1\n')
    assert main(["validate", str(broken), "--format", "json"]) == 2
    (diagnostic,) = json.loads(capsys.readouterr().out)
    assert (diagnostic["code"], diagnostic["line"]) == ("PR101", 5)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _plain(value: Any) -> Any:
    """TOML values as a JSON Schema validator sees them (date-times as strings)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def test_schema_accepts_the_bundled_ruleset_and_flags_typos(
    capsys: pytest.CaptureFixture[str],
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    data = _plain(tomllib.loads((ROOT / "rulesets" / "double11.toml").read_text()))
    assert list(validator.iter_errors(data)) == []
    ids = [promotion["id"] for promotion in data["promotion"]]
    ladder, every = ids.index("lumi-ladder"), ids.index("hearth-every-200")
    data["promotion"][ladder]["tirs"] = []
    data["promotion"][every]["mode"] = "evry"
    data["guardrails"]["on_breach"] = "shrug"
    data["catalog"] = {"categories": {"home": {"margin": "20"}}}
    errors = {tuple(e.absolute_path): e.message for e in validator.iter_errors(data)}
    assert set(errors) == {
        ("promotion", ladder),
        ("promotion", every, "mode"),
        ("guardrails", "on_breach"),
        ("catalog", "categories", "home", "margin"),
    }
    assert "'tirs' was unexpected" in errors[("promotion", ladder)]


def test_schema_writes_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "ruleset.schema.json"
    assert main(["schema", "--output", str(target)]) == 0
    schema = json.loads(target.read_text())
    branches = schema["properties"]["promotion"]["items"]["allOf"]
    (tiered,) = [b["then"] for b in branches if b["if"]["properties"]["kind"]["const"] == "tiered"]
    # the kind's own fields, with their docstrings, beside the common ones
    assert "per pool" in tiered["properties"]["cap"]["description"]
    assert tiered["properties"]["mode"]["enum"] == ["ladder", "every"]
    assert "not_with" in tiered["properties"]
    assert tiered["additionalProperties"] is False


def _beyond_limits(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> int:
    code, _, _ = validate(
        capsys,
        str(CORPUS / "gift-beyond-limits.toml"),
        "--catalog",
        str(CORPUS / "gift-beyond-limits.csv"),
        "--out",
        str(tmp_path),
        *args,
    )
    return code


def test_unproven_has_its_own_exit_code_and_fail_on_breached_lets_it_pass(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # a real breach (six units bring the gift) beyond a search of five units: UNPROVEN
    assert _beyond_limits(capsys, tmp_path) == 3
    assert _beyond_limits(capsys, tmp_path, "--fail-on", "unproven") == 3
    assert _beyond_limits(capsys, tmp_path, "--fail-on", "breached") == 0
    # within reach of the search it is BREACHED: 1 whatever --fail-on says
    assert _beyond_limits(capsys, tmp_path, "--max-quantity", "6") == 1
    assert _beyond_limits(capsys, tmp_path, "--max-quantity", "6", "--fail-on", "breached") == 1
    code, out, _ = validate(
        capsys,
        str(CORPUS / "gift-beyond-limits.toml"),
        "--catalog",
        str(CORPUS / "gift-beyond-limits.csv"),
        "--fail-on",
        "breached",
        "--format",
        "json",
    )
    assert code == 0
    data = json.loads(out)
    assert (data["exit_code"], data["fail_on"]) == (0, "breached")
    assert data["guardrails"][0]["status"] == "unproven"


def test_a_lint_error_exits_1_even_under_fail_on_breached(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ruleset = tmp_path / "free-gift.toml"
    text = (CORPUS / "gift-beyond-limits.toml").read_text()
    ruleset.write_text(text.replace('unit_cost = "100.00"', 'unit_cost = "0.00"'))
    code, out, _ = validate(
        capsys,
        str(ruleset),
        "--catalog",
        str(CORPUS / "gift-beyond-limits.csv"),
        "--fail-on",
        "breached",
        "--out",
        str(tmp_path),
    )
    assert "PR411" in out
    assert code == 1


def test_fail_on_takes_only_its_two_values(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["validate", str(CORPUS / "safe-tiered.toml"), "--fail-on", "proven"])
    assert raised.value.code == 2
    assert "invalid choice: 'proven'" in capsys.readouterr().err
