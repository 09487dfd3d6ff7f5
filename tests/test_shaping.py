"""Records get snake_case keys and typed values, without losing data."""

from __future__ import annotations

import logging
from decimal import Decimal

from tap_chartmogul.shaping import RecordShaper, snake_case

SCHEMA = {
    "type": "object",
    "properties": {
        "uuid": {"type": ["string"]},
        "customer_since": {"type": ["string", "null"], "format": "date-time"},
        "mrr": {"type": ["integer", "null"]},
        "ltv": {"type": ["number", "null"]},
        "email": {"type": ["string", "null"]},
        "active": {"type": ["boolean", "null"]},
        "address": {
            "type": ["object", "null"],
            "properties": {"address_zip": {"type": ["string", "null"]}},
        },
        "attributes": {
            "type": ["object", "null"],
            "properties": {"custom": {"type": ["object", "null"]}},
        },
        "line_items": {
            "type": ["array", "null"],
            "items": {
                "type": ["object", "null"],
                "properties": {"amount_in_cents": {"type": ["integer", "null"]}},
            },
        },
    },
}


NULLS = dict.fromkeys(SCHEMA["properties"])


def test_snake_case():
    assert snake_case("customer-since") == "customer_since"
    assert snake_case("activity-mrr-movement") == "activity_mrr_movement"
    assert snake_case("Billing System") == "billing_system"
    assert snake_case("already_snake") == "already_snake"


def test_hyphenated_keys_are_renamed_at_every_described_level():
    shaper = RecordShaper(SCHEMA)
    out = shaper(
        {
            "uuid": "cus_1",
            "customer-since": "2016-01-01T12:00:00+00:00",
            "address": {"address-zip": "10115"},
            "line_items": [{"amount-in-cents": 100}],
        }
    )
    assert out == {
        **NULLS,
        "uuid": "cus_1",
        "customer_since": "2016-01-01T12:00:00+00:00",
        "address": {"address_zip": "10115"},
        "line_items": [{"amount_in_cents": 100}],
    }


def test_free_form_objects_keep_the_users_keys():
    shaper = RecordShaper(SCHEMA)
    custom = {"Sales-Rep": "Ann", "seats": 3}
    out = shaper({"attributes": {"custom": custom}})
    assert out["attributes"]["custom"] == {"Sales-Rep": "Ann", "seats": 3}


def test_empty_strings_become_null_where_a_number_or_date_belongs():
    shaper = RecordShaper(SCHEMA)
    out = shaper({"customer-since": "", "mrr": "", "ltv": "", "active": "", "email": ""})
    assert out == {**NULLS, "email": ""}


def test_integer_columns_accept_integral_floats_and_digit_strings():
    shaper = RecordShaper(SCHEMA)
    out = shaper({"mrr": 15620.0})
    assert out["mrr"] == 15620
    assert type(out["mrr"]) is int
    assert shaper({"mrr": Decimal("7.0")})["mrr"] == 7
    assert shaper({"mrr": "42"})["mrr"] == 42


def test_fractional_value_in_an_integer_column_is_nulled_with_a_warning_not_rounded(caplog):
    shaper = RecordShaper(SCHEMA, stream="customers", primary_keys=("uuid",))
    with caplog.at_level(logging.WARNING):
        out = shaper({"uuid": "cus_1", "mrr": 10908.61})
    assert out["mrr"] is None
    assert any(
        "customers" in m and "uuid=cus_1" in m and "field mrr" in m and "emitted as null" in m
        for m in caplog.messages
    )


def test_unknown_fields_are_dropped_with_one_warning_per_key(caplog):
    shaper = RecordShaper(SCHEMA)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert shaper({"uuid": "x", "brand-new-field": 1, "address": {"geo": "52N"}}) == {
                **NULLS,
                "uuid": "x",
                "address": {"address_zip": None},
            }
    warnings = [m for m in caplog.messages if "does not know" in m]
    assert len(warnings) == 2
    assert any(m.startswith("Ignoring brand_new_field") for m in warnings)
    assert any(m.startswith("Ignoring address.geo") for m in warnings)


def test_free_form_objects_keep_unknown_keys():
    shaper = RecordShaper(SCHEMA)
    assert shaper({"attributes": {"custom": {"New-Key": 1}, "stripe": {}}})["attributes"] == {
        "custom": {"New-Key": 1},
    }


def test_non_object_where_object_expected_is_not_a_crash():
    shaper = RecordShaper(SCHEMA)
    assert shaper({"address": "", "line_items": ""}) == NULLS


def test_missing_optional_fields_become_explicit_nulls_at_every_level():
    shaper = RecordShaper(SCHEMA)
    out = shaper({"uuid": "cus_1", "address": {}, "attributes": {"custom": {"a": 1}}})
    assert set(out) == set(SCHEMA["properties"])
    assert out["mrr"] is None
    assert out["address"] == {"address_zip": None}
    assert out["attributes"] == {"custom": {"a": 1}}
