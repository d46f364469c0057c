"""DTL phone-number functions: ``phonenumber-parse``, ``phonenumber-format``,
``is-phonenumber``.

A phone number is a URI in RFC 3966 form (``~rtel:+47-22-22-22-22``), as in Sesam. Parsing,
validation and the national formats come from the ``phonenumbers`` package (Google's
libphonenumber metadata), which is what Sesam's own output matches; hand-written rules could
not reproduce national groupings for every country.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat

from engine.dtl.registry import SpecCollector
from engine.dtl.values import DROP, first_value, map_each
from engine.entity import URI
from engine.errors import DtlEvalError

FUNCTIONS = SpecCollector()

FORMATS = (
    "e164",
    "rfc3966",
    "national",
    "international",
    "national-e164",
    "isocode",
    "country-code",
)


def parse_number(value: Any, region: str | None) -> PhoneNumber | None:
    """A valid phone number from text, an integer or a ``tel:`` URI, or ``None``."""
    if isinstance(value, URI):
        text = value.value
    elif isinstance(value, str):
        text = value
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def to_uri(number: PhoneNumber) -> URI:
    """The RFC 3966 URI of a number: ``tel:+47-22-22-22-22``."""
    return URI(phonenumbers.format_number(number, PhoneNumberFormat.RFC3966))


@FUNCTIONS.expression("phonenumber-parse", min_args=1, max_args=2)
def phonenumber_parse(*args: Any) -> Any:
    """Parse phone numbers into ``tel:`` URIs.

    ``phonenumber-parse([DEFAULT_REGION], VALUES)``: strings or numbers that are valid phone
    numbers become ``tel:`` URIs (``"+4722222222"`` → ``~rtel:+47-22-22-22-22``). Numbers
    without a country code take DEFAULT_REGION (an ISO code such as ``"NO"``). Others are
    ignored."""
    region: str | None = None
    if len(args) == 2:
        r = first_value(args[0])
        if not isinstance(r, str):
            raise DtlEvalError(f"phonenumber-parse: DEFAULT_REGION must be a string, got {r!r}")
        region = r.upper()

    def convert(value: Any) -> Any:
        number = parse_number(value, region)
        return DROP if number is None else to_uri(number)

    return map_each(args[-1], convert)


def format_number(number: PhoneNumber, fmt: str) -> str:
    """One of the documented output formats of ``phonenumber-format``."""
    if fmt == "e164":
        return phonenumbers.format_number(number, PhoneNumberFormat.E164).lstrip("+")
    if fmt == "rfc3966":
        return phonenumbers.format_number(number, PhoneNumberFormat.RFC3966)
    if fmt == "national":
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    if fmt == "international":
        return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    if fmt == "national-e164":
        return phonenumbers.national_significant_number(number)
    if fmt == "isocode":
        return phonenumbers.region_code_for_number(number) or ""
    return str(number.country_code)


@FUNCTIONS.expression("phonenumber-format", min_args=2, max_args=2)
def phonenumber_format(fmt: Any, values: Any) -> Any:
    """Format ``tel:`` URIs as phone-number strings.

    ``phonenumber-format(FORMAT, VALUES)``: format ``tel:`` URIs. FORMAT is ``e164``
    (``"4722222222"``, no plus), ``rfc3966``, ``national`` (``"22 22 22 22"``),
    ``international`` (``"+47 22 22 22 22"``), ``national-e164`` (``"22222222"``), ``isocode``
    (``"NO"``) or ``country-code`` (``"47"``). Other values are ignored."""
    f = first_value(fmt)
    if f not in FORMATS:
        raise DtlEvalError(
            f"phonenumber-format: FORMAT must be one of {', '.join(FORMATS)}; got {f!r}"
        )

    def convert(value: Any) -> Any:
        if not isinstance(value, URI):
            return DROP
        number = parse_number(value, None)
        return DROP if number is None else format_number(number, str(f))

    return map_each(values, convert)


@FUNCTIONS.expression("is-phonenumber", min_args=1, max_args=1)
def is_phonenumber(value: Any) -> bool:
    """True if the value (or the first list element) is a ``tel:`` URI of a valid number."""
    v = first_value(value)
    return isinstance(v, URI) and parse_number(v, None) is not None
