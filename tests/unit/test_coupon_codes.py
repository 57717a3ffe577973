"""Coupon codes: the check character catches every slip it promises to, generation is
distinct and bounded, normalisation drops what must not be compared or printed."""

from __future__ import annotations

import random

import pytest

from promorules.coupon_codes import (
    ALPHABET,
    MAX_LENGTH,
    CodeError,
    Series,
    check_char,
    checks,
    generate,
    normalise,
    one_slip_apart,
)


def sample(count: int, length: int, seed: int) -> list[str]:
    """``count`` random bodies of ``length`` with their check characters (with repeats
    for short lengths, which generate() would rightly refuse to issue)."""
    rng = random.Random(seed)
    bodies = ["".join(rng.choice(ALPHABET) for _ in range(length)) for _ in range(count)]
    return [body + check_char(body) for body in bodies]


@pytest.mark.parametrize("length", [1, 4, 10, MAX_LENGTH])
def test_every_single_substitution_is_caught(length: int) -> None:
    for body in sample(40, length, seed=length):
        assert checks(body)
        for position, original in enumerate(body):
            for other in ALPHABET:
                if other != original:
                    assert not checks(body[:position] + other + body[position + 1 :])


@pytest.mark.parametrize("length", [2, 10, MAX_LENGTH])
def test_every_adjacent_transposition_is_caught(length: int) -> None:
    caught = 0
    for body in sample(200, length, seed=100 + length):
        for i in range(len(body) - 1):
            if body[i] != body[i + 1]:
                assert not checks(body[:i] + body[i + 1] + body[i] + body[i + 2 :])
                caught += 1
    assert caught > 100


def test_check_char_by_hand() -> None:
    # "2" has value 0, "3" value 1: body "33" sums 1*1 + 2*1 = 3; the check at weight 3
    # needs 3 + 3c = 0 (mod 31): c = 30 -> "Y" (last symbol)
    assert check_char("33") == "Y"
    assert checks("33Y")
    assert check_char("2") == "2"  # 0 + 2c = 0 -> c = 0


def test_alphabet_has_no_look_alikes() -> None:
    assert len(ALPHABET) == 31
    assert not set("0O1IZ") & set(ALPHABET)


def test_generate_is_distinct_well_formed_and_prefixed() -> None:
    codes = list(generate("d11", 2000, 5, randbelow=random.Random(1).randrange))
    assert len(set(codes)) == 2000
    series = Series("D11", 5)
    assert all(series.well_formed(code) for code in codes)


@pytest.mark.parametrize(
    ("prefix", "count", "length", "message"),
    [
        ("D11", 0, 10, "count must lie between 1"),
        ("D11", 10**9, 10, "count must lie between 1"),
        ("D11", 1000, 2, "too easy to guess"),
        ("D11", 1, 0, "length must lie between"),
        ("D11", 1, MAX_LENGTH + 1, "length must lie between"),
        ("D-11", 1, 10, "series prefix"),
        ("", 1, 10, "series prefix"),
        ("X" * 10_000_000, 1, 10, "series prefix"),
    ],
)
def test_generate_refuses_what_cannot_work(
    prefix: str, count: int, length: int, message: str
) -> None:
    with pytest.raises(CodeError, match=message):
        next(generate(prefix, count, length))


def test_series_tells_mistyped_from_foreign() -> None:
    series = Series("D11", 4)
    good = "D11" + "ABCD" + check_char("ABCD")
    assert series.well_formed(good)
    assert series.resembles(good[:-1] + ("2" if good[-1] != "2" else "3"))  # wrong check
    assert series.resembles(good[:-1])  # a character lost
    assert series.resembles(good + "A")  # one doubled
    assert not series.resembles(good)
    assert not series.resembles("X11ABCDE")  # another series
    assert not series.resembles(good + "AB")  # too far off to be a slip


def test_normalise_keeps_ascii_letters_and_digits_upper_case() -> None:
    assert normalise(" d11-abc 9 ") == "D11ABC9"
    assert normalise("\x1b[31mab\n\u202ecd") == "31MABCD"


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("\u017fave20", "\u017fAVE20"),  # long s: str.upper() and NFKC both make it S
        ("\u0131save", "\u0131SAVE"),  # dotless i: upper() makes it I
        ("\u212aEY", "\u212aEY"),  # Kelvin sign: NFC and NFKC make it K
        ("\uff53ave20", "\uff53AVE20"),  # full-width s: NFKC makes it s
        ("\uff44\uff11\uff11", "\uff44\uff11\uff11"),  # full-width d11
        ("S\u0301AVE20", "S\u0301AVE20"),  # a combining accent is a mark: kept
        ("promo\u4fc3\u9500", "PROMO\u4fc3\u9500"),  # another script: verbatim
        ("\u00fcber", "\u00fcBER"),  # no case mapping outside ASCII
    ],
)
def test_no_unicode_rule_turns_one_code_into_another(typed: str, normal: str) -> None:
    assert normalise(typed) == normal
    assert normalise(typed).isascii() is False


@pytest.mark.parametrize(
    "typed",
    [
        "SAVE\u200b20",  # zero-width space (format)
        "SAVE\u202e20",  # bidi override (format)
        "SAVE\u00a020",  # no-break space (separator)
        "SAVE\u201320",  # en dash (punctuation)
        "SAVE\uff0d20",  # full-width hyphen (punctuation)
        "SAVE\x0020",  # NUL (control)
        "\u3000save 20\u3000",  # ideographic spaces (separator)
    ],
)
def test_invisible_characters_and_separators_are_dropped(typed: str) -> None:
    assert normalise(typed) == "SAVE20"


def test_one_slip_apart() -> None:
    assert one_slip_apart("SAVE20", "SAVE2O")
    assert one_slip_apart("SAVE20", "SAEV20")
    assert one_slip_apart("SAVE20", "SAVE2")
    assert one_slip_apart("SAVE20", "SAVEE20")
    assert not one_slip_apart("SAVE20", "SAVE20")
    assert not one_slip_apart("SAVE20", "SVAE02")
    assert not one_slip_apart("SAVE20", "SAVE2000")
