"""The two value types a ruleset's tables are written in, shared by every table's class
(:mod:`promorules.ruleset`, :mod:`promorules.goals`) and read by the loader's converter."""

from __future__ import annotations

from fractions import Fraction
from typing import NewType

Amount = NewType("Amount", int)
"""Money in a ruleset: written "299.00" or 299, held as minor units of its currency."""
Rate = NewType("Rate", Fraction)
"""A share written "12.5%", held exactly."""
