"""What a tax form may contain, and how much is withheld: pure checks, no database.

TIN formats are the IRS's (https://www.irs.gov/individuals/international-taxpayers/
taxpayer-identification-numbers-tin): an SSN is 9 digits AAA-GG-SSSS whose area is never
000, 666 or 900-999, group never 00, serial never 0000; an ITIN is 9 digits starting with 9
whose 4th-5th digits are 50-65, 70-88, 90-92 or 94-99; an EIN is 9 digits XX-XXXXXXX whose
prefix the IRS has assigned (never 00, 07-09, 17-19, 28-29, 49, 69-70, 78-79, 89, 96-97).
Withholding (configured rates, in basis points): a US person without a certified TIN gets
backup withholding (TAX_BACKUP_WITHHOLDING_BPS, 24 % by default, IRC 3406); royalties paid to
a foreign person are withheld at the statutory TAX_NRA_WITHHOLDING_BPS (30 %, IRC 1442) or at
the lower rate of the treaty the payee claims on the W-8BEN; a certified W-9 withholds nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from babel import Locale

from marketplace.errors import ServiceError
from marketplace.formatting import parse_decimal_input

_DIGITS = re.compile(r"\D")
_FOREIGN_TIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./-]{0,38}[A-Za-z0-9]$|^[A-Za-z0-9]$")
_EIN_UNASSIGNED = {
    "00",
    "07",
    "08",
    "09",
    "17",
    "18",
    "19",
    "28",
    "29",
    "49",
    "69",
    "70",
    "78",
    "79",
    "89",
    "96",
    "97",
}
_ITIN_GROUPS = [*range(50, 66), *range(70, 89), 90, 91, 92, *range(94, 100)]


def countries() -> dict[str, str]:
    """ISO 3166 alpha-2 codes and their English names (CLDR, through Babel)."""
    names = Locale("en").territories
    return {code: names[code] for code in sorted(names) if len(code) == 2 and code.isalpha()}


def check_country(code: str, field: str) -> str:
    """An upper-cased ISO country code, or a clear error."""
    value = (code or "").strip().upper()
    if value not in countries() or value in ("ZZ", "XK", "EU", "UN", "EZ", "QO"):
        raise ServiceError(
            f"{code!r} is not a country we know: use its ISO code, e.g. DE.", field=field
        )
    return value


def normalise_us_tin(tin_type: str, raw: str) -> str:
    """The 9 digits of an SSN, ITIN or EIN, or an error that says which rule it breaks (the
    TIN itself is never repeated in the message)."""
    digits = _DIGITS.sub("", raw or "")
    if len(digits) != 9 or not re.fullmatch(r"[\d\s-]+", (raw or "").strip() or "x"):
        raise ServiceError(
            "An %(tin_type)s has 9 digits.", field="tin", params={"tin_type": tin_type}
        )
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if tin_type == "SSN":
        if area in ("000", "666") or area.startswith("9") or group == "00" or serial == "0000":
            raise ServiceError(
                "That is not a valid SSN (its first 3 digits are never 000, 666 or 9xx, the "
                "next 2 never 00, the last 4 never 0000). An ITIN starts with 9.",
                field="tin",
            )
    elif tin_type == "ITIN":
        if not area.startswith("9") or int(group) not in _ITIN_GROUPS:
            raise ServiceError(
                "That is not a valid ITIN (it starts with 9 and its 4th and 5th digits are "
                "50-65, 70-88, 90-92 or 94-99).",
                field="tin",
            )
    elif tin_type == "EIN":
        if digits[:2] in _EIN_UNASSIGNED:
            raise ServiceError(
                "That is not a valid EIN: the IRS assigns no such prefix.", field="tin"
            )
    else:
        raise ServiceError("Choose SSN, ITIN or EIN.", field="tin_type")
    return digits


def normalise_foreign_tin(raw: str) -> str:
    """A foreign TIN: 1 to 40 letters and digits (spaces, dots, slashes, dashes inside)."""
    value = (raw or "").strip()
    if not _FOREIGN_TIN.match(value):
        raise ServiceError(
            "Give the tax identification number of your country of residence: 1 to 40 "
            "letters and digits.",
            field="foreign_tin",
        )
    return value


def percent_to_bps(raw: str, field: str) -> int:
    """ "15" or "12.5" (percent, at most 2 decimals) as basis points."""
    value = parse_decimal_input((raw or "").strip().rstrip("%"))
    if value is None:
        raise ServiceError("Give the rate as a percentage, e.g. 10 or 12.5.", field=field)
    whole_bps = value == value.quantize(Decimal("0.01"))
    if not whole_bps or value < 0 or value > 100:
        raise ServiceError("Give the rate as a percentage from 0 to 100.", field=field)
    return int(value * 100)


@dataclass(frozen=True)
class Withholding:
    """The withholding that applies to a payee: rate_bps and case ("none", "backup",
    "nra_statutory", "nra_treaty"), and a label for people."""

    rate_bps: int
    case: str
    label: str


def withholding_for(
    *, us_person: bool, certified: bool, treaty_rate_bps: int | None, backup_bps: int, nra_bps: int
) -> Withholding:
    """The rate and case for a profile (see the module docstring)."""
    if us_person:
        if certified:
            return Withholding(0, "none", "no withholding (certified W-9)")
        return Withholding(backup_bps, "backup", "backup withholding (W-9 not certified)")
    if treaty_rate_bps is not None and treaty_rate_bps < nra_bps:
        return Withholding(treaty_rate_bps, "nra_treaty", "treaty rate (W-8BEN)")
    return Withholding(nra_bps, "nra_statutory", "statutory rate for royalties (W-8BEN)")


def withheld(gross: int, rate_bps: int) -> int:
    """The minor units withheld from `gross` at `rate_bps` (half up, integers only)."""
    return (gross * rate_bps + 5_000) // 10_000
