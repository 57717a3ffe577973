"""The ledger contract: every backend must pass every test here."""

from __future__ import annotations

import pytest

from promorules.counters import ANY_SUBJECT, Consumption, CounterKey, CounterKind, CounterSpec
from promorules.ledger import (
    CounterRow,
    IdempotencyConflict,
    InsufficientError,
    InvalidRequest,
    Ledger,
    PromotionPaused,
    ReservationClosed,
    ReservationState,
    UnknownCounter,
    UnknownReservation,
)
from tests.ledger.conftest import Factory, FakeClock, sharded

COUPON = CounterKey(CounterKind.COUPON_USES, "c10")
COUPON_ALICE = CounterKey(CounterKind.COUPON_CUSTOMER_USES, "c10", "alice")
COUPON_BOB = CounterKey(CounterKind.COUPON_CUSTOMER_USES, "c10", "bob")
COUPON_EACH = COUPON_ALICE.template()
FLASH = CounterKey(CounterKind.FLASH_STOCK, "flash", "sku-1")
BUDGET = CounterKey(CounterKind.BUDGET, "c10")
GIFT = CounterKey(CounterKind.GIFT_STOCK, "gift", "mug")

SPECS = (
    CounterSpec(COUPON, 3),
    CounterSpec(COUPON_EACH, 1),
    CounterSpec(FLASH, 5),
    CounterSpec(BUDGET, 10_000),
    CounterSpec(GIFT, 2),
)


class Quote:
    """Stands in for the pricing core's Quote: anything with ``.consumption``."""

    def __init__(self, consumption: Consumption) -> None:
        self.consumption = consumption


def rows(ledger: Ledger) -> dict[CounterKey, CounterRow]:
    return {r.key: r for r in ledger.status()}


def figures(ledger: Ledger, key: CounterKey) -> tuple[int, int, int, int]:
    row = rows(ledger)[key]
    return row.initial, row.held, row.used, row.available


@pytest.fixture
def ready(ledger: Ledger) -> Ledger:
    ledger.provision(SPECS)
    return ledger


def test_provision_is_idempotent_and_leaves_live_counters_alone(ledger: Ledger) -> None:
    first = ledger.provision(SPECS)
    assert set(first.created) == {s.key for s in SPECS}
    ledger.reserve(((COUPON, 1),), "o1", 60)
    again = ledger.provision((*SPECS[1:], CounterSpec(COUPON, 7)))
    assert again.created == ()
    assert again.differing == ((COUPON, 3, 7),)
    assert figures(ledger, COUPON) == (3, 1, 0, 2)


def test_provision_refuses_bad_specs(ledger: Ledger) -> None:
    with pytest.raises(InvalidRequest):
        ledger.provision([CounterSpec(COUPON, -1)])
    with pytest.raises(InvalidRequest):
        ledger.provision([CounterSpec(COUPON, 1), CounterSpec(COUPON, 2)])


def test_reserve_commit_release_move_the_figures(ready: Ledger) -> None:
    quote = Quote(((COUPON, 1), (COUPON_ALICE, 1), (BUDGET, 2_000)))
    held = ready.reserve(quote, "o1", 60)
    assert held.state is ReservationState.HELD
    assert figures(ready, COUPON) == (3, 1, 0, 2)
    assert figures(ready, COUPON_ALICE) == (1, 1, 0, 0)
    assert figures(ready, BUDGET) == (10_000, 2_000, 0, 8_000)
    committed = ready.commit(held)
    assert committed.state is ReservationState.COMMITTED
    assert figures(ready, BUDGET) == (10_000, 0, 2_000, 8_000)
    other = ready.reserve(((COUPON, 1), (COUPON_BOB, 1)), "o2", 60)
    released = ready.release(other.key)
    assert released.state is ReservationState.RELEASED
    assert figures(ready, COUPON) == (3, 0, 1, 2)
    assert figures(ready, COUPON_BOB) == (1, 0, 0, 1)
    assert ready.audit() == []


def test_reserve_is_all_or_nothing_and_names_every_short_counter(ready: Ledger) -> None:
    ready.reserve(((GIFT, 2),), "gifts", 60)
    with pytest.raises(InsufficientError) as caught:
        ready.reserve(((COUPON, 1), (FLASH, 6), (GIFT, 1)), "o1", 60)
    assert set(caught.value.keys) == {FLASH, GIFT}
    assert {(s.key, s.requested, s.available) for s in caught.value.shortfalls} == {
        (FLASH, 6, 5),
        (GIFT, 1, 0),
    }
    assert figures(ready, COUPON) == (3, 0, 0, 3)
    assert ready.get("o1") is None


def test_budget_is_never_exceeded_by_one_minor_unit(ready: Ledger) -> None:
    with pytest.raises(InsufficientError):
        ready.reserve(((BUDGET, 10_001),), "too-much", 60)
    ready.reserve(((BUDGET, 9_999),), "most", 60)
    ready.reserve(((BUDGET, 1),), "last-cent", 60)
    with pytest.raises(InsufficientError):
        ready.reserve(((BUDGET, 1),), "one-more", 60)
    assert figures(ready, BUDGET) == (10_000, 10_000, 0, 0)


def test_templates_instantiate_per_subject_on_first_use(ready: Ledger) -> None:
    snapshot = ready.availability([COUPON_ALICE])
    assert snapshot.remaining(COUPON_ALICE) == 1
    ready.reserve(((COUPON_ALICE, 1),), "o1", 60)
    with pytest.raises(InsufficientError):
        ready.reserve(((COUPON_ALICE, 1),), "o2", 60)
    ready.reserve(((COUPON_BOB, 1),), "o3", 60)
    snapshot = ready.availability([COUPON_ALICE, COUPON_BOB, COUPON])
    assert snapshot.remaining(COUPON_ALICE) == 0
    assert snapshot.remaining(CounterKey(CounterKind.COUPON_CUSTOMER_USES, "c10", "carol")) == 1
    assert figures(ready, COUPON_EACH) == (1, 0, 0, 1)


def test_a_refused_reserve_creates_no_per_subject_counter(ready: Ledger) -> None:
    with pytest.raises(InsufficientError):
        ready.reserve(((COUPON_ALICE, 1), (FLASH, 99)), "o1", 60)
    assert COUPON_ALICE not in rows(ready)


def test_availability_reads_everything_with_no_keys(ready: Ledger) -> None:
    ready.reserve(((FLASH, 2),), "o1", 60)
    snapshot = ready.availability()
    assert snapshot.remaining(FLASH) == 3
    assert snapshot.remaining(GIFT) == 2
    assert snapshot.remaining(CounterKey(CounterKind.BUDGET, "nowhere")) is None
    assert not snapshot.paused("flash")


def test_unknown_counters_are_refused(ready: Ledger) -> None:
    stray = CounterKey(CounterKind.GIFT_STOCK, "gift", "bag")
    with pytest.raises(UnknownCounter) as caught:
        ready.reserve(((stray, 1), (COUPON, 1)), "o1", 60)
    assert caught.value.keys == (stray,)
    assert figures(ready, COUPON) == (3, 0, 0, 3)


def test_bad_requests_are_refused(ready: Ledger) -> None:
    with pytest.raises(InvalidRequest):
        ready.reserve(((COUPON, -1),), "o1", 60)
    with pytest.raises(InvalidRequest):
        ready.reserve(((COUPON_EACH, 1),), "o1", 60)
    with pytest.raises(InvalidRequest):
        ready.reserve(((COUPON, 1),), "", 60)
    with pytest.raises(InvalidRequest):
        ready.reserve(((COUPON, 1),), "o1")
    with pytest.raises(InvalidRequest):
        ready.reserve(((COUPON, 1),), "o1", 0)
    with pytest.raises(InvalidRequest):
        ready.reserve("not a quote", "o1", 60)


def test_replay_returns_the_first_result_and_changes_nothing(
    ready: Ledger, clock: FakeClock
) -> None:
    first = ready.reserve(((COUPON, 1), (FLASH, 2)), "o1", 60)
    clock.advance(5)
    # Same payload in another order and split differently: still the same request.
    again = ready.reserve(((FLASH, 1), (COUPON, 1), (FLASH, 1)), "o1", 60)
    assert again == first
    assert figures(ready, FLASH) == (5, 2, 0, 3)
    ready.commit(first)
    assert ready.reserve(((COUPON, 1), (FLASH, 2)), "o1", 60).state is ReservationState.COMMITTED
    with pytest.raises(IdempotencyConflict):
        ready.reserve(((COUPON, 1), (FLASH, 3)), "o1", 60)
    assert figures(ready, FLASH) == (5, 0, 2, 3)


def test_a_refused_reserve_records_nothing(ready: Ledger) -> None:
    with pytest.raises(InsufficientError):
        ready.reserve(((FLASH, 9),), "o1", 60)
    ready.adjust(FLASH, 4)
    assert ready.reserve(((FLASH, 9),), "o1", 60).state is ReservationState.HELD


def test_commit_and_release_are_idempotent_and_final(ready: Ledger) -> None:
    a = ready.reserve(((FLASH, 1),), "a", 60)
    assert ready.commit(a) == ready.commit(a)
    with pytest.raises(ReservationClosed):
        ready.release(a)
    b = ready.reserve(((FLASH, 1),), "b", 60)
    assert ready.release(b) == ready.release(b)
    with pytest.raises(ReservationClosed):
        ready.commit(b)
    with pytest.raises(UnknownReservation):
        ready.commit("nope")
    assert figures(ready, FLASH) == (5, 0, 1, 4)
    assert ready.audit() == []


def test_commit_after_expiry_gives_the_hold_back(ready: Ledger, clock: FakeClock) -> None:
    held = ready.reserve(((FLASH, 2),), "o1", 30)
    clock.advance(30)
    with pytest.raises(ReservationClosed) as caught:
        ready.commit(held)
    assert caught.value.state == "expired"
    assert figures(ready, FLASH) == (5, 0, 0, 5)
    assert ready.release(held).state is ReservationState.EXPIRED
    assert ready.sweep() == 0


def test_sweep_expires_overdue_holds_once(ready: Ledger, clock: FakeClock) -> None:
    ready.reserve(((FLASH, 1),), "short", 10)
    ready.reserve(((FLASH, 1),), "long", 100)
    kept = ready.reserve(((FLASH, 1),), "paid", 10)
    ready.commit(kept)
    clock.advance(10)
    assert ready.sweep() == 1
    assert ready.sweep() == 0
    assert figures(ready, FLASH) == (5, 1, 1, 3)
    state = ready.get("short")
    assert state is not None and state.state is ReservationState.EXPIRED
    assert ready.sweep(now=clock.t + 1_000) == 1
    assert figures(ready, FLASH) == (5, 0, 1, 4)
    assert ready.audit() == []


def test_presale_deposit_holds_until_the_final_window_closes(
    ready: Ledger, clock: FakeClock
) -> None:
    window_closes = clock.t + 14 * 86_400
    deposit = ready.reserve(((FLASH, 1),), "deposit", expires_at=window_closes)
    clock.advance(13 * 86_400)
    assert ready.sweep() == 0
    assert ready.commit(deposit).state is ReservationState.COMMITTED
    unpaid = ready.reserve(((FLASH, 1),), "unpaid", expires_at=window_closes)
    clock.advance(86_400)
    assert ready.sweep() == 1
    assert ready.get(unpaid.key).state is ReservationState.EXPIRED  # type: ignore[union-attr]
    assert figures(ready, FLASH) == (5, 0, 1, 4)


def test_pause_refuses_new_holds_and_is_seen_by_every_handle(
    ready: Ledger, open_more: Factory
) -> None:
    other = open_more()
    held = ready.reserve(((COUPON, 1),), "before", 60)
    other.pause("c10")
    assert ready.availability().paused("c10")
    with pytest.raises(PromotionPaused) as caught:
        ready.reserve(((COUPON, 1), (FLASH, 1)), "during", 60)
    assert caught.value.promotions == ("c10",)
    ready.reserve(((FLASH, 1),), "other-promotion", 60)
    assert ready.commit(held).state is ReservationState.COMMITTED
    assert ready.paused() == frozenset({"c10"})
    other.resume("c10")
    ready.reserve(((COUPON, 1),), "after", 60)
    assert ready.paused() == frozenset()


def test_adjust_tops_up_and_cuts_without_going_negative(ready: Ledger) -> None:
    ready.reserve(((FLASH, 2),), "o1", 60)
    assert ready.adjust(FLASH, 10) == CounterRow(FLASH, 15, 2, 0, 13)
    assert ready.adjust(FLASH, -3) == CounterRow(FLASH, 12, 2, 0, 10)
    with pytest.raises(InsufficientError):
        ready.adjust(FLASH, -11)
    assert ready.adjust(FLASH, -11, clamp=True) == CounterRow(FLASH, 2, 2, 0, 0)
    with pytest.raises(UnknownCounter):
        ready.adjust(CounterKey(CounterKind.GIFT_STOCK, "x"), 1)
    assert ready.audit() == []


def test_adjusting_a_template_changes_subjects_created_later(ready: Ledger) -> None:
    ready.reserve(((COUPON_ALICE, 1),), "o1", 60)
    ready.adjust(COUPON_EACH, 1)
    ready.reserve(((COUPON_BOB, 2),), "o2", 60)
    assert figures(ready, COUPON_ALICE) == (1, 1, 0, 0)
    assert figures(ready, COUPON_BOB) == (2, 2, 0, 0)


def test_status_lists_every_counter_with_its_figures(ready: Ledger) -> None:
    ready.reserve(((COUPON, 1), (COUPON_ALICE, 1)), "o1", 60)
    listed = ready.status()
    assert [r.key for r in listed] == sorted([*(s.key for s in SPECS), COUPON_ALICE], key=str)
    assert all(r.initial == r.available + r.held + r.used for r in listed)
    assert [r.key for r in ready.status("gift")] == [GIFT]


def test_state_survives_reopening(ready: Ledger, open_more: Factory, clock: FakeClock) -> None:
    held = ready.reserve(((FLASH, 1),), "o1", 60)
    ready.close()
    again = open_more(clock=clock)
    assert again.get("o1") == held
    assert again.commit("o1").state is ReservationState.COMMITTED


def test_empty_consumption_reserves_nothing(ready: Ledger) -> None:
    empty = ready.reserve((), "plain-order", 60)
    assert empty.consumption == ()
    assert ready.commit(empty).state is ReservationState.COMMITTED


# -- keys carry any id: colons, slashes, a customer named "*" -------------------------

COLON_BUDGET = CounterKey(CounterKind.BUDGET, "d11:flash")
COLON_STOCK = CounterKey(CounterKind.FLASH_STOCK, "d11:flash", "sku:1")
PAIR_EACH = CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "d11:flash", ANY_SUBJECT)
SLASH_CUSTOMER = CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "d11:flash", ("a/b", "c"))
SLASH_SKU = CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "d11:flash", ("a", "b/c"))
STAR_CUSTOMER = CounterKey(CounterKind.COUPON_CUSTOMER_USES, "c10", "*")


def test_a_promotion_id_with_colons_is_read_back_whole(ledger: Ledger) -> None:
    ledger.provision([CounterSpec(COLON_BUDGET, 500), CounterSpec(COLON_STOCK, 2)])
    snapshot = ledger.availability([COLON_BUDGET, COLON_STOCK])
    assert (snapshot.remaining(COLON_BUDGET), snapshot.remaining(COLON_STOCK)) == (500, 2)
    assert ledger.availability().remaining(COLON_STOCK) == 2
    ledger.commit(ledger.reserve(((COLON_STOCK, 2), (COLON_BUDGET, 100)), "o1", 60))
    assert ledger.availability([COLON_STOCK]).remaining(COLON_STOCK) == 0
    assert {r.key for r in ledger.status("d11:flash")} == {COLON_BUDGET, COLON_STOCK}
    ledger.pause("d11:flash")
    assert ledger.availability().paused("d11:flash")
    assert ledger.audit() == []


def test_structured_subjects_never_share_a_counter(ledger: Ledger) -> None:
    ledger.provision([CounterSpec(PAIR_EACH, 1)])
    ledger.reserve(((SLASH_CUSTOMER, 1),), "o1", 60)
    # customer "a" buying "b/c" is another counter, still full
    assert ledger.availability([SLASH_SKU]).remaining(SLASH_SKU) == 1
    ledger.reserve(((SLASH_SKU, 1),), "o2", 60)
    assert figures(ledger, SLASH_CUSTOMER) == (1, 1, 0, 0)
    assert figures(ledger, SLASH_SKU) == (1, 1, 0, 0)
    assert ledger.reservations()[0].consumption == ((SLASH_CUSTOMER, 1),)


def test_a_customer_named_star_is_not_the_template(ready: Ledger) -> None:
    ready.reserve(((STAR_CUSTOMER, 1),), "o1", 60)
    assert figures(ready, COUPON_EACH) == (1, 0, 0, 1)
    assert figures(ready, STAR_CUSTOMER) == (1, 1, 0, 0)
    with pytest.raises(InsufficientError):
        ready.reserve(((STAR_CUSTOMER, 1),), "o2", 60)
    ready.reserve(((COUPON_ALICE, 1),), "o3", 60)  # the template still gives a fresh one
    assert ready.availability().remaining(STAR_CUSTOMER) == 0


def test_a_declared_subject_star_is_refused(ledger: Ledger) -> None:
    with pytest.raises(InvalidRequest, match="ANY_SUBJECT"):
        ledger.provision([CounterSpec(STAR_CUSTOMER, 1)])


# -- the audit log ----------------------------------------------------------------------


def test_every_pause_resume_adjust_and_provision_is_logged(
    ledger: Ledger, open_more: Factory, clock: FakeClock, mode: str
) -> None:
    if sharded(mode):
        pytest.skip("a sharded counter's entries name its shards: test_batches.py checks them")
    ledger.provision(SPECS, actor="deploy", reason="d11 ruleset v3")
    ledger.provision(SPECS)  # nothing created: nothing to log
    clock.advance(60)
    ledger.pause("c10", actor="li.wei", reason="coupon leaked")
    ledger.adjust(FLASH, 7, actor="li.wei")
    ledger.adjust(FLASH, -99, clamp=True, reason="sold elsewhere")
    ledger.resume("c10")
    entries = open_more(clock=clock).log()
    assert [(e.seq, e.action.value) for e in entries] == [
        (1, "provision"),
        (2, "pause"),
        (3, "adjust"),
        (4, "adjust"),
        (5, "resume"),
    ]
    provision, pause, top_up, cut, resume = entries
    assert (provision.actor, provision.reason) == ("deploy", "d11 ruleset v3")
    assert provision.after == {"created": {str(s.key): s.initial for s in SPECS}}
    assert (pause.at - provision.at, pause.promotion, pause.target) == (60, "c10", "c10")
    assert (pause.before, pause.after, pause.reason) == (
        {"paused": False},
        {"paused": True},
        "coupon leaked",
    )
    assert top_up.target == str(FLASH) and top_up.promotion == "flash"
    assert (top_up.before["initial"], top_up.after["initial"]) == (5, 12)
    assert (cut.before["available"], cut.after["available"], cut.after["clamp"]) == (12, 0, True)
    assert resume.after == {"paused": False} and resume.actor  # the OS user
    assert [e.action.value for e in ledger.log("c10")] == ["pause", "resume"]
    assert [e.seq for e in ledger.log(limit=2)] == [4, 5]


def test_a_refused_change_is_not_logged(ready: Ledger) -> None:
    before = len(ready.log())
    with pytest.raises(InsufficientError):
        ready.adjust(FLASH, -99)
    with pytest.raises(UnknownCounter):
        ready.adjust(CounterKey(CounterKind.GIFT_STOCK, "x"), 1)
    assert len(ready.log()) == before


def test_the_currency_is_recorded_once(ledger: Ledger) -> None:
    assert ledger.currency() is None
    ledger.set_currency("CNY")
    ledger.set_currency("CNY")
    with pytest.raises(InvalidRequest, match="CNY"):
        ledger.set_currency("USD")
    assert ledger.currency() == "CNY"


def test_promotions_the_ledger_knows(ready: Ledger) -> None:
    ready.record_promotions(["plain-discount"])
    ready.pause("by-hand")
    assert ready.promotions() == {"c10", "flash", "gift", "plain-discount", "by-hand"}


def test_exists_tells_a_counter_from_its_template(ready: Ledger) -> None:
    assert ready.exists(COUPON) and ready.exists(COUPON_EACH)
    assert not ready.exists(COUPON_ALICE)  # only its template so far
    ready.reserve(((COUPON_ALICE, 1),), "o1", 60)
    assert ready.exists(COUPON_ALICE)
