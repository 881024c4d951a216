"""Money as integer pence: settings figures, what residents type, and how replies show it.

GOV.UK Pay takes amounts in pence; floats never touch a charge or a payment.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

MIN_PENCE = 30  # GOV.UK Pay's smallest card payment (30p)
MAX_PENCE = 10_000_000  # and its largest (£100,000)


def to_pence(value: Any) -> int:
    """Pounds as a number or text ("1234.56", 1234.5, "1,234.56") -> 123456; ValueError otherwise.

    More than two decimal places is refused rather than rounded: a charge or payment is exact."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError(f"not an amount of money: {value!r}")
    text = str(value).strip().replace(",", "").lstrip("£").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount of money: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"not an amount of money: {value!r}")
    pence = amount * 100
    if pence != pence.to_integral_value():
        raise ValueError(f"more than two decimal places: {value!r}")
    return int(pence)


def pounds(pence: int) -> str:
    """123456 -> "£1,234.56" (always with pence, as a bill shows it)."""
    return f"£{pence // 100:,}.{pence % 100:02d}"


def instalments(total: int, count: int) -> tuple[int, int]:
    """(first, each of the rest): the rest are equal whole pence, the first takes the odd pence.

    >>> instalments(163334, 10)
    (16337, 16333)
    """
    rest = total // count
    return total - rest * (count - 1), rest


def in_range(pence: int) -> bool:
    return MIN_PENCE <= pence <= MAX_PENCE
