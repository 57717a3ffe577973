"""A promotion kind for tests only: a cut per unit while a stock lasts.

It reads and consumes a counter the way flash sales and gifts do, so the replay's
handling of stock (running out at the right order, exact under parallel replay) can be
tested on this branch without depending on those kinds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from promorules import hookimpl
from promorules.counters import CounterKey, CounterKind, CounterSpec
from promorules.kind import CompileEnv, Evaluator, Kind, Lane, NotApplied, Offer, PricingState
from promorules.ruleset import Amount, Promotion


@attrs.frozen
class UnitCutConfig:
    off: Amount | None = None
    stock: int = 0


class UnitCut(Kind):
    name = "unitcut"
    config_type = UnitCutConfig
    lanes = (Lane.ITEM,)
    summary = "test kind: a cut per unit while stock lasts"

    def counters(self, promotion: Promotion) -> Iterable[CounterSpec]:
        config: UnitCutConfig = promotion.config
        return (CounterSpec(CounterKey(CounterKind.FLASH_STOCK, promotion.id), config.stock),)

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        config: UnitCutConfig = promotion.config
        key = CounterKey(CounterKind.FLASH_STOCK, promotion.id)

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            left = state.availability.remaining(key)
            left = config.stock if left is None else left
            if left <= 0:
                return NotApplied("out-of-stock")
            out_lines, amounts, units = [], [], 0
            for i in lines:
                take = min(state.qty[i], left - units)
                if take <= 0:
                    break
                out_lines.append(i)
                amounts.append(take * (config.off or 0))
                units += take
            return Offer(out_lines, amounts, consumes=[(key, units)])

        return evaluate


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(UnitCut())
