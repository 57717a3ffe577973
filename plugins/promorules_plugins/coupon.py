"""The ``coupon`` kind: discounts a customer unlocks by presenting a code.

Rewards: a fixed amount (``off = "20.00"``), with or without a ``threshold`` ("100 off
20"), or a share of the base (``percent = "10%"``) with an optional ``max_off`` cap. A
coupon measures on every line in its scope, pooled (one coupon, one use, one discount);
it never gives more than that base, and its discount is spread over those lines in
proportion to their amounts, so no line gets more than it has and nothing moves to
lines outside the scope.

Lanes: ``store`` (the default: a store coupon, funded by the merchant) or ``platform``
(a platform coupon, funded by the platform). Scope, validity window or phases, segments
and channels are the common promotion fields.

Codes, exactly one of:

- ``code``: one shared code anyone may present (``single_use`` must stay false);
- ``codes``: an explicit list;
- ``codes_file``: a file of issued codes, one a line (``#`` comments), its path relative
  to the ruleset file (to the working directory for a ruleset not read from a file);
  made by ``promorules coupons generate``. With ``series`` (the prefix) and
  ``series_length`` (random characters, default 10) every listed code must carry a
  valid check character, and a presented code of the series whose check fails is
  reported as mistyped rather than unknown.

Codes compare normalised (case, spaces and dashes ignored). Codes of a list or file are
single-use by default: each is a ledger counter ``coupon_code_uses:<id>:<CODE>`` that
starts at 1. ``uses`` limits the total (``coupon_uses:<id>:``), ``uses_per_customer``
each customer (``coupon_customer_uses:<id>:<customer>``); pricing reads what is left
from the availability snapshot and lists one use of each on the offer.

Combining: unless ``stackable = true`` or a ``group`` is declared, coupons take an
implicit exclusive group: one store coupon per store (per set of ``merchants``) and one
platform coupon per order. The engine keeps the combination worth most to the customer.
Declared incompatibilities (``not_with``, e.g. a platform's threshold and no-threshold
coupons) hold as for every kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path as FilePath

import attrs

from promorules import hookimpl
from promorules.counters import ANY_SUBJECT, CounterKey, CounterKind, CounterSpec
from promorules.coupon_codes import (
    DEFAULT_LENGTH,
    MAX_COUNT,
    MAX_LENGTH,
    CodeError,
    Series,
    normalise,
    one_slip_apart,
    read_codes,
)
from promorules.diagnostics import Collector, Problem, RulesetError
from promorules.kind import CodeMatch, CodeMatcher, CompileEnv, Kind, Lane
from promorules.model import AmountOff, Condition, PercentOff, Rule, Uses
from promorules.ruleset import Amount, Promotion, Rate, Ruleset

MAX_CODE_LENGTH = 64
"""Longest code a ruleset may declare (the longest a customer may present)."""
MAX_CODES_FILE_BYTES = 64 * 1024 * 1024
EXAMPLE_CODES = 20
"""Most codes of an explicit list offered to the validator's wallets: a few stand for all."""
EXAMPLE_FILE_CODES = 2
"""Codes of a loaded codes file offered to the validator's wallets."""
NEAR_MISS_LIMIT = 200
"""Lists up to this size are searched for a code one typing slip away; bigger lists
rely on a series' check character instead."""


@attrs.frozen
class CouponConfig:
    off: Amount | None = None
    """A fixed amount off the coupon's lines (give this or ``percent``)."""
    percent: Rate | None = None
    """A share off the coupon's lines (on the lane's base)."""
    max_off: Amount | None = None
    """Cap of a percent coupon."""
    threshold: Amount | None = None
    """The coupon's lines must add up to at least this (on the lane's base)."""
    code: str | None = None
    """One shared code that every customer presents."""
    codes: tuple[str, ...] = ()
    """An explicit list of issued codes."""
    codes_file: str | None = None
    """A file of issued codes, one a line (path relative to the ruleset), as made by
    ``promorules coupons generate``."""
    series: str | None = None
    """The prefix of generated codes: listed codes must carry a valid check character, and
    a presented code of the series that fails it is reported as mistyped."""
    series_length: int = DEFAULT_LENGTH
    """The length of the random part of the series' codes."""
    single_use: bool | None = None
    """Each code once; default true for ``codes``/``codes_file``, false for ``code``."""
    uses: int | None = None
    """Total uses across all customers (a ledger counter, read from its snapshot)."""
    uses_per_customer: int | None = None
    """Uses per customer (a ledger counter, read from its snapshot)."""
    with_shipping: bool = False
    """The shipping fee counts in the coupon's base: its threshold, percent and
    ``max_off`` measure goods plus shipping, and its share of the discount comes off the
    fee ("10% off the order, shipping included")."""
    stackable: bool = False
    """True: no implicit one-per-store / one-per-order group. Without it a coupon shares
    an implicit group: one store coupon per store (per ``merchants`` set), one platform
    coupon per order."""

    def is_single_use(self) -> bool:
        return self.single_use if self.single_use is not None else self.code is None


class Coupon(Kind):
    name = "coupon"
    config_type = CouponConfig
    lanes = (Lane.STORE, Lane.PLATFORM)
    summary = "coupon codes: threshold, no-threshold or percent-with-cap; store or platform"

    def __init__(self) -> None:
        # codes files are read once per engine: compile() and code_matcher() share them
        self._books: dict[int, tuple[Promotion, frozenset[str]]] = {}

    # -- checking --------------------------------------------------------------------
    def check(self, promotion: Promotion) -> Iterable[Problem]:
        config: CouponConfig = promotion.config
        if (config.off is None) == (config.percent is None):
            yield Problem("PR203", "give exactly one reward: off (amount) or percent")
        if config.off is not None and config.off <= 0:
            yield Problem("PR203", "off must be positive", ("off",))
        if config.percent is not None and not (0 < config.percent <= 1):
            yield Problem("PR105", "percent must lie in (0%, 100%]", ("percent",))
        if config.max_off is not None:
            if config.percent is None:
                yield Problem("PR203", "max_off caps a percent coupon; use off", ("max_off",))
            elif config.max_off <= 0:
                yield Problem("PR203", "max_off must be positive", ("max_off",))
        if config.threshold is not None and config.threshold <= 0:
            yield Problem("PR203", "a threshold must be positive", ("threshold",))
        sources = [
            name
            for name, given in (
                ("code", config.code is not None),
                ("codes", bool(config.codes)),
                ("codes_file", config.codes_file is not None),
            )
            if given
        ]
        if len(sources) != 1:
            yield Problem("PR203", "give exactly one of code, codes or codes_file")
        if config.code is not None:
            yield from _check_code(config.code, ("code",))
            if config.single_use:
                yield Problem(
                    "PR203",
                    "a shared code is used by many customers; give codes or codes_file "
                    "for single-use codes",
                    ("single_use",),
                )
        series = None
        if config.series is not None:
            try:
                series = Series(config.series, config.series_length)
            except CodeError as exc:
                yield Problem("PR203", str(exc), ("series",))
            if config.code is not None:
                yield Problem("PR203", "a series goes with codes or codes_file", ("series",))
        if not 1 <= config.series_length <= MAX_LENGTH:
            yield Problem(
                "PR203", f"series_length lies between 1 and {MAX_LENGTH}", ("series_length",)
            )
            series = None
        seen: dict[str, int] = {}
        for index, code in enumerate(config.codes):
            problems = list(_check_code(code, ("codes", index)))
            yield from problems
            normal = normalise(code)
            if normal in seen:
                yield Problem(
                    "PR203",
                    f"duplicate of codes[{seen[normal]}] (codes ignore case and dashes)",
                    ("codes", index),
                )
            seen.setdefault(normal, index)
            if series is not None and not problems and not series.well_formed(normal):
                yield Problem(
                    "PR203",
                    f"not a code of series {series.prefix} (check character)",
                    ("codes", index),
                )
        if config.codes_file is not None and not config.codes_file.strip():
            yield Problem("PR103", "codes_file names no file", ("codes_file",))
        for name, limit in (("uses", config.uses), ("uses_per_customer", config.uses_per_customer)):
            if limit is not None and limit < 1:
                yield Problem("PR203", f"{name} must be at least 1", (name,))

    def lint(self, promotion: Promotion, ruleset: Ruleset) -> Iterable[Problem]:
        config: CouponConfig = promotion.config
        threshold = config.threshold
        if config.off is not None and threshold is not None and config.off >= threshold:
            yield Problem(
                "PR402",
                "the discount is at or above its threshold: an order that just reaches it is free",
                ("off",),
            )
        if (
            config.percent is not None
            and config.percent >= 1
            and (config.max_off is None or (threshold is not None and config.max_off >= threshold))
        ):
            yield Problem(
                "PR402", "100% off: an order this coupon applies to is free", ("percent",)
            )

    def example_codes(self, promotion: Promotion) -> Iterable[str]:
        config: CouponConfig = promotion.config
        if config.code is not None:
            return (normalise(config.code),)
        if config.codes:
            return tuple(normalise(code) for code in config.codes[:EXAMPLE_CODES])
        # a codes file is read when the engine compiles the promotion; unread, it offers none
        cached = self._books.get(id(promotion))
        if cached is None or cached[0] is not promotion:
            return ()
        return tuple(sorted(cached[1])[:EXAMPLE_FILE_CODES])

    # -- pricing ---------------------------------------------------------------------
    def implicit_group(self, promotion: Promotion, lane: Lane) -> str | None:
        config: CouponConfig = promotion.config
        if config.stackable:
            return None
        if lane is Lane.STORE:
            return "coupon:store:" + ",".join(sorted(promotion.merchants))
        return f"coupon:{lane.value}"

    def rule(self, promotion: Promotion, env: CompileEnv) -> Rule:
        config: CouponConfig = promotion.config
        pid = promotion.id
        benefit: AmountOff | PercentOff
        if config.off is not None:
            benefit = AmountOff(config.off)
        else:
            benefit = PercentOff(Fraction(config.percent or 0))
        uses = Uses(
            total=CounterKey(CounterKind.COUPON_USES, pid) if config.uses is not None else None,
            per_customer=(
                CounterKey(CounterKind.COUPON_CUSTOMER_USES, pid, ANY_SUBJECT)
                if config.uses_per_customer is not None
                else None
            ),
            per_code=(
                CounterKey(CounterKind.COUPON_CODE_USES, pid, ANY_SUBJECT)
                if config.is_single_use()
                else None
            ),
        )
        condition = Condition(min_amount=config.threshold or 0, codes=self._codes(promotion, env))
        return Rule(
            benefit,
            condition,
            cap=config.max_off,
            uses=uses,
            final_payment=True,
            with_shipping=config.with_shipping,
        )

    def code_matcher(self, promotion: Promotion, env: CompileEnv) -> CodeMatcher | None:
        config: CouponConfig = promotion.config
        codes = self._codes(promotion, env)
        series = Series(config.series, config.series_length) if config.series is not None else None
        near = codes if len(codes) <= NEAR_MISS_LIMIT else frozenset()

        def match(presented: str) -> CodeMatch | None:
            if presented in codes:
                return CodeMatch.EXACT
            if series is not None and series.resembles(presented):
                return CodeMatch.MISTYPED
            if near and any(one_slip_apart(presented, code) for code in near):
                return CodeMatch.MISTYPED
            return None

        return match

    def counters(self, promotion: Promotion) -> Iterable[CounterSpec]:
        config: CouponConfig = promotion.config
        pid = promotion.id
        if config.uses is not None:
            yield CounterSpec(CounterKey(CounterKind.COUPON_USES, pid), config.uses)
        if config.uses_per_customer is not None:
            yield CounterSpec(
                CounterKey(CounterKind.COUPON_CUSTOMER_USES, pid, ANY_SUBJECT),
                config.uses_per_customer,
            )
        if config.is_single_use():
            yield CounterSpec(CounterKey(CounterKind.COUPON_CODE_USES, pid, ANY_SUBJECT), 1)

    # -- codes -----------------------------------------------------------------------
    def _codes(self, promotion: Promotion, env: CompileEnv) -> frozenset[str]:
        cached = self._books.get(id(promotion))
        if cached is not None and cached[0] is promotion:
            return cached[1]
        config: CouponConfig = promotion.config
        if config.code is not None:
            codes = frozenset((normalise(config.code),))
        elif config.codes:
            codes = frozenset(normalise(code) for code in config.codes)
        else:
            codes = _load_codes_file(promotion, env)
        self._books[id(promotion)] = (promotion, codes)
        return codes


def _check_code(code: str, path: tuple[str | int, ...]) -> Iterable[Problem]:
    normal = normalise(code)
    if not normal:
        yield Problem("PR203", "a code needs at least one letter or digit", path)
    elif len(code) > MAX_CODE_LENGTH:
        yield Problem("PR203", f"a code is at most {MAX_CODE_LENGTH} characters", path)


def _load_codes_file(promotion: Promotion, env: CompileEnv) -> frozenset[str]:
    """The normalised codes of ``codes_file``; a located RulesetError if it cannot serve."""
    config: CouponConfig = promotion.config
    assert config.codes_file is not None
    ruleset = env.ruleset
    index = next(i for i, p in enumerate(ruleset.promotions) if p is promotion)
    at = ("promotion", index, "codes_file")
    out = Collector(ruleset.source, dict(ruleset.positions))
    path = FilePath(config.codes_file)
    if not path.is_absolute() and not ruleset.source.startswith("<"):
        path = FilePath(ruleset.source).parent / path
    series = Series(config.series, config.series_length) if config.series is not None else None
    codes: set[str] = set()
    try:
        size = path.stat().st_size
        if size > MAX_CODES_FILE_BYTES:
            raise OSError(f"{size} bytes; a codes file is at most {MAX_CODES_FILE_BYTES}")
        with path.open(encoding="utf-8") as handle:
            for number, code in read_codes(handle):
                if not code or len(code) > MAX_CODE_LENGTH:
                    out.add("PR203", f"{path.name} line {number}: not a code", at)
                elif series is not None and not series.well_formed(code):
                    out.add(
                        "PR203",
                        f"{path.name} line {number}: not a code of series {series.prefix} "
                        "(prefix, length or check character)",
                        at,
                    )
                elif code in codes:
                    out.add("PR203", f"{path.name} line {number}: duplicate code", at)
                else:
                    codes.add(code)
                if len(out.problems) >= 20 or len(codes) > MAX_COUNT:
                    break
    except (OSError, UnicodeDecodeError) as exc:
        out.add("PR001", f"cannot read codes file {config.codes_file!r}: {exc}", at)
    if len(codes) > MAX_COUNT:
        out.add("PR203", f"more than {MAX_COUNT:,} codes in one file", at)
    if not codes and not out.problems:
        out.add("PR203", f"codes file {config.codes_file!r} holds no code", at)
    if out.problems:
        raise RulesetError(out.diagnostics())
    return frozenset(codes)


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(Coupon())
