"""Flat fees and minimum guarantees: what a guarantor owes a participant, in integers.

A guarantee promises a participant (the beneficiary) `amount` minor units per period (a
month, a released episode, or once). Its dues at a moment, over `periods` periods due by
then, with `share` the beneficiary's cumulative money from the plan's waterfall (the
drift-free target of the cumulative pool, so an integer already):
- a flat fee is owed on top of her share: dues = amount x periods;
- a minimum guarantee tops her share up: dues = max(0, amount x periods - share); when her
  share later catches up, the dues fall and what the guarantor paid comes back to him (a
  minimum guarantee is recovered from the beneficiary's later earnings).
The guarantor pays from his earnings first (`settle`): what they cannot cover stays owed
(a liability, guarantee payable) until later earnings pay it. Everything is cumulative, so a
settlement run pays only the difference with the last one and nothing drifts.
"""

from __future__ import annotations

from dataclasses import dataclass

GUARANTEE_KINDS = ("flat_fee", "minimum")
"""flat_fee: owed on top of the share; minimum: a floor under the share."""
GUARANTEE_PERIODS = ("month", "episode", "once")
"""What one period is: a whole calendar month since the plan took effect, a released
episode, or once."""


@dataclass(frozen=True, slots=True)
class Guarantee:
    """One flat fee or minimum guarantee.

    Fields:
        kind: "flat_fee" or "minimum" (GUARANTEE_KINDS).
        amount: minor units per period (> 0).
        period: "month", "episode" or "once" (GUARANTEE_PERIODS).
    """

    kind: str
    amount: int
    period: str = "once"

    def __post_init__(self) -> None:
        if self.kind not in GUARANTEE_KINDS:
            raise ValueError(f"a guarantee is a flat_fee or a minimum, got {self.kind!r}")
        if self.period not in GUARANTEE_PERIODS:
            raise ValueError(f"a guarantee's period is month, episode or once: {self.period!r}")
        if type(self.amount) is not int or self.amount <= 0:
            raise ValueError("a guarantee's amount is a positive integer of minor units")


def guarantee_dues(guarantee: Guarantee, periods: int, share: int) -> int:
    """What the guarantor owes in all after `periods` periods, the beneficiary's cumulative
    share being `share` (minor units)."""
    if type(periods) is not int or periods < 0:
        raise ValueError(f"periods is a non-negative int, got {periods!r}")
    if guarantee.period == "once":
        periods = min(periods, 1)
    promised = guarantee.amount * periods
    if guarantee.kind == "flat_fee":
        return promised
    return max(0, promised - share)


@dataclass(frozen=True, slots=True)
class Settlement:
    """A guarantee's cumulative standing after a settlement run.

    Fields:
        dues: what the guarantor owes in all (guarantee_dues).
        paid: what has moved from his earnings to the beneficiary's in all (0 <= paid <= dues).
        owed: dues - paid: the guarantee payable, still to be paid from his later earnings.
    """

    dues: int
    paid: int
    owed: int


def settle(dues: int, paid_before: int, guarantor_balance: int) -> Settlement:
    """Settle dues against what was paid so far: the guarantor's earnings (his balance, only
    what is positive) pay what is due first; the rest stays owed. When the dues fell below
    what was paid, the difference goes back to the guarantor (from the beneficiary)."""
    if dues < 0 or paid_before < 0:
        raise ValueError("dues and payments are non-negative")
    want = dues - paid_before
    pay = min(want, max(guarantor_balance, 0)) if want > 0 else want
    paid = paid_before + pay
    return Settlement(dues, paid, dues - paid)
