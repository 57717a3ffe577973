"""Campaign calendar: the rhythm warnings, one rule at a time."""

from __future__ import annotations

from promorules.calendar import Entry, Stage, check_rhythm, render, stage_of
from promorules.engine import Engine
from promorules_plugins import tiered


def entry(name: str, grade: str, phases: dict[str, tuple[str, str]]) -> Entry:
    table = "\n".join(
        f"{k} = {{ start = {a}T00:00:00, end = {b}T23:59:59 }}" for k, (a, b) in phases.items()
    )
    text = f"""
[campaign]
name = "{name}"
grade = "{grade}"
currency = "CNY"
timezone = "Asia/Shanghai"

[campaign.phases]
{table}
"""
    return Entry.from_ruleset(Engine.from_string(text, plugins=[tiered]).ruleset)


def codes(entries: list[Entry]) -> list[str]:
    return sorted(d.code for d in check_rhythm(entries, 2026))


GOOD_S = {
    "preparation": ("2026-04-01", "2026-05-19"),
    "warmup": ("2026-05-20", "2026-05-31"),
    "sales": ("2026-06-01", "2026-06-17"),
    "explosion": ("2026-06-18", "2026-06-18"),
}


def test_a_well_planned_s_grade_campaign_only_warns_about_the_yearly_count() -> None:
    assert codes([entry("618", "S", GOOD_S)]) == ["PR701"]


def test_s_grade_needs_a_month_of_preparation_and_10_to_30_days_online() -> None:
    short = {"preparation": ("2026-05-01", "2026-05-19"), "sales": ("2026-05-20", "2026-06-30")}
    found = check_rhythm([entry("618", "S", short)], 2026)
    messages = [d.message for d in found]
    assert "618 (S): 19 days of preparation; at least 30 expected" in messages
    assert "618 (S): 42 days online; S-grade campaigns run 10 to 30" in messages


def test_a_grade_about_a_week_and_b_grade_three_to_five_days() -> None:
    a_grade = entry("New Year", "A", {"sales": ("2026-01-20", "2026-02-03")})
    b_grade = entry("Beauty", "B", {"sales": ("2026-03-06", "2026-03-08")})
    b_long = entry("Hot pot", "B", {"sales": ("2026-04-06", "2026-04-13")})
    found = [d for d in check_rhythm([a_grade, b_grade, b_long], 2026) if d.code == "PR703"]
    assert [d.message for d in found] == [
        "New Year (A): 15 days online; A-grade campaigns run 5 to 10",
        "Hot pot (B): 8 days online; B-grade campaigns run 3 to 5",
    ]


def test_two_s_grade_campaigns_overlapping() -> None:
    other = {"preparation": ("2026-04-01", "2026-05-30"), "sales": ("2026-06-10", "2026-06-25")}
    assert "PR704" in codes([entry("618", "S", GOOD_S), entry("Anniversary", "S", other)])


def test_phase_order_and_unknown_phase_names() -> None:
    wrong = {
        "preparation": ("2026-04-01", "2026-05-19"),
        "explosion": ("2026-05-20", "2026-05-20"),
        "warmup": ("2026-05-21", "2026-05-31"),
        "lucky-draw": ("2026-06-01", "2026-06-02"),
    }
    found = check_rhythm([entry("Odd", "S", wrong)], 2026)
    [order] = [d for d in found if d.code == "PR705"]
    assert "phase 'warmup' (warm-up) comes after 'explosion' (explosion)" in order.message
    assert any(d.code == "PR706" and "lucky-draw" in d.message for d in found)
    assert all(d.severity.value == "warning" for d in found)


def test_counts_per_grade() -> None:
    b_grade = [
        entry(f"B{i}", "B", {"sales": (f"2026-{i:02d}-10", f"2026-{i:02d}-13")})
        for i in range(1, 13)
    ]
    found = [d.message for d in check_rhythm(b_grade, 2026) if d.code == "PR701"]
    assert found == ["12 B-grade campaigns in 2026; practice is 20 to 30 a year"]


def test_stage_names_and_render() -> None:
    assert stage_of("Pre-heat") is Stage.WARM_UP
    assert stage_of("encore") is Stage.RETURN
    text = render([entry("618", "S", GOOD_S)], 2026)
    row = next(line for line in text.splitlines() if line.startswith("618"))
    strip = row.split("|")[1]
    assert len(strip) == 72
    assert "X" in strip[30:36]  # June is the sixth month: columns 30-35
