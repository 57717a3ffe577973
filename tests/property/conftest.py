"""The soundness properties report how many random rulesets they checked."""

from __future__ import annotations

import sys

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    module = sys.modules.get("tests.property.test_soundness")
    if module is None:
        return
    text: str = module.report()
    if text:
        terminalreporter.write_sep("-", "soundness")
        terminalreporter.write_line(text)
