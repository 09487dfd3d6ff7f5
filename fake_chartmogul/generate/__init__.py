"""Deterministic generation of a whole fake ChartMogul account.

Everything is drawn from one ``random.Random(seed)`` in a fixed order and all timestamps live
in a fixed window (2022-01-01 .. 2025-12-31, "now" = 2026-01-01), so the same
``(customers, seed)`` always yields byte-identical records, whatever day the tests run.

Records are produced directly in the API's wire shape (hyphenated keys, ``""`` vs ``null``
quirks, ``.000Z`` vs ``+00:00`` timestamps: docs/chartmogul-api.md §1.6 and §4) because
tests compare tap output against them.
The hot loop avoids ``datetime`` objects and ``Random.choice``/``randint`` (slow) so 50 000
customers build in a few seconds.

The generator is one class in layers, each a resource, each drawing from the same RNG:
``base.Draws`` (the RNG's draws) <- ``catalog`` (account, data sources, plans, plan groups)
<- ``customers`` <- ``subscriptions`` (with their activities and events) <- ``invoices``
(line items, transactions) <- ``crm`` (contacts, notes, tasks, opportunities) <- ``build``
(the run, customer by customer). ``records`` holds the wire records that simulated days make
too.
"""

from __future__ import annotations

from .base import (
    AS_OF,
    CURRENCY,
    CURRENCY_SIGN,
    DAY,
    FIRST_CUSTOMER_ID,
    FIRST_EVENT_ID,
    FIRST_SUBSCRIPTION_ID,
    NOW,
    W0,
    W1,
    WINDOW_END,
    WINDOW_START,
    Dataset,
    Record,
    Shape,
)
from .build import Drawer, generate
from .records import (
    activity_record,
    classify_customer_moves,
    event_record,
    movement_type,
    plan_cycle,
    subscription_record,
)

__all__ = [
    "AS_OF",
    "CURRENCY",
    "CURRENCY_SIGN",
    "DAY",
    "FIRST_CUSTOMER_ID",
    "FIRST_EVENT_ID",
    "FIRST_SUBSCRIPTION_ID",
    "NOW",
    "W0",
    "W1",
    "WINDOW_END",
    "WINDOW_START",
    "Dataset",
    "Drawer",
    "Record",
    "Shape",
    "activity_record",
    "classify_customer_moves",
    "event_record",
    "generate",
    "movement_type",
    "plan_cycle",
    "subscription_record",
]
