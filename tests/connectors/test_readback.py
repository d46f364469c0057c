"""A share's ``compare`` paths run backwards: the record a system holds after a write."""

from __future__ import annotations

import jmespath
import pytest

from engine.connectors.readback import NotInvertible, invert, read_back

WAVE_INVOICE = {
    "customerId": "customer.id",
    "currency": "currency.code",
    "items": "items[].{productId: product.id, quantity: quantity}",
    "address": "{line1: address.addressLine1, countryCode: address.country.code}",
}


def test_reading_the_inverse_back_through_compare_gives_the_body() -> None:
    body = {
        "customerId": "C1",
        "currency": "NOK",
        "items": [{"productId": "P1", "quantity": "2"}, {"productId": "P2", "quantity": "1"}],
        "address": {"line1": "Strandgata 1", "countryCode": "NO"},
        "memo": "as is",
    }
    record = read_back(body, WAVE_INVOICE)
    assert record["customer"] == {"id": "C1"}
    assert record["items"][1] == {"product": {"id": "P2"}, "quantity": "1"}
    assert record["address"] == {"addressLine1": "Strandgata 1", "country": {"code": "NO"}}
    assert record["memo"] == "as is"
    for field, path in WAVE_INVOICE.items():
        assert jmespath.search(path, record) == body[field], field


def test_an_expression_with_no_single_inverse_keeps_the_field_as_sent() -> None:
    assert read_back({"total": 5}, {"total": "sum(items[].amount)"}) == {"total": 5}
    with pytest.raises(NotInvertible):
        invert(jmespath.compile("a || b").parsed, 1, {})
