"""Coupon codes: normalising what customers type, and single-use codes made in bulk.

A generated code is ``PREFIX + BODY + CHECK``. The prefix names the series (``D11``);
the body is drawn from :data:`ALPHABET` with :mod:`secrets`; the check character makes
a weighted sum of the body and itself divisible by 31::

    sum(i * value(c_i) for i, c_i in enumerate(body + check, start=1)) % 31 == 0

The alphabet has 31 symbols (a prime) and leaves out the look-alikes ``0 O 1 I Z``, so
the check catches every single wrong character (the weights 1..30 are non-zero mod 31)
and every swap of two neighbours (it changes the sum by the difference of their values).
That is what lets a mistyped code be told apart from an unknown one. The check is not
a secret: authenticity comes from the list of issued codes the ruleset loads
(``codes_file``), with ~31^10 possible bodies per series by default.

Matching ignores the case of ASCII letters, spaces and dashes, and nothing else: no
Unicode case folding (see :func:`normalise`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Iterator

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_MOD = len(ALPHABET)
assert _MOD == 31

DEFAULT_LENGTH = 10
"""Random characters per generated code (the check character comes on top)."""
MAX_LENGTH = _MOD - 2
"""Longest body the check still guards completely (weights must stay below 31)."""
MAX_PREFIX = 16
MAX_COUNT = 1_000_000
"""Most codes one ``generate`` call makes: a bigger run is a typo, not a campaign."""


class CodeError(ValueError):
    """A series or a generation request that cannot work; the message says why."""


def normalise(code: str) -> str:
    """The form codes are compared in: ASCII letters upper-cased, separators dropped.

    ``" d11-abcd "`` and ``"D11ABCD"`` are the same code. The rule, character by
    character:

    - an ASCII letter or digit is kept, letters upper-cased (an ASCII-only mapping);
    - anything else that cannot tell two codes apart to the eye is dropped: ASCII
      spaces, dashes, punctuation and controls, and their Unicode kin (separators such
      as a no-break space, punctuation such as an en dash, control and format
      characters such as a zero-width space, bidi controls or an escape);
    - any other character (a letter, digit, mark or symbol of another script) is kept
      verbatim: no case mapping, no compatibility folding.

    So no Unicode rule can turn one code into another: Python's ``"\u017f".upper()``
    (long s) is ``"S"``, and NFKC maps the long s, the full-width s and others to ASCII
    too, which would let ``"\u017fave20"`` redeem ``SAVE20`` and slip past any list of
    codes kept outside promorules. Codes are ASCII in practice; a code with another script's
    letters matches only the same letters. The result holds no control or invisible
    character, so it is safe to print. Bound the input's length before calling this.
    """
    if code.isascii():  # the usual case: str.upper() of ASCII text stays ASCII
        return "".join(ch for ch in code if ch.isalnum()).upper()
    out = []
    for ch in code:
        if ch.isascii():
            if ch.isalnum():
                out.append(ch.upper())
        elif unicodedata.category(ch)[0] in _KEPT:
            out.append(ch)
    return "".join(out)


_KEPT = "LMNS"
"""Unicode categories kept verbatim in a code: letters, marks, numbers, symbols (the rest,
separators Z, punctuation P and others C, carry nothing a customer could tell apart)."""


def check_char(body: str) -> str:
    """The check character for ``body`` (characters of :data:`ALPHABET`)."""
    if not 0 < len(body) <= MAX_LENGTH:
        raise CodeError(f"a code body has 1 to {MAX_LENGTH} characters (got {len(body)})")
    total = 0
    for position, ch in enumerate(body, start=1):
        value = _VALUE.get(ch)
        if value is None:
            raise CodeError(f"{ch!r} is not in the code alphabet {ALPHABET}")
        total += position * value
    weight = len(body) + 1
    # solve weight * check == -total (mod 31); 31 is prime so the inverse exists
    return ALPHABET[(-total * pow(weight, -1, _MOD)) % _MOD]


def checks(body_and_check: str) -> bool:
    """True when the last character is the right check character for the rest."""
    if not 1 < len(body_and_check) <= MAX_LENGTH + 1:
        return False
    total = 0
    for position, ch in enumerate(body_and_check, start=1):
        value = _VALUE.get(ch)
        if value is None:
            return False
        total += position * value
    return total % _MOD == 0


def check_prefix(prefix: str) -> str:
    """The prefix normalised, or CodeError if it cannot name a series."""
    normal = normalise(prefix)
    if normal != prefix.upper() or not 0 < len(normal) <= MAX_PREFIX:
        raise CodeError(f"a series prefix is 1 to {MAX_PREFIX} ASCII letters or digits")
    return normal


def generate(
    prefix: str,
    count: int,
    length: int = DEFAULT_LENGTH,
    *,
    randbelow: Callable[[int], int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """``count`` distinct codes of the series ``prefix``, each ``length`` random
    characters plus a check character.

    ``randbelow`` is the source of randomness (None: ``secrets.randbelow``, imported
    here, so pricing, which only checks codes, never loads it; tests pass a seeded
    one). ``progress`` is called with the number made so far every 10,000 codes.
    Refuses counts the body length cannot hold comfortably (more than 1/1000 of the
    possible bodies), so a guessed code stays a long shot.
    """
    if randbelow is None:
        import secrets

        randbelow = secrets.randbelow
    prefix = check_prefix(prefix)
    if not 1 <= length <= MAX_LENGTH:
        raise CodeError(f"length must lie between 1 and {MAX_LENGTH} (got {length})")
    if not 1 <= count <= MAX_COUNT:
        raise CodeError(f"count must lie between 1 and {MAX_COUNT:,} (got {count:,})")
    if count * 1000 > _MOD**length:
        raise CodeError(
            f"{count:,} codes of {length} characters would be too easy to guess; "
            f"use a longer length"
        )
    seen: set[str] = set()
    while len(seen) < count:
        body = "".join(ALPHABET[randbelow(_MOD)] for _ in range(length))
        if body in seen:
            continue
        seen.add(body)
        yield prefix + body + check_char(body)
        if progress is not None and len(seen) % 10_000 == 0:
            progress(len(seen))


class Series:
    """The codes of one generated series: a prefix and a body length."""

    __slots__ = ("length", "prefix")

    def __init__(self, prefix: str, length: int) -> None:
        self.prefix = check_prefix(prefix)
        self.length = length

    def well_formed(self, code: str) -> bool:
        """True for a normalised code with this prefix, length and a right check character."""
        return (
            len(code) == len(self.prefix) + self.length + 1
            and code.startswith(self.prefix)
            and checks(code[len(self.prefix) :])
        )

    def resembles(self, code: str) -> bool:
        """True for a code meant for this series but mistyped: the prefix, and a length at
        most one off (a character lost or doubled), but not well formed."""
        size = len(self.prefix) + self.length + 1
        return (
            code.startswith(self.prefix)
            and abs(len(code) - size) <= 1
            and not self.well_formed(code)
        )


def one_slip_apart(a: str, b: str) -> bool:
    """True when ``a`` becomes ``b`` by one wrong, missing or extra character, or one
    swap of neighbours (never when they are equal)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


def read_codes(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """``(line number, normalised code)`` for each code of a codes file: one code a
    line; blank lines and lines starting with ``#`` are skipped."""
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        yield number, normalise(text[:200]) if len(text) <= 200 else ""
