"""Messages: what a quote says, as data, and the catalogue that words it per locale.

Every explanation, code finding and upsell hint of a quote is built from
:class:`Note` values: a stable code (``"below-threshold"``, ``"flash-sold-out"``) and
typed parameters (money as :class:`Amount`, minor units; counts as ``int``; rates as
``Fraction``; text as ``str``; other notes). Nothing is worded while a cart is priced:
the words come from a catalogue when a message is read, in the locale asked for.

The catalogues are TOML files beside this module, one per locale (``en.toml``,
``zh-CN.toml``): translators edit data, not code, and a language is added by adding a
file (see docs/quote.md). :data:`NOTES` declares every code the bundled kinds and the
engine emit, with its parameters and their types; :data:`REASONS` lists the reason
codes. A catalogue must word each of them using every parameter
(``tests/unit/test_messages.py`` holds every bundled catalogue to it).

Templates are ``str.format`` fields naming parameters: ``{amount}``. A count may pick a
word by its plural form, ``{units:unit|units}`` (the first word when the count is 1, in
a locale whose ``plural`` is ``"one-other"``; a locale without plurals, such as Chinese,
takes the first word always).
"""

from __future__ import annotations

import enum
import string
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction
from functools import cache, lru_cache
from typing import Any, TypeAlias

import attrs

from promorules.money import format_amount, format_percent, minor_units


class Amount(int):
    """A parameter that is money: an integer of minor units of the quote's currency.

    Still an ``int`` (it adds, compares and serialises as one); its type tells the
    renderer to word it as money in the locale's currency format."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Amount({int(self)})"


Param: TypeAlias = "int | str | Fraction | Note | tuple[str, ...] | tuple[Note, ...]"


@attrs.frozen(repr=False)
class Note:
    """One fact of a message: a stable code and its typed parameters.

    ``Note("below-threshold", {"threshold": Amount(29900)})``. The codes and the types of
    their parameters are declared in :data:`NOTES`."""

    code: str
    params: Mapping[str, Param] = attrs.field(factory=dict)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Note({self.code!r}{', ' if inner else ''}{inner})"

    def render(self, locale: str = "en", currency: str = "CNY") -> str:
        """The note worded in ``locale``, money in ``currency``."""
        return catalogue(locale).note(self, currency)

    def to_dict(self, currency: str) -> dict[str, Any]:
        """JSON-ready: ``{"code": ..., "params": {...}}``; money as a decimal string of
        ``currency`` (as everywhere in a quote's JSON), a rate as a percent string."""
        return {
            "code": self.code,
            "params": {name: _json(value, currency) for name, value in self.params.items()},
        }


class ParamType(str, enum.Enum):
    """The type of one parameter of a note."""

    MONEY = "money"
    """:class:`Amount`: minor units of the quote's currency."""
    COUNT = "count"
    """``int``: units, items, times."""
    PERCENT = "percent"
    """``Fraction``: a rate (0.2 is 20%)."""
    TEXT = "text"
    """``str``: a sku, a promotion id or title, a funder."""
    TEXTS = "texts"
    """``tuple[str, ...]``: listed with the locale's list separator."""
    NOTE = "note"
    """Another :class:`Note` (a reward), worded in place."""
    NOTES = "notes"
    """``tuple[Note, ...]``: listed with the locale's list separator."""


M, C, P, T, TS, N, NS = (
    ParamType.MONEY,
    ParamType.COUNT,
    ParamType.PERCENT,
    ParamType.TEXT,
    ParamType.TEXTS,
    ParamType.NOTE,
    ParamType.NOTES,
)

NOTES: dict[str, dict[str, ParamType]] = {
    # -- thresholds and limits (why a promotion gives nothing) --------------------------
    "below-threshold": {"threshold": M},
    "below-threshold-items": {"items": C},
    "below-first-tier": {"threshold": M},
    "below-first-tier-items": {"items": C},
    "above-maximum": {"maximum": M},
    "units-short": {"units": C, "needed": C},
    "funder-budget-exhausted": {"funder": T},
    "lost-to": {"winners": TS},
    "lower-price-applies": {},
    "earlier-left-nothing": {},
    "final-payment-only": {},
    "balance-below-discount": {},
    "no-shipping-fee": {},
    "shipping-already-low": {},
    "no-price-below-list": {},
    "no-unit-to-get": {},
    "cheapest-already-free": {},
    # -- what a promotion reached and gave --------------------------------------------
    "tier-reached": {"threshold": M, "reward": N},
    "tier-reached-items": {"items": C, "reward": N},
    "every-reached": {"times": C, "off": M, "step": M},
    "every-reached-items": {"times": C, "off": M, "items": C},
    "reward-given": {"reward": N},
    "reward-given-above": {"reward": N, "threshold": M},
    "capped": {},
    "limited-to-base": {},
    "shipping-waived": {"amount": M},
    "shipping-waived-above": {"amount": M, "threshold": M},
    "shipping-off": {"amount": M},
    "shipping-off-above": {"amount": M, "threshold": M},
    "unit-price": {"sku": T, "price": M},
    "adds-gifts": {"gifts": NS},
    "gift-dropped": {"sku": T},
    "gift-already-given": {"gifts": NS},
    "given-by": {"sku": T, "promotion": T},
    "gift-choice-out-of-stock": {"sku": T},
    "gift-choice-unknown": {"sku": T},
    "gifts-out-of-stock": {"skus": TS},
    "gift-options-out-of-stock": {},
    "guardrail-trimmed": {"amount": M},
    "budget-trimmed": {"amount": M},
    # -- flash sale -------------------------------------------------------------------
    "flash-price": {"sku": T, "price": M, "units": C},
    "flash-not-below-list": {"sku": T, "price": M, "list": M},
    "flash-sold-out": {"sku": T, "units": C, "left": C},
    "flash-limit-reached": {"sku": T, "units": C, "left": C, "limit": C},
    "no-flash-price": {},
    # -- pre-sale ---------------------------------------------------------------------
    "presale-terms": {"deposit": M, "worth": M, "bonus": M},
    "presale-price": {"price": M},
    "deposit-now": {},
    "deposit-paid": {},
    "deposit-covers": {"sku": T, "units": C, "quantity": C},
    "outside-presale-windows": {},
    "no-deposit-for-lines": {},
    # -- bundles, buy x get y ---------------------------------------------------------
    "bundles-formed": {"bundles": C, "bundle": N, "units": C, "count": C},
    "bundle-no-saving": {"bundle": N},
    "bxgy-applied": {"deal": N, "units": C, "count": C},
    # -- rewards (what an upsell hint or a threshold leads to) ------------------------
    "amount-off": {"amount": M},
    "percent-off": {"percent": P},
    "amount-off-each-unit": {"amount": M},
    "amount-off-each-line": {"amount": M},
    "percent-off-each-line": {"percent": P},
    "at-most": {"reward": N, "cap": M},
    "shipping-amount-off": {"amount": M},
    "shipping-percent-off": {"percent": P},
    "shipping-at": {"price": M},
    "free-shipping": {},
    "gifts": {"gifts": NS},
    "gift-of-choice": {},
    "gifts-and-choice": {"gifts": NS},
    "gift-item": {"name": T},
    "gift-items": {"name": T, "quantity": C},
    "a-unit-price": {},
    "bundle": {"size": C, "price": M},
    "another-bundle": {"size": C, "price": M},
    "units-free": {"units": C},
    "units-percent-off": {"units": C, "percent": P},
    "more-units-free": {"units": C},
    "more-units-percent-off": {"units": C, "percent": P},
    "buy-get-free": {"buy": C, "get": C},
    "buy-get-percent-off": {"buy": C, "get": C, "percent": P},
    # -- code findings ----------------------------------------------------------------
    "code-mistyped-like": {"promotion": T},
}
"""Every note code the engine and the bundled kinds emit, with its parameters."""

SENTENCES: dict[str, dict[str, ParamType]] = {
    "applied": {"amount": M, "base": M},
    "applied-no-base": {"amount": M},
    "with-details": {"text": T, "details": T},
    "measured-on": {"text": T, "base": M},
    "trimmed": {"text": T, "reason": T},
    "upsell": {"shortfall": M, "reward": N},
    "upsell-items": {"shortfall": C, "reward": N},
    "and-hint": {"text": T, "hint": T},
}
"""How a catalogue puts an explanation's parts together (its ``[sentences]``)."""

REASONS: tuple[str, ...] = (
    "out-of-window",
    "segment-not-targeted",
    "channel-not-targeted",
    "no-eligible-lines",
    "below-threshold",
    "gift-already-given",
    "lost-to-exclusive-group",
    "excluded-by-promotion",
    "nothing-left-to-discount",
    "paused",
    "budget-exhausted",
    "budget-trimmed",
    "guardrail-clamped",
    "guardrail-rejected",
    "code-not-presented",
    "limit-reached",
    "sold-out",
    "code-unknown",
    "code-mistyped",
    "code-not-used",
    "expired",
    "not-yet-valid",
    "above-maximum",
    "exhausted",
    "customer-limit-reached",
    "customer-required",
    "code-used",
    "other",
    # the bundled kinds' own
    "no-saving",
    "no-deposit-paid",
)
"""Every reason code (``Explanation.reason``): :class:`promorules.kind.Reason` and the
bundled kinds' own. Worded alone when a promotion gives nothing and says no more."""

PAYMENTS: tuple[str, ...] = ("deposit", "deposit paid", "balance", "due now")
"""The labels of :class:`promorules.quote.Payment`, worded by a catalogue's ``[payments]``."""


class LocaleError(ValueError):
    """A locale no bundled catalogue serves; the message lists those that exist."""


def locales() -> tuple[str, ...]:
    """The bundled locales, e.g. ``("en", "zh-CN")``."""
    return _locales()


@cache
def _locales() -> tuple[str, ...]:
    from importlib import resources  # read when a message is first worded, not at import

    files = resources.files(__name__).iterdir()
    return tuple(sorted(f.name[: -len(".toml")] for f in files if f.name.endswith(".toml")))


def resolve(locale: str) -> str:
    """The bundled locale serving ``locale`` (``"zh_CN"``, ``"zh-cn"``, ``"zh-Hans"``,
    ``"zh"`` -> ``"zh-CN"``; ``"en-GB"`` -> ``"en"``), or :class:`LocaleError`."""
    found = match(locale)
    if found is None:
        raise LocaleError(
            f"no messages for locale {locale[:40]!r} (bundled: {', '.join(locales())})"
        )
    return found


def match(locale: str) -> str | None:
    """Like :func:`resolve`, None when no bundled locale serves ``locale``."""
    wanted = locale.strip().replace("_", "-").lower()
    if not wanted:
        return None
    bundled = locales()
    by_lower = {name.lower(): name for name in bundled}
    if wanted in by_lower:
        return by_lower[wanted]
    language = wanted.split("-")[0]
    for name in bundled:  # same language: the first bundled region serves it
        if name.lower().split("-")[0] == language:
            return name
    return None


def negotiate(accept_language: str | None, default: str = "en") -> str:
    """The bundled locale an HTTP ``Accept-Language`` header prefers (q-values honoured;
    ``default`` when none is served)."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    for _, _, tag in sorted(ranked):
        found = match(tag)
        if found is not None:
            return found
    return default


@lru_cache(maxsize=64)  # the locale strings a service meets: a handful
def catalogue(locale: str) -> Catalogue:
    """The catalogue of ``locale`` (resolved as :func:`resolve` does), loaded once."""
    return _load(resolve(locale))


@cache
def _load(name: str) -> Catalogue:
    import sys
    from importlib import resources

    if sys.version_info >= (3, 11):  # pragma: no cover - the interpreter decides
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    text = resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return Catalogue.read(name, tomllib.loads(text))


_Parts: TypeAlias = "tuple[tuple[str, str | None, str, str], ...]"


def _compile(template: str) -> _Parts:
    """A template as ``(literal, parameter or None, one, other)`` parts: parsed once, so a
    message is filled by a join (``str.format``'s parser costs more than the rest)."""
    parts = []
    for literal, name, spec, _ in string.Formatter().parse(template):
        one, _, other = (spec or "").partition("|")
        parts.append((literal, name, one, other if spec and "|" in spec else ""))
    return tuple(parts)


@attrs.frozen
class Catalogue:
    """One locale's words: note, reason, sentence and payment templates, and how it
    writes money, rates and lists."""

    locale: str
    notes: Mapping[str, str]
    reasons: Mapping[str, str]
    sentences: Mapping[str, str]
    payments: Mapping[str, str]
    symbols: Mapping[str, str]
    money_format: str
    list_separator: str
    clause_separator: str
    plural: str
    _compiled: dict[str, _Parts] = attrs.field(factory=dict, init=False, repr=False, eq=False)
    # per currency: (minor digits, text before the amount, text after it)
    _moneys: dict[str, tuple[int, str, str]] = attrs.field(
        factory=dict, init=False, repr=False, eq=False
    )

    @classmethod
    def read(cls, locale: str, data: Mapping[str, Any]) -> Catalogue:
        head = data.get("locale", {})
        return cls(
            locale,
            dict(data.get("notes", {})),
            dict(data.get("reasons", {})),
            dict(data.get("sentences", {})),
            dict(data.get("payments", {})),
            dict(data.get("currency", {})),
            str(head.get("money", "{symbol}{amount}")),
            str(head.get("list_separator", ", ")),
            str(head.get("clause_separator", "; ")),
            str(head.get("plural", "one-other")),
        )

    def singular(self, count: int) -> bool:
        return self.plural != "one-other" or count == 1

    def money(self, minor: int, currency: str) -> str:
        """``minor`` units of ``currency`` in this locale: ``"¥1,234.50"``."""
        found = self._moneys.get(currency)
        if found is None:
            symbol = self.symbols.get(currency, f"{currency} ")
            before, _, after = self.money_format.replace("{symbol}", symbol).partition("{amount}")
            found = self._moneys[currency] = (minor_units(currency), before, after)
        digits, before, after = found
        if digits:
            whole, part = divmod(abs(minor), 10**digits)
            amount = f"{whole:,}.{part:0{digits}d}"
        else:
            amount = f"{abs(minor):,}"
        return f"{'-' if minor < 0 else ''}{before}{amount}{after}"

    def value(self, value: Any, currency: str) -> str:
        """One parameter worded by its type."""
        kind = type(value)  # exact types first: Fraction's isinstance goes through ABCMeta
        if kind is Amount:
            return self.money(value, currency)
        if kind is str:
            return value  # type: ignore[no-any-return]
        if kind is Note:
            return self.note(value, currency)
        if kind is tuple:
            return self.list_separator.join([self.value(item, currency) for item in value])
        if isinstance(value, Fraction):
            return format_percent(value)
        return str(value)

    def fill(self, template: str, params: Mapping[str, Any], currency: str) -> str:
        """``template`` with ``params`` worded in; a word choice ``{n:one|other}`` takes
        ``one`` when the count is singular in this locale."""
        parts = self._compiled.get(template)
        if parts is None:  # a race at worst compiles one twice
            parts = self._compiled[template] = _compile(template)
        out = []
        for literal, name, one, other in parts:
            out.append(literal)
            if name is None:
                continue
            value = params[name]
            if other:
                out.append(one if self.singular(int(value)) else other)
            else:
                out.append(self.value(value, currency))
        return "".join(out)

    def note(self, note: Note, currency: str) -> str:
        """``note`` worded; a code this catalogue lacks (a third-party kind's) is shown as
        its code and parameters rather than failing."""
        template = self.notes.get(note.code)
        if template is None:
            inner = ", ".join(f"{k}={self.value(v, currency)}" for k, v in note.params.items())
            return f"{note.code}({inner})" if inner else note.code
        return self.fill(template, note.params, currency)

    def notes_text(self, notes: Sequence[Note], currency: str) -> str:
        return self.clause_separator.join(self.note(n, currency) for n in notes)

    def reason(self, code: str) -> str:
        return self.reasons.get(code, code)

    def sentence(self, name: str, currency: str, **params: Any) -> str:
        return self.fill(self.sentences[name], params, currency)

    def payment(self, label: str) -> str:
        return self.payments.get(label, label)


def fields(template: str) -> Iterator[str]:
    """The parameter names a template uses (for the catalogue tests)."""
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None:
            yield name


def _json(value: Param, currency: str) -> Any:
    if isinstance(value, Amount):
        return format_amount(value, currency)
    if isinstance(value, Note):
        return value.to_dict(currency)
    if isinstance(value, Fraction):
        return format_percent(value)
    if isinstance(value, tuple):
        return [_json(item, currency) for item in value]
    return value


__all__ = [
    "NOTES",
    "PAYMENTS",
    "REASONS",
    "SENTENCES",
    "Amount",
    "Catalogue",
    "LocaleError",
    "Note",
    "ParamType",
    "catalogue",
    "locales",
    "match",
    "negotiate",
    "resolve",
]
