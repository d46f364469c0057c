"""Value types of the Wave sandbox: decimals, dates, money, currencies, countries and provinces.

Wave exchanges decimals as strings (``"12.50"``) and money as ``{value, raw, currency}``, where
``raw`` is the amount in the currency's minor unit. Both are easy to get subtly wrong (float
round-off, ``"10"`` vs ``"10.00"``), and the hub's no-op detection depends on the sandbox answering
the same text for the same value, so every conversion lives here, in one place.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "ACCOUNT_SUBTYPES",
    "COUNTRIES",
    "CURRENCIES",
    "EXPENSE_SUBTYPES",
    "INCOME_SUBTYPES",
    "country_node",
    "currency_node",
    "format_decimal",
    "money",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "province_node",
]

# code -> (symbol, name, plural, exponent)
CURRENCIES: dict[str, tuple[str, str, str, int]] = {
    "AUD": ("$", "Australian dollar", "Australian dollars", 2),
    "CAD": ("$", "Canadian dollar", "Canadian dollars", 2),
    "CHF": ("CHF", "Swiss franc", "Swiss francs", 2),
    "DKK": ("kr", "Danish krone", "Danish kroner", 2),
    "EUR": ("€", "Euro", "Euros", 2),
    "GBP": ("£", "Pound sterling", "Pounds sterling", 2),
    "ISK": ("kr", "Icelandic króna", "Icelandic krónur", 0),
    "JPY": ("¥", "Japanese yen", "Japanese yen", 0),
    "NOK": ("kr", "Norwegian krone", "Norwegian kroner", 2),
    "NZD": ("$", "New Zealand dollar", "New Zealand dollars", 2),
    "PLN": ("zł", "Polish złoty", "Polish złoty", 2),
    "SEK": ("kr", "Swedish krona", "Swedish kronor", 2),
    "USD": ("$", "United States dollar", "United States dollars", 2),
}

# code -> (name, currency)
COUNTRIES: dict[str, tuple[str, str]] = {
    "AT": ("Austria", "EUR"),
    "AU": ("Australia", "AUD"),
    "BE": ("Belgium", "EUR"),
    "CA": ("Canada", "CAD"),
    "CH": ("Switzerland", "CHF"),
    "DE": ("Germany", "EUR"),
    "DK": ("Denmark", "DKK"),
    "ES": ("Spain", "EUR"),
    "FI": ("Finland", "EUR"),
    "FR": ("France", "EUR"),
    "GB": ("United Kingdom", "GBP"),
    "IE": ("Ireland", "EUR"),
    "IS": ("Iceland", "ISK"),
    "IT": ("Italy", "EUR"),
    "NL": ("Netherlands", "EUR"),
    "NO": ("Norway", "NOK"),
    "NZ": ("New Zealand", "NZD"),
    "PL": ("Poland", "PLN"),
    "SE": ("Sweden", "SEK"),
    "US": ("United States", "USD"),
}

# ISO-3166-2 subdivisions Wave names; any other code is echoed back with the code as its name.
PROVINCES: dict[str, str] = {
    "CA-AB": "Alberta",
    "CA-BC": "British Columbia",
    "CA-ON": "Ontario",
    "CA-QC": "Quebec",
    "US-CA": "California",
    "US-NY": "New York",
    "US-TX": "Texas",
    "NO-03": "Oslo",
    "NO-46": "Vestland",
    "NO-50": "Trøndelag",
    "SE-AB": "Stockholms län",
    "DK-84": "Region Hovedstaden",
}

# subtype -> (display name, account type)
ACCOUNT_SUBTYPES: dict[str, tuple[str, str]] = {
    "CASH_AND_BANK": ("Cash and Bank", "ASSET"),
    "COST_OF_GOODS_SOLD": ("Cost of Goods Sold", "EXPENSE"),
    "DISCOUNTS": ("Discount", "INCOME"),
    "EXPENSE": ("Operating Expense", "EXPENSE"),
    "INCOME": ("Income", "INCOME"),
    "OTHER_INCOME": ("Other Income", "INCOME"),
    "PAYROLL_EXPENSES": ("Payroll Expense", "EXPENSE"),
    "UNCATEGORIZED_EXPENSE": ("Uncategorized Expense", "EXPENSE"),
    "UNCATEGORIZED_INCOME": ("Uncategorized Income", "INCOME"),
}

# Wave: a product is sold through an income-like account and bought through an expense-like one.
INCOME_SUBTYPES = frozenset({"INCOME", "DISCOUNTS", "OTHER_INCOME", "UNCATEGORIZED_INCOME"})
EXPENSE_SUBTYPES = frozenset(
    {"EXPENSE", "COST_OF_GOODS_SOLD", "PAYROLL_EXPENSES", "UNCATEGORIZED_EXPENSE"}
)


def parse_decimal(value: Any) -> Decimal:
    """A Decimal from a string or a number; ``ValueError`` for anything else.

    Floats go through ``repr`` so ``12.5`` becomes ``Decimal("12.5")`` and not its binary
    expansion. Booleans are rejected: ``True`` is an ``int`` in Python but not a price.

    >>> parse_decimal("12.50"), parse_decimal(3), parse_decimal(0.1)
    (Decimal('12.50'), Decimal('3'), Decimal('0.1'))
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a decimal, got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"expected a decimal, got {value!r}") from None
    else:
        raise ValueError(f"expected a decimal, got {value!r}")
    if not result.is_finite():
        raise ValueError(f"expected a finite decimal, got {value!r}")
    return result


def format_decimal(value: Decimal, places: int | None = None) -> str:
    """The canonical text of a decimal: fixed point, at least ``places`` decimals if given.

    Without ``places`` trailing zeros are dropped (quantities: ``"2"``, ``"1.5"``); with it the
    value is padded but never rounded away (prices: ``"12.50"``, ``"0.125"``).

    >>> format_decimal(Decimal("2.000")), format_decimal(Decimal("12.5"), 2)
    ('2', '12.50')
    """
    normal = value.normalize()
    if normal == 0:
        normal = Decimal(0)
    exponent = normal.as_tuple().exponent
    assert isinstance(exponent, int)  # finite by construction
    decimals = max(-exponent, 0)
    if places is not None:
        decimals = max(decimals, places)
    return f"{normal:.{decimals}f}"


def parse_date(value: Any) -> date:
    """A date from ``YYYY-MM-DD``; ``ValueError`` otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"expected a date 'YYYY-MM-DD', got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected a date 'YYYY-MM-DD', got {value!r}") from None


def parse_datetime(value: Any) -> datetime:
    """An aware UTC datetime from ISO-8601 text (``Z`` or an offset; naive means UTC)."""
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO-8601 date-time, got {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected an ISO-8601 date-time, got {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def currency_node(code: str) -> dict[str, Any]:
    """The GraphQL ``Currency`` of an ISO code (unknown codes get the code as symbol and name)."""
    symbol, name, plural, exponent = CURRENCIES.get(code, (code, code, code, 2))
    return {"code": code, "symbol": symbol, "name": name, "plural": plural, "exponent": exponent}


def country_node(code: str) -> dict[str, Any]:
    """The GraphQL ``Country`` of an ISO code, with the provinces this sandbox knows."""
    name, currency = COUNTRIES.get(code, (code, "USD"))
    provinces = [
        {"code": p, "name": n} for p, n in sorted(PROVINCES.items()) if p.startswith(code + "-")
    ]
    return {"code": code, "name": name, "currency": currency_node(currency), "provinces": provinces}


def province_node(code: str) -> dict[str, Any]:
    """The GraphQL ``Province`` of an ISO-3166-2 code."""
    return {"code": code, "name": PROVINCES.get(code, code)}


def money(amount: Decimal, currency: str) -> dict[str, Any]:
    """A GraphQL ``Money``: value in the major unit, raw in the minor unit (rounded half-up).

    >>> money(Decimal("12.5"), "NOK")["value"], money(Decimal("12.5"), "NOK")["raw"]
    ('12.50', 1250)
    """
    exponent = currency_node(currency)["exponent"]
    quantum = Decimal(1).scaleb(-exponent)
    rounded = amount.quantize(quantum, rounding="ROUND_HALF_UP")
    return {
        "value": format_decimal(rounded, exponent),
        "raw": int(rounded.scaleb(exponent)),
        "currency": currency_node(currency),
    }
