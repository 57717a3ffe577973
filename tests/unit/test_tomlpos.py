"""Key positions in TOML text: each figure below is counted by hand from the source."""

from __future__ import annotations

import sys

import pytest

from promorules.tomlpos import key_positions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def positions(text: str) -> dict[tuple[str | int, ...], tuple[int, int]]:
    tomllib.loads(text)  # key_positions is only ever given text that parses
    return key_positions(text)


def test_plain_keys_and_tables() -> None:
    found = positions('a = 1\n\n[campaign]\n  name = "x"\n')
    assert found[("a",)] == (1, 1)
    assert found[("campaign",)] == (3, 1)
    assert found[("campaign", "name")] == (4, 3)


def test_inline_tables() -> None:
    found = positions("phases = { warm = { start = 1, end = 2 }, hot = {} }\n")
    assert found[("phases",)] == (1, 1)
    assert found[("phases", "warm")] == (1, 12)
    assert found[("phases", "warm", "start")] == (1, 21)
    assert found[("phases", "warm", "end")] == (1, 32)
    assert found[("phases", "hot")] == (1, 43)


def test_multi_line_array_of_inline_tables_with_comments() -> None:
    text = (
        "tiers = [\n"
        "  # first tier\n"
        '  { threshold = "300.00", off = "30.00" },  # ] not the end\n'
        "\n"
        '  {threshold="500.00",off="60.00"},\n'
        "]\n"
        "after = 1\n"
    )
    found = positions(text)
    assert found[("tiers", 0)] == (3, 3)
    assert found[("tiers", 0, "threshold")] == (3, 5)
    assert found[("tiers", 0, "off")] == (3, 27)
    assert found[("tiers", 1)] == (5, 3)
    assert found[("tiers", 1, "threshold")] == (5, 4)
    assert found[("tiers", 1, "off")] == (5, 23)
    assert found[("after",)] == (7, 1)


def test_dotted_keys_locate_each_part() -> None:
    found = positions('guardrails.categories.digital = "3%"\n[c]\nx . "y z" = 1\n')
    assert found[("guardrails",)] == (1, 1)
    assert found[("guardrails", "categories")] == (1, 12)
    assert found[("guardrails", "categories", "digital")] == (1, 23)
    assert found[("c", "x")] == (3, 1)
    assert found[("c", "x", "y z")] == (3, 5)


def test_arrays_of_tables_and_their_subtables() -> None:
    text = (
        "[[promotion]]\n"
        'id = "a"\n'
        "\n"
        "[[promotion]]\n"
        'id = "b"\n'
        "[promotion.extra]\n"
        "k = 1\n"
        "[[promotion.tiers]]\n"
        "off = 1\n"
        "[[promotion.tiers]]\n"
        "off = 2\n"
    )
    found = positions(text)
    assert found[("promotion",)] == (1, 1)
    assert found[("promotion", 0)] == (1, 1)
    assert found[("promotion", 0, "id")] == (2, 1)
    assert found[("promotion", 1)] == (4, 1)
    assert found[("promotion", 1, "id")] == (5, 1)
    assert found[("promotion", 1, "extra")] == (6, 1)
    assert found[("promotion", 1, "extra", "k")] == (7, 1)
    assert found[("promotion", 1, "tiers", 0)] == (8, 1)
    assert found[("promotion", 1, "tiers", 0, "off")] == (9, 1)
    assert found[("promotion", 1, "tiers", 1, "off")] == (11, 1)


def test_quoted_keys() -> None:
    found = positions('"a.b" = 1\n\'c d\' = 2\n["t.u"]\n"" = 3\n')
    assert found[("a.b",)] == (1, 1)
    assert found[("c d",)] == (2, 1)
    assert found[("t.u",)] == (3, 1)
    assert found[("t.u", "")] == (4, 1)


def test_strings_holding_brackets_quotes_and_hashes_do_not_derail_the_scan() -> None:
    text = (
        'a = "[not] a \\" table # no comment ]"\n'
        "b = '[[x]] \" {'\n"
        'c = """\n'
        "[fake]\n"
        'd = "quoted" \\""" \n'
        '"""\n'
        "e = '''\n"
        "[[fake]]\n"
        "'''\n"
        'f = ["]", \'}\', { g = "{" }]\n'
        "h = 1\n"
    )
    found = positions(text)
    assert ("fake",) not in found
    assert ("d",) not in found
    assert found[("b",)] == (2, 1)
    assert found[("e",)] == (7, 1)
    assert found[("f", 2, "g")] == (10, 18)
    assert found[("h",)] == (11, 1)


def test_comments_and_crlf_line_ends() -> None:
    text = "# [header] in a comment\r\n[t] # [u]\r\n\tk = 1 # = 2\r\n"
    found = positions(text)
    assert found[("t",)] == (2, 1)
    assert found[("t", "k")] == (3, 2)
    assert ("u",) not in found


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_documents(text: str) -> None:
    assert positions(text) == {}


def test_array_items_in_plain_arrays() -> None:
    found = positions('phases = ["warmup",\n    "explosion"]\n')
    assert found[("phases", 0)] == (1, 11)
    assert found[("phases", 1)] == (2, 5)
