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

import enum
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path as FilePath

import attrs

from promorules import hookimpl
from promorules.counters import ANY_SUBJECT, Availability, CounterKey, CounterKind, CounterSpec
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
from promorules.kind import (
    QUIET,
    Bound,
    CodeMatch,
    CodeMatcher,
    CompileEnv,
    Evaluator,
    Kind,
    Lane,
    NotApplied,
    Offer,
    PricingState,
    Reason,
    Source,
)
from promorules.money import Rounding, allocate, apply_rate, format_amount, format_percent
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


class CouponReason(str, enum.Enum):
    """Reasons particular to coupons (beside the common :class:`Reason` codes)."""

    EXHAUSTED = "exhausted"
    """Every use of the coupon is taken."""
    CUSTOMER_LIMIT = "customer-limit-reached"
    """This customer has no use of it left."""
    CUSTOMER_REQUIRED = "customer-required"
    """Limited per customer, and the cart names no customer."""
    CODE_USED = "code-used"
    """The single-use code presented has been used."""


@attrs.frozen
class CouponConfig:
    off: Amount | None = None
    percent: Rate | None = None
    max_off: Amount | None = None
    """Cap of a percent coupon."""
    threshold: Amount | None = None
    """The coupon's lines must add up to at least this (on the lane's base)."""
    code: str | None = None
    codes: tuple[str, ...] = ()
    codes_file: str | None = None
    series: str | None = None
    series_length: int = DEFAULT_LENGTH
    single_use: bool | None = None
    """Each code once; default true for ``codes``/``codes_file``, false for ``code``."""
    uses: int | None = None
    uses_per_customer: int | None = None
    stackable: bool = False
    """True: no implicit one-per-store / one-per-order group."""

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

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        config: CouponConfig = promotion.config
        codes = self._codes(promotion, env)
        pid = promotion.id
        threshold = config.threshold
        fixed = config.off
        ratio = (
            None
            if config.percent is None
            else (config.percent.numerator, config.percent.denominator)
        )
        cap = config.max_off
        rounding = env.rounding
        currency = env.currency
        single_use = config.is_single_use()
        total_key = CounterKey(CounterKind.COUPON_USES, pid) if config.uses is not None else None
        per_customer = config.uses_per_customer is not None

        def money(minor: int) -> str:
            return format_amount(minor, currency)

        reward = (
            money(fixed) + " off"
            if fixed is not None
            else (
                f"{format_percent(config.percent or Fraction(0))} off"
                + (f" (at most {money(cap)})" if cap is not None else "")
            )
        )

        reached = f"{money(threshold)} reached" if threshold is not None else "no threshold"

        limited = per_customer or total_key is not None or single_use

        def claim(
            state: PricingState, mine: list[str]
        ) -> tuple[list[tuple[CounterKey, int]], list[str]] | NotApplied:
            """The uses a quote would take (one of each limit), and the presented codes
            still usable; a NotApplied when a limit is reached."""
            availability = state.availability
            consumes: list[tuple[CounterKey, int]] = []
            if per_customer:
                customer = state.customer.id
                if not customer:
                    return NotApplied(
                        CouponReason.CUSTOMER_REQUIRED,
                        "limited per customer, and the cart names no customer",
                    )
                key = CounterKey(CounterKind.COUPON_CUSTOMER_USES, pid, customer)
                left = availability.remaining(key)
                if left is not None and left <= 0:
                    return NotApplied(
                        CouponReason.CUSTOMER_LIMIT, "this customer has no use of it left"
                    )
                consumes.append((key, 1))
            if total_key is not None:
                left = availability.remaining(total_key)
                if left is not None and left <= 0:
                    return NotApplied(CouponReason.EXHAUSTED, "every use of it is taken")
                consumes.append((total_key, 1))
            if single_use:
                fresh = [code for code in mine if _left(availability, pid, code)]
                if not fresh:
                    return NotApplied(CouponReason.CODE_USED, "its code has been used")
                mine = fresh
                consumes.append((CounterKey(CounterKind.COUPON_CODE_USES, pid, mine[0]), 1))
            return consumes, mine

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            explain = state.explain
            if codes.isdisjoint(state.coupons):
                if not explain:
                    return QUIET
                return NotApplied(Reason.NOT_PRESENTED, "its code was not presented")
            # the presented codes it matches: named only by an explained offer, and by
            # the single-use counter (the figures alone, without limits, need neither)
            mine = [code for code in state.coupons if code in codes] if explain or limited else []
            consumes: list[tuple[CounterKey, int]] | None = None
            if limited:
                claimed = claim(state, mine)
                if isinstance(claimed, NotApplied):
                    return claimed
                consumes, mine = claimed
            amounts = state.amounts
            weights = [amounts[i] for i in lines]
            base = sum(weights)
            if base <= 0:
                return NotApplied(
                    Reason.NOTHING_LEFT, "earlier promotions left nothing to discount"
                )
            if threshold is not None and base < threshold:
                if not explain:
                    return QUIET
                shortfall = threshold - base
                hint = env.upsell(shortfall, threshold, reward)
                return NotApplied(
                    Reason.BELOW_THRESHOLD,
                    f"its lines come to {money(base)}, below its threshold {money(threshold)}",
                    hint,
                )
            capped = False
            off: int
            if fixed is not None:
                off = fixed
            else:
                assert ratio is not None
                off = apply_rate(base, ratio[0], ratio[1], rounding)
                if cap is not None and off > cap:
                    off, capped = cap, True
            limited_to_base = off > base
            if limited_to_base:
                off = base
            if off <= 0:
                if not explain:
                    return QUIET
                return NotApplied(Reason.NOTHING_LEFT, "its share of so small a base is zero")
            if not explain:
                if consumes is None:  # no limits: no keyword to pass
                    return Offer(lines, allocate(off, weights))
                return Offer(lines, allocate(off, weights), consumes=consumes)
            notes = [reached]
            if capped:
                notes.append("capped")
            if limited_to_base:
                notes.append("limited to the amount it applies to")
            return Offer(
                list(lines),
                allocate(off, weights),
                base=base,
                detail=f"coupon {reward}, " + ", ".join(notes),
                consumes=consumes if consumes is not None else [],
                codes=(mine[0],),
            )

        return evaluate

    def source(self, promotion: Promotion, env: CompileEnv) -> Source | None:
        config: CouponConfig = promotion.config
        if (
            config.uses_per_customer is not None
            or config.uses is not None
            or config.is_single_use()
        ):
            return None  # limited: its uses are claimed from the ledger's figures
        names: dict[str, object] = {"codes": self._codes(promotion, env), "allocate": allocate}
        short = "$base <= 0"
        if config.threshold is not None:
            short += f" or $base < {config.threshold}"
        code = [
            "if $codes.isdisjoint($state.coupons):",
            "    $off = None",
            "else:",
            f"    if {short}:",
            "        $off = None",
            "    else:",
        ]
        if config.off is not None:
            code.append(f"        $given = {config.off}")
        else:
            rate = config.percent or Fraction(0)
            num, den = rate.numerator, rate.denominator
            if env.rounding is Rounding.DOWN:
                code.append(f"        $given = $base * {num} // {den}")
            else:
                names.update(rate=apply_rate, rounding=env.rounding)
                code.append(f"        $given = $rate($base, {num}, {den}, $rounding)")
            if config.max_off is not None:
                code.append(f"        if $given > {config.max_off}:")
                code.append(f"            $given = {config.max_off}")
        code.append("        if $given > $base:")
        code.append("            $given = $base")
        code.append("        $off = $allocate($given, $weights) if $given > 0 else None")
        return Source("\n".join(code), names=names)

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

    def threshold(self, promotion: Promotion) -> int:
        config: CouponConfig = promotion.config
        return config.threshold or 0

    def bound(self, promotion: Promotion) -> Bound:
        config: CouponConfig = promotion.config
        if config.percent is not None:
            rate = Fraction(config.percent)
            return Bound(
                rate=rate, cap=config.max_off, note=f"at most {format_percent(rate)} of its base"
            )
        off = config.off or 0
        if config.threshold is not None:
            rate = min(Fraction(off, config.threshold), Fraction(1))
            return Bound(rate=rate, cap=off, note=f"at most {format_percent(rate)} of its base")
        return Bound(rate=Fraction(1), cap=off, note="a fixed amount, up to its whole base")

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


def _left(availability: Availability, pid: str, code: str) -> bool:
    remaining = availability.remaining(CounterKey(CounterKind.COUPON_CODE_USES, pid, code))
    return remaining is None or remaining > 0


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
