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
import types
from pathlib import Path
from typing import Any

import pytest

from promorules.cli import main
from promorules.engine import Engine
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


def test_the_example_kind_of_docs_plugins_md_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    source = ROOT / "docs" / "plugins.md"
    (block,) = fenced(source.read_text(encoding="utf-8"), "python")
    module = types.ModuleType("cashback")
    monkeypatch.setitem(sys.modules, "cashback", module)  # where attrs resolves its types
    _run([block], source, module.__dict__)
    engine = Engine.from_string(
        '[campaign]\nname = "x"\ncurrency = "CNY"\ntimezone = "UTC"\n'
        '[[promotion]]\nid = "back-10"\nkind = "cashback"\noff = "10.00"\n',
        plugins=[module],
    )
    from datetime import datetime, timezone

    from promorules.cart import Cart, Context, Line

    cart = Cart(lines=[Line("A", 1, unit_price=6000), Line("B", 2, unit_price=2000)])
    quote = engine.price(cart, Context(at=datetime(2026, 1, 1, tzinfo=timezone.utc)))
    assert quote.payable == 10000 - 1000
    assert [line.payable for line in quote.lines] == [5400, 3600]
