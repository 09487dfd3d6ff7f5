"""The wire records the generator and the simulated days both make, and MRR typing."""

from __future__ import annotations

import itertools

from fake_chartmogul.formats import iso_offset, iso_z

from .base import CURRENCY, CURRENCY_SIGN, DAY, Record


def plan_cycle(plan: Record) -> tuple[float, int]:
    """(months per billing cycle, cycle length in seconds) of ``plan``."""
    unit, interval = plan["interval_unit"], plan["interval_count"]
    months = interval * (12.0 if unit == "year" else 1.0) if unit != "day" else 1.0
    cycle = interval * DAY if unit == "day" else int(months * 30.44 * DAY)
    return months, cycle


def subscription_record(  # noqa: PLR0913 - one argument per drawn value
    *,
    sub_id: int,
    uuid: str,
    external_id: str,
    set_id: str,
    plan: Record,
    quantity: int,
    mrr: int,
    arr: float,
    active: bool,
    start: int,
    end: int,
) -> Record:
    """A ``/customers/{uuid}/subscriptions`` entry (docs/chartmogul-api.md §2.6).

    Inactive subscriptions carry ``mrr``/``arr`` 0 and end on their cancellation.
    """
    return {
        "id": sub_id,
        "uuid": uuid,
        "external_id": external_id,
        "subscription_set_external_id": set_id,
        "plan": plan["name"],
        "quantity": quantity,
        "mrr": mrr if active else 0,
        "arr": arr if active else 0,
        "status": "active" if active else "inactive",
        "billing-cycle": plan["interval_unit"],
        "billing-cycle-count": plan["interval_count"],
        "start-date": iso_offset(start),
        "end-date": iso_offset(end),
        "currency": CURRENCY,
        "currency-sign": CURRENCY_SIGN,
    }


def activity_record(
    customer: Record, sub: Record, plan: Record, move: tuple[int, str, int, int, str], uuid: str
) -> Record:
    """A global ``/activities`` entry (docs/chartmogul-api.md §2.7).

    ``move`` is (time, type, MRR after the move, MRR movement, description).
    """
    ts, kind, level, movement, text = move
    return {
        "activity-arr": level * 12,
        "activity-mrr": level,
        "activity-mrr-movement": movement,
        "billing-connector-uuid": customer["data_source_uuid"],
        "currency": CURRENCY,
        "customer-external-id": customer["external_id"],
        "customer-name": customer["name"],
        "customer-uuid": customer["uuid"],
        "date": iso_offset(ts),
        "description": text,
        "plan-external-id": plan["external_id"],
        "subscription-external-id": sub["external_id"],
        "subscription-set-external-id": sub["subscription_set_external_id"],
        "type": kind,
        "uuid": uuid,
    }


def movement_type(delta: int, before: int, after: int, *, paid_before: bool) -> str:
    """ChartMogul's customer-level type of an MRR movement of ``delta`` cents.

    ``before``/``after`` are the customer's MRR before and after the instant of the movement
    (all of the customer's movements at that instant); ``paid_before``: it had MRR earlier.
    A first MRR is new business, MRR after having churned a reactivation, losing all MRR churn;
    any other rise or fall (a second subscription, one of two cancelled) expansion/contraction.
    """
    if delta > 0:
        if before <= 0:
            return "reactivation" if paid_before else "new_biz"
        return "expansion"
    return "churn" if after <= 0 else "contraction"


def classify_customer_moves(moves: list[tuple[int, str, Record]]) -> None:
    """Give one customer's activities (time, uuid, record) their customer-level ``type``.

    The generator draws activities per subscription; ChartMogul types them per customer
    (:func:`movement_type`), which is what its metrics and a warehouse's MRR bridge count.
    """
    mrr, paid = 0, False
    for _, group in itertools.groupby(sorted(moves, key=lambda m: m[:2]), key=lambda m: m[0]):
        same = [record for _, _, record in group]
        after = mrr + sum(record["activity-mrr-movement"] for record in same)
        for record in same:
            delta = record["activity-mrr-movement"]
            if delta:
                record["type"] = movement_type(delta, mrr, after, paid_before=paid)
        paid = paid or after > 0
        mrr = after


def event_record(
    customer: Record,
    sub: Record,
    plan: Record,
    spec: tuple[int, str, int, str],
    drawn: tuple[int, int, str | None, int | None],
) -> Record:
    """A ``/subscription_events`` entry (docs/chartmogul-api.md §2.15), ``id`` still 0.

    ``spec`` is (event time, type, amount, style) and ``drawn`` (created, updated,
    external id, tax); see :meth:`Drawer.event`.
    """
    ts, kind, amount, style = spec
    filled = style == "filled"
    empty: str | None = "" if style == "blank" else None
    return {
        "id": 0,
        "data_source_uuid": customer["data_source_uuid"],
        "customer_external_id": customer["external_id"],
        "subscription_set_external_id": sub["subscription_set_external_id"] if filled else empty,
        "subscription_external_id": sub["external_id"],
        "plan_external_id": plan["external_id"] if filled else empty,
        "event_date": iso_z(ts),
        "effective_date": iso_z(ts),
        "event_type": kind,
        "external_id": drawn[2],
        "errors": {},
        "created_at": iso_z(drawn[0]),
        "updated_at": iso_z(drawn[1]),
        "quantity": sub["quantity"] if filled else empty,
        "currency": CURRENCY if filled else empty,
        "amount_in_cents": amount if filled else empty,
        "tax_amount_in_cents": drawn[3],
        "retracted_event_id": None,
    }
