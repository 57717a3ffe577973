"""Ledgers written before counter keys had one unambiguous text form.

Until key format 2 a key was stored as ``KIND:PROMOTION:SUBJECT`` with nothing escaped,
and read back by splitting at the first two colons; the flash sale's per-customer
subject was the string ``customer/sku`` and the template subject the string ``*``. A
key whose text is the same in both formats (no ``%`` anywhere, no ``:`` in the
promotion, no ``*`` in the subject unless it is the template, no non-printable
character, and a ``/`` only as the one separator of a flash per-customer subject) means
the same counter in both, so such a ledger is used as it is. Any other key may name
another counter than the one pricing now asks for, so the ledger refuses to open.
"""

from __future__ import annotations

from promorules.counters import ANY_SUBJECT, CounterKey, CounterKind

KEY_FORMAT = "2"
"""The key format this version writes, recorded in each ledger under ``key_format``."""


def reads_the_same(text: str) -> bool:
    """True when the stored key ``text`` names the same counter in both formats."""
    try:
        key = CounterKey.parse(text)
    except ValueError:
        return False
    if str(key) != text:
        return False  # something in it is escaped now: the old reader took it literally
    if key.subject == ANY_SUBJECT or isinstance(key.subject, str):
        return True
    # a tuple: the old text meant "customer/sku" only for flash per-customer units
    return key.kind is CounterKind.FLASH_CUSTOMER_UNITS and len(key.subject) == 2


def refusal(url: str, stored: str | None, bad: list[str]) -> str:
    """Why a ledger cannot be opened, and what the operator can do about it."""
    if stored is not None:
        return (
            f"ledger {url} records key format {stored!r}; this version of promorules"
            f" reads format {KEY_FORMAT}: use the promorules that wrote it"
        )
    shown = ", ".join(repr(k) for k in bad[:5]) + (
        f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    )
    return (
        f"ledger {url} was written with the old counter key format and {len(bad)} of its"
        f" keys would read as other counters now ({shown}); let its campaign finish with"
        " the promorules that wrote it, or provision a new ledger (another file or"
        " namespace) with `promorules ledger init` and move the figures over with"
        " `promorules ledger adjust`"
    )
