"""The account, its data sources, plans and plan groups (drawn first, before any customer)."""

from __future__ import annotations

from fake_chartmogul import vocab
from fake_chartmogul.formats import iso_millis, uuid_millis

from .base import CONNECTED_AT, CURRENCY, DAY, W0, W1, Draws, ImportClock, Record


class CatalogDraws(Draws):
    """Account settings, data sources, plans with their prices, plan groups."""

    def account(self) -> tuple[Record, Record]:
        """The account and the settings ``include`` asks for (docs/chartmogul-api.md §2.1)."""
        account = {
            "id": self.uuid("acc_"),
            "name": "Example Analytics GmbH",
            "currency": CURRENCY,
            "time_zone": "Europe/Berlin",
            "week_start_on": "monday",
        }
        settings = {
            "churn_recognition": "churn_at_time_of_cancelation",
            "churn_when_zero_mrr": True,
            "auto_churn_subscription": False,
            "refund_handling": "refund_ignore",
            "proximate_movement_reclassification": "recurring_revenue_only",
        }
        return account, settings

    def data_sources(self) -> list[Record]:
        """Two or three data sources (or the shape's count), Stripe first.

        A thick account's sources were connected inside the window (``CONNECTED_AT``), so
        what happened before each was bulk-imported then (:class:`ImportClock`); a thin
        account's were connected before anything happened.
        """
        count = 3 if self.rand() < 0.5 else 2
        count = self.shape.data_sources or count
        out = []
        connected: dict[str, int] = {}
        for k in range(count):
            system, name = vocab.DATA_SOURCES[k]
            created = W0 - (400 - 90 * k) * DAY + self.between(0, DAY)
            if self.shape.thick:
                created += 400 * DAY - 90 * k * DAY + int(CONNECTED_AT[k] * (W1 - W0))
            uuid = self.uuid("ds_")
            out.append(
                {
                    "uuid": uuid,
                    "name": name,
                    "system": system,
                    "created_at": iso_millis(created, self.between(0, 999)),
                    "status": "idle",
                }
            )
            connected[uuid] = created
        if self.shape.thick:
            self.clock = ImportClock(connected)
        self.first_source = out[0]["uuid"]
        return out

    def plans(
        self, data_sources: list[Record]
    ) -> tuple[list[Record], dict[str, int], dict[str, list[Record]]]:
        """Plans (newest created first), their monthly prices and the plans of each source."""
        count = max(5, self.n // 200)
        made: list[tuple[int, str, Record]] = []
        prices: dict[str, int] = {}
        by_ds: dict[str, list[Record]] = {d["uuid"]: [] for d in data_sources}
        names: set[str] = set()
        for k in range(count):
            ds = data_sources[k] if k < len(data_sources) else self.weighted_ds(data_sources)
            tier, price = self.pick(vocab.PLAN_TIERS)
            r = self.rand()
            cadence = vocab.PLAN_CADENCES[
                0 if r < 0.55 else 1 if r < 0.8 else 2 if r < 0.9 else 3 if r < 0.96 else 4
            ]
            count_, unit, label, _months = cadence
            name = f"{tier} {label}"
            suffix = 2
            while name in names:
                name = f"{tier} {label} v{suffix}"
                suffix += 1
            names.add(name)
            created = W0 - 200 * DAY + self.between(0, (W1 - W0) // 2)
            created = self.clock.created(ds["uuid"], created)
            uuid = self.timed("pl_", created)
            external_id = (
                f"price_{self.bits(64):016x}" if ds["system"] == "Stripe" else f"plan_{k + 1:04d}"
            )
            record = {
                "uuid": uuid,
                "data_source_uuid": ds["uuid"],
                "name": name,
                "interval_count": count_,
                "interval_unit": unit,
                "external_id": external_id,
            }
            monthly = price * (85 if unit == "year" else 100) // 100
            prices[uuid] = monthly
            by_ds[ds["uuid"]].append(record)
            made.append((created, uuid, record))
        made.sort(key=lambda t: (-uuid_millis(t[1]), t[1]))
        return [t[2] for t in made], prices, by_ds

    def weighted_ds(self, data_sources: list[Record]) -> Record:
        """A data source, the first one most often (as an account's main billing system)."""
        r = self.rand()
        if r < 0.7 or len(data_sources) == 1:
            return data_sources[0]
        if r < 0.95 or len(data_sources) == 2:
            return data_sources[1]
        return data_sources[2]

    def plan_groups(self, plans: list[Record]) -> tuple[list[Record], dict[str, list[Record]]]:
        """Three plan groups of up to six plans each."""
        groups: list[Record] = []
        members: dict[str, list[Record]] = {}
        for k, name in enumerate(("Self-serve", "Sales-led", "Legacy")):
            size = self.between(1, min(len(plans), 6))
            chosen = self.rng.sample(plans, size)
            chosen.sort(key=lambda p: (-uuid_millis(p["uuid"]), p["uuid"]))
            created = W0 + (k * 200 + self.between(0, 100)) * DAY
            uuid = self.timed("plg_", self.clock.created(self.first_source, created))
            groups.append({"uuid": uuid, "name": name, "plans_count": len(chosen)})
            members[uuid] = chosen
        groups.sort(key=lambda g: (-uuid_millis(g["uuid"]), g["uuid"]))
        return groups, members
