"""The README's code is run, so what a new user copies works as written.

Every ```python block of README.md runs, in order, in one namespace (the second block
goes on from the first, as a reader would), in a scratch directory that sees the
bundled ``rulesets/``; a failure's traceback points at the README's own lines. The two
shell commands are held true: the price command runs, and the test command names an
extra that exists. docs/plugins.md's example kind is loaded and priced with.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from promorules.cli import main
from tests.markdown import fenced

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _run(blocks: list[tuple[int, str]], source: Path, namespace: dict[str, Any]) -> None:
    for line, code in blocks:
        # padded so that the code's line numbers are the file's
        exec(compile("\n" * (line - 1) + code, str(source), "exec"), namespace)


def test_every_python_block_of_the_readme_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = fenced(README.read_text(encoding="utf-8"), "python")
    assert len(blocks) == 2
    (tmp_path / "rulesets").symlink_to(ROOT / "rulesets")
    monkeypatch.chdir(tmp_path)  # the ledger's file lands here, not in the repository
    namespace: dict[str, Any] = {"__name__": "readme"}
    try:
        _run(blocks, README, namespace)
    finally:
        if "ledger" in namespace:
            namespace["ledger"].close()
    quote = namespace["quote"]
    applied = {e.promotion for e in quote.explanations if e.amount}
    assert "lumi-coupon" in applied  # the snippet's coupon did apply at its time
    assert namespace["ledger"].reservations()  # and the order's hold was taken
    assert (tmp_path / "ledger.db").is_file()


def _commands() -> list[list[str]]:
    blocks = fenced(README.read_text(encoding="utf-8"), "sh")
    return [[shlex.split(part) for part in code.strip().split(" && ")][-1] for _, code in blocks]


def test_the_readmes_price_command_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    price, _ = _commands()
    assert price[0] == ".venv/bin/promorules"
    monkeypatch.chdir(ROOT)
    assert main(price[1:]) == 0
    assert "payable" in capsys.readouterr().out.lower()


def test_the_readmes_test_command_names_a_real_extra() -> None:
    blocks = fenced(README.read_text(encoding="utf-8"), "sh")
    install = shlex.split(blocks[1][1].split(" && ")[1])
    assert install[:4] == [".venv/bin/pip", "install", "-q", "-e"]
    extra = install[4].removeprefix(".[").removesuffix("]")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "pytest" in " ".join(project["optional-dependencies"][extra])
    assert _commands()[1] == [".venv/bin/python", "-m", "pytest", "-q"]


# the two kinds of docs/plugins.md are priced by tests/unit/test_plugin_docs.py
