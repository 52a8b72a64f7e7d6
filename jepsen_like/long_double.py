"""Numbers as Redis prints a long double with ``%.17Lf``, trailing zeros dropped (INCRBYFLOAT's
stored text, GEOPOS's coordinates): the exact value rounded half to even at 17 decimals."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction


def fixed17(value: Fraction | float) -> str:
    """``%.17Lf`` of `value` without trailing zeros (and without the point if nothing follows it), -0 as 0."""
    value = Fraction(value)
    with localcontext() as context:
        context.prec = 200  # enough for any long double's exact decimal expansion here
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        text = format(exact.quantize(Decimal("1e-17"), rounding=ROUND_HALF_EVEN), "f")
    text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
