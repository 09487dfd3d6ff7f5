"""What tests do to an account between requests: add an activity, delete a customer."""

from __future__ import annotations

import bisect
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from .formats import UTC, iso_offset, uuid4
from .generate import CURRENCY
from .generate.book import InvoiceBook
from .journal import Journal, Record, activity_key

if TYPE_CHECKING:
    import random


class Mutations(Journal):
    """Edits that bump the version (the server then re-sorts), as ChartMogul's data changes."""

    _mutation_rng: random.Random
    removed_activity_keys: dict[str, tuple[int, str]]
    data_sources: list[Record]
    customers: list[Record]
    customer_subscriptions: dict[str, list[Record]]
    activities: list[Record]
    subscription_events: list[Record]

    def find_customer(self, uuid: str) -> Record | None:
        """Linear lookup for tests; the server keeps its own index."""
        return next((c for c in self.customers if c["uuid"] == uuid), None)

    def add_activity(self, **overrides: Any) -> Record:
        """Insert a new global activity (e.g. back-dated) keeping ``activities`` sorted.

        Keyword names may use ``_`` for ``-`` (``activity_mrr=5`` sets ``activity-mrr``);
        ``date`` accepts a ``date``/``datetime`` or a string. Unspecified fields are copied
        from a deterministic existing activity of a paying customer.
        """
        with self._lock:
            rng = self._mutation_rng
            base = (
                self.activities[int(rng.random() * len(self.activities))]
                if self.activities
                else self._blank_activity()
            )
            record = dict(base)
            record["uuid"] = uuid4(rng.getrandbits(128))
            for name, value in overrides.items():
                key = name if name in record else name.replace("_", "-")
                record[key] = _wire_datetime(value) if key == "date" else value
            if (
                "activity-mrr" in record
                and "activity_arr" not in overrides
                and "activity-arr" not in overrides
            ):
                record["activity-arr"] = record["activity-mrr"] * 12
            keys = [activity_key(a) for a in self.activities]
            self.activities.insert(bisect.bisect_right(keys, activity_key(record)), record)
            self._version += 1
            return record

    def remove_customer(self, uuid: str, *, cascade: bool = True) -> Record:
        """Delete a customer; with ``cascade`` also everything that belongs to it.

        Afterwards ``/customers`` no longer lists it and its ``/subscriptions`` endpoint
        answers 404, like a customer deleted in ChartMogul.
        """
        with self._lock:
            customer = self.find_customer(uuid)
            if customer is None:
                raise KeyError(uuid)
            self.customers.remove(customer)
            self.customer_subscriptions.pop(uuid, None)
            if cascade:
                kept = []
                for activity in self.activities:
                    if activity["customer-uuid"] == uuid:
                        self.removed_activity_keys[activity["uuid"]] = activity_key(activity)
                    else:
                        kept.append(activity)
                self.activities[:] = kept
                for name in ("invoices", "contacts", "customer_notes", "tasks", "opportunities"):
                    records = getattr(self, name)
                    if isinstance(records, InvoiceBook):
                        records.remove_customer(uuid)
                    else:
                        records[:] = [r for r in records if r.get("customer_uuid") != uuid]
                ext_ids = set(customer["external_ids"])
                ds_ids = set(customer["data_source_uuids"])
                self.subscription_events[:] = [
                    e
                    for e in self.subscription_events
                    if not (
                        e["customer_external_id"] in ext_ids and e["data_source_uuid"] in ds_ids
                    )
                ]
            self._version += 1
            return customer

    def _blank_activity(self) -> Record:
        return {
            "activity-arr": 0,
            "activity-mrr": 0,
            "activity-mrr-movement": 0,
            "billing-connector-uuid": self.data_sources[0]["uuid"],
            "currency": CURRENCY,
            "customer-external-id": "",
            "customer-name": "",
            "customer-uuid": "",
            "date": iso_offset(0),
            "description": "",
            "plan-external-id": "",
            "subscription-external-id": "",
            "subscription-set-external-id": "",
            "type": "new_biz",
            "uuid": "",
        }


def _wire_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return iso_offset(int(value.timestamp()))
    if isinstance(value, date):
        return iso_offset(int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()))
    return str(value)
