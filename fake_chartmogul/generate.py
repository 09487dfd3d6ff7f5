"""Deterministic generation of a whole fake ChartMogul account.

Everything is drawn from one ``random.Random(seed)`` in a fixed order and all timestamps live
in a fixed window (2022-01-01 .. 2025-12-31, "now" = 2026-01-01), so the same
``(customers, seed)`` always yields byte-identical records, whatever day the tests run.

Records are produced directly in the API's wire shape (hyphenated keys, ``""`` vs ``null``
quirks, ``.000Z`` vs ``+00:00`` timestamps: docs/chartmogul-api.md §1.6 and §4) because
tests compare tap output against them.
The hot loop avoids ``datetime`` objects and ``Random.choice``/``randint`` (slow) so 50 000
customers build in a few seconds.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from . import vocab
from .formats import epoch, iso_millis, iso_offset, iso_z, timed_uuid, uuid4, uuid_millis, ymd
from .paging import gc_paused

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

WINDOW_START = date(2022, 1, 1)
WINDOW_END = date(2025, 12, 31)
AS_OF = date(2026, 1, 1)
"""The fake's frozen "today": active subscriptions renew after it, nothing is created after it."""

W0 = epoch(WINDOW_START)
W1 = epoch(WINDOW_END) + 86399
NOW = epoch(AS_OF)
DAY = 86400
CURRENCY = "EUR"
CURRENCY_SIGN = "€"
FIRST_CUSTOMER_ID = 10_001
FIRST_SUBSCRIPTION_ID = 500_001
FIRST_EVENT_ID = 900_001

Record = dict[str, Any]


@dataclass
class Dataset:
    """Everything :func:`generate` produces; :class:`~.data.FakeAccount` adopts these fields."""

    account: Record
    account_settings: Record
    data_sources: list[Record]
    plans: list[Record]
    plan_prices: dict[str, int]
    plan_groups: list[Record]
    plan_group_plans: dict[str, list[Record]]
    customers: list[Record]
    customer_subscriptions: dict[str, list[Record]]
    activities: list[Record]
    invoices: list[Record]
    subscription_events: list[Record]
    contacts: list[Record]
    customer_notes: list[Record]
    tasks: list[Record]
    opportunities: list[Record]


@dataclass
class _Sub:
    """Generator-internal view of one subscription (the wire record lacks some of this)."""

    record: Record
    plan: Record
    import_uuid: str
    months: float
    cycle_seconds: int
    start: int
    end: int
    active: bool
    initial_mrr: int
    change_at: int | None


class _Gen:
    """One generation run; methods share the RNG so call order defines the dataset."""

    def __init__(self, customers: int, seed: int) -> None:
        self.n = customers
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data
        self.rand: Callable[[], float] = self.rng.random
        self.bits: Callable[[int], int] = self.rng.getrandbits

    # -- small helpers -------------------------------------------------------------------
    def pick(self, seq: Sequence[Any]) -> Any:
        return seq[int(self.rand() * len(seq))]

    def between(self, lo: int, hi: int) -> int:
        """Uniform int in [lo, hi] (cheaper than ``randint``)."""
        return lo + int(self.rand() * (hi - lo + 1)) if hi > lo else lo

    def uuid(self, prefix: str = "") -> str:
        return prefix + uuid4(self.bits(128))

    def later(self, start: int, span: int) -> int:
        """A time up to ``span`` seconds after ``start`` but at least a day before "now"."""
        room = min(span, NOW - DAY - start)
        return start + self.between(0, room) if room > 0 else start

    def timed(self, prefix: str, seconds: int) -> str:
        return prefix + timed_uuid(seconds * 1000 + int(self.rand() * 1000), self.bits(80))

    # -- top level -----------------------------------------------------------------------
    def run(self) -> Dataset:
        account, settings = self.account()
        data_sources = self.data_sources()
        plans, prices, plans_by_ds = self.plans(data_sources)
        groups, group_plans = self.plan_groups(plans)
        ctx = _Ctx(data_sources, plans_by_ds, prices)
        out = _Out()
        for i in range(self.n):
            self.customer(i, ctx, out)
        return Dataset(
            account=account,
            account_settings=settings,
            data_sources=data_sources,
            plans=plans,
            plan_prices=prices,
            plan_groups=groups,
            plan_group_plans=group_plans,
            **out.assemble(),
        )

    def account(self) -> tuple[Record, Record]:
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
        count = 3 if self.rand() < 0.5 else 2
        out = []
        for k in range(count):
            system, name = vocab.DATA_SOURCES[k]
            created = W0 - (400 - 90 * k) * DAY + self.between(0, DAY)
            out.append(
                {
                    "uuid": self.uuid("ds_"),
                    "name": name,
                    "system": system,
                    "created_at": iso_millis(created, self.between(0, 999)),
                    "status": "idle",
                }
            )
        return out

    def plans(
        self, data_sources: list[Record]
    ) -> tuple[list[Record], dict[str, int], dict[str, list[Record]]]:
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
        r = self.rand()
        if r < 0.7 or len(data_sources) == 1:
            return data_sources[0]
        if r < 0.95 or len(data_sources) == 2:
            return data_sources[1]
        return data_sources[2]

    def plan_groups(self, plans: list[Record]) -> tuple[list[Record], dict[str, list[Record]]]:
        groups = []
        members: dict[str, list[Record]] = {}
        for k, name in enumerate(("Self-serve", "Sales-led", "Legacy")):
            size = self.between(1, min(len(plans), 6))
            chosen = self.rng.sample(plans, size)
            chosen.sort(key=lambda p: (-uuid_millis(p["uuid"]), p["uuid"]))
            uuid = self.timed("plg_", W0 + (k * 200 + self.between(0, 100)) * DAY)
            groups.append({"uuid": uuid, "name": name, "plans_count": len(chosen)})
            members[uuid] = chosen
        groups.sort(key=lambda g: (-uuid_millis(g["uuid"]), g["uuid"]))
        return groups, members

    # -- customers -----------------------------------------------------------------------
    def customer(self, i: int, ctx: _Ctx, out: _Out) -> None:
        """One customer plus everything hanging off it (subscriptions, invoices, CRM)."""
        ds = self.weighted_ds(ctx.data_sources)
        life = self.lifecycle()
        customer = self.customer_record(i, ds, ctx, life)
        since = life.since
        out.customers.append((since if since is not None else _LEAD_SORT, customer["id"], customer))
        subs: list[_Sub] = []
        if since is not None:
            first_activity = len(out.activities)
            subs = self.subscriptions(customer, since, ctx, out)
            classify_customer_moves(out.activities[first_activity:])
            mrr = sum(s.record["mrr"] for s in subs if s.active)
            customer["mrr"] = int(mrr)
            customer["arr"] = int(mrr) * 12
            self.invoices(customer, since, subs, out)
        out.subs[customer["uuid"]] = [s.record for s in subs]
        anchor = life.lead_created if life.lead_created is not None else since
        self.crm_records(customer, anchor if anchor is not None else W0, life, out)

    def new_customer(self, index: int, since: int, data_sources: list[Record]) -> Record:
        """A paying customer whose ``customer-since`` is ``since``: a day's new sign-up.

        ``index`` numbers it like the build does (``id`` = 10 001 + index). Its ``mrr``/``arr``
        start at 0; the caller adds its subscriptions (days.py).
        """
        ds = self.weighted_ds(data_sources)
        rand = self.rand
        lead_created = since - self.between(DAY, 60 * DAY) if rand() < 0.4 else None
        trial = since - self.between(DAY, 14 * DAY) if rand() < 0.35 else None
        first, last = self.pick(vocab.FIRST_NAMES), self.pick(vocab.LAST_NAMES)
        life = _Life("Active", since, lead_created, trial, first, last)
        return self.customer_record(index, ds, _Ctx(data_sources, {}, {}), life)

    def lifecycle(self) -> _Life:
        """Lead or paying, with the dates that go with it (leads have no customer-since)."""
        rand, pick = self.rand, self.pick
        if rand() < 0.2:
            lead_created = self.between(W0, W1)
            trial = lead_created + self.between(0, 10 * DAY) if rand() < 0.3 else None
            status, since = pick(vocab.LEAD_STATUSES), None
        else:
            since = self.between(W0, W1 - 30 * DAY)
            r = rand()
            status = "Active" if r < 0.8 else "Past Due" if r < 0.87 else "Cancelled"
            lead_created = since - self.between(DAY, 60 * DAY) if rand() < 0.4 else None
            trial = since - self.between(DAY, 14 * DAY) if rand() < 0.35 else None
        first, last = pick(vocab.FIRST_NAMES), pick(vocab.LAST_NAMES)
        return _Life(status, since, lead_created, trial, first, last)

    def names(self, cid: int, life: _Life) -> tuple[str, str, str]:
        """name, email, company — ``""`` (never null) when unset (docs/chartmogul-api.md §2.4)."""
        rand, pick = self.rand, self.pick
        company = ""
        if rand() < 0.7:
            company = f"{pick(vocab.COMPANY_WORDS)} {pick(vocab.COMPANY_NOUNS)}"
            suffix = pick(vocab.COMPANY_SUFFIXES)
            company = f"{company} {suffix}" if suffix else company
        r = rand()
        person = f"{life.first} {life.last}"
        name = "" if r < 0.02 else company if company and r < 0.6 else person
        email = ""
        if rand() >= 0.05:
            local = f"{_ascii(life.first)}.{_ascii(life.last)}{cid}".lower()
            email = f"{local}@{pick(vocab.EMAIL_DOMAINS)}"
        return name, email, company

    def identifiers(self, i: int, ds: Record, ctx: _Ctx) -> tuple[str, list[str], list[str]]:
        """external_id, external_ids, data_source_uuids (sometimes duplicated or merged)."""
        cid = FIRST_CUSTOMER_ID + i
        system = ds["system"]
        if system == "Stripe":
            external_id = f"cus_{self.bits(56):014x}"
        elif system == "Import API":
            external_id = f"C-{cid}"
        else:
            external_id = f"acct-{i:06d}"
        external_ids = [external_id]
        ds_uuids = [ds["uuid"]]
        r = self.rand()
        if r < 0.05:
            ds_uuids.append(ds["uuid"])  # duplicate entry: docs/chartmogul-api.md §4.6
        elif r < 0.09 and len(ctx.data_sources) > 1:
            other = ctx.data_sources[1] if ds is ctx.data_sources[0] else ctx.data_sources[0]
            ds_uuids.append(other["uuid"])
            external_ids.append(f"merged-{cid}")
        return external_id, external_ids, ds_uuids

    def customer_record(self, i: int, ds: Record, ctx: _Ctx, life: _Life) -> Record:
        rand = self.rand
        cid = FIRST_CUSTOMER_ID + i
        system = ds["system"]
        name, email, company = self.names(cid, life)
        external_id, external_ids, ds_uuids = self.identifiers(i, ds, ctx)
        country, state, city, zip_code, address = self.location()
        uuid = self.uuid("cus_")
        slug = "-".join(_ascii(name).lower().split()) or "customer"
        attributes = {
            "tags": self.tags(),
            "stripe": {"coupon": rand() < 0.5} if system == "Stripe" and rand() < 0.3 else {},
            "clearbit": {},
            "custom": self.custom_attributes(),
        }
        stripe_url = f"https://dashboard.stripe.com/customers/{external_id}"
        return {
            "id": cid,
            "uuid": uuid,
            "external_id": external_id,
            "external_ids": external_ids,
            "data_source_uuid": ds["uuid"],
            "data_source_uuids": ds_uuids,
            "name": name,
            "email": email,
            "company": company,
            "status": life.status,
            "customer-since": _maybe(iso_offset, life.since),
            "lead_created_at": _maybe(iso_millis, life.lead_created),
            "free_trial_started_at": _maybe(iso_millis, life.trial),
            "country": country,
            "state": state,
            "city": city,
            "zip": zip_code,
            "address": address,
            "mrr": 0,
            "arr": 0,
            "billing-system-url": stripe_url if system == "Stripe" else None,
            "chartmogul-url": f"https://app.chartmogul.com/#/customers/{cid}-{slug}",
            "billing-system-type": system,
            "currency": CURRENCY,
            "currency-sign": CURRENCY_SIGN,
            "owner": self.pick(vocab.OWNERS) if rand() < 0.4 else None,
            "attributes": attributes,
        }

    def location(self) -> tuple[str | None, str | None, str, str | None, Record]:
        rand = self.rand
        if rand() < 0.15:
            return (
                None,
                None,
                "",
                None,
                {"country": None, "state": None, "city": "", "address_zip": None},
            )
        code, full, states, cities = self.pick(vocab.COUNTRIES)
        state_code = state_name = None
        if states and rand() < 0.7:
            state_code, state_name = self.pick(states)
        city = self.pick(cities) if rand() < 0.4 else ""
        zip_code = f"{self.between(10000, 99999)}" if rand() < 0.5 else None
        address = {"country": full, "state": state_name, "city": city, "address_zip": zip_code}
        return code, state_code, city, zip_code, address

    def tags(self) -> list[str]:
        r = self.rand()
        if r < 0.5:
            return []
        count = 1 if r < 0.8 else 2 if r < 0.95 else 3
        tags: list[str] = []
        while len(tags) < count:
            tag = self.pick(vocab.TAGS)
            if tag not in tags:
                tags.append(tag)
        return tags

    def custom_attributes(self) -> Record:
        rand, custom = self.rand, {}
        if rand() < 0.6:
            custom["channel"] = self.pick(vocab.CHANNELS)
        if rand() < 0.4:
            custom["seats"] = self.between(1, 500)
        if rand() < 0.3:
            custom["pro"] = rand() < 0.5
        if rand() < 0.2:
            custom["contract_end"] = ymd(self.between(W0, NOW + 365 * DAY))
        if rand() < 0.15:
            custom["nps"] = round(rand() * 10, 1)
        return custom

    def subscriptions(self, customer: Record, since: int, ctx: _Ctx, out: _Out) -> list[_Sub]:
        rand = self.rand
        r = rand()
        count = 1 if r < 0.7 else 2 if r < 0.92 else 3
        status = customer["status"]
        plans = ctx.plans_by_ds[customer["data_source_uuid"]]
        stripe = customer["billing-system-type"] == "Stripe"
        shared_set = f"set_{customer['id']}" if rand() < 0.5 else None
        subs = []
        for k in range(count):
            plan = self.pick(plans)
            start = since if k == 0 else since + int((NOW - since) * rand() * 0.6)
            months, cycle = plan_cycle(plan)
            active = status != "Cancelled" and (k == 0 or rand() < 0.75)
            if active:
                end = start + -(-(NOW - start) // cycle) * cycle
            else:
                spans = max(1, (NOW - start) // cycle)
                end = min(start + self.between(1, spans) * cycle, NOW - DAY)
                end = max(end, start + DAY)
            quantity = 1 if rand() < 0.8 else self.between(2, 20)
            mrr = ctx.prices[plan["uuid"]] * quantity
            sub_id = FIRST_SUBSCRIPTION_ID + out.sub_counter
            out.sub_counter += 1
            ext = f"sub_{self.bits(56):014x}" if stripe else f"S-{sub_id}"
            set_id = shared_set or f"set_{sub_id}"
            arr: int | float = mrr * 12
            if rand() < 0.02:
                # Usually-int money fields can be floats: docs/chartmogul-api.md §4.7.
                arr = round(mrr * 12 + 0.01 + rand() * 0.98, 2)
            record = subscription_record(
                sub_id=sub_id,
                uuid=self.uuid(),
                external_id=ext,
                set_id=set_id,
                plan=plan,
                quantity=quantity,
                mrr=mrr,
                arr=arr,
                active=active,
                start=start,
                end=end,
            )
            sub = _Sub(
                record, plan, self.uuid("sub_"), months, cycle, start, end, active, mrr, None
            )
            self.activities(customer, sub, mrr, out)
            self.events(customer, sub, mrr, out)
            subs.append(sub)
        return subs

    def activities(self, customer: Record, sub: _Sub, mrr: int, out: _Out) -> None:
        """new_biz, optional expansion/contraction, churn (inactive) or churn+reactivation."""
        rand = self.rand
        plan = sub.plan["name"]
        horizon = sub.end if not sub.active else NOW
        moves: list[tuple[int, str, int, int, str]] = []
        initial = mrr
        if rand() < 0.25 and horizon - sub.start > 10 * DAY:
            at = sub.start + int((horizon - sub.start) * (0.2 + 0.6 * rand()))
            if rand() < 0.65:
                initial = max(100, int(mrr * (0.4 + 0.5 * rand())))
                moves.append((at, "expansion", mrr, mrr - initial, f"upgraded the {plan} plan"))
            else:
                initial = int(mrr * (1.1 + 0.9 * rand()))
                moves.append((at, "contraction", mrr, mrr - initial, f"downgraded the {plan} plan"))
            sub.change_at = at
        sub.initial_mrr = initial
        moves.insert(0, (sub.start, "new_biz", initial, initial, f"purchased the {plan} plan"))
        if not sub.active:
            moves.append((sub.end, "churn", 0, -mrr, f"cancelled the {plan} plan"))
        elif not moves[1:] and rand() < 0.05 and NOW - sub.start > 90 * DAY:
            gone = sub.start + int((NOW - sub.start) * (0.3 + 0.3 * rand()))
            back = gone + self.between(5 * DAY, 30 * DAY)
            moves.append((gone, "churn", 0, -mrr, f"cancelled the {plan} plan"))
            moves.append((back, "reactivation", mrr, mrr, f"reactivated the {plan} plan"))
        for ts, kind, level, movement, text in moves:
            uuid = self.uuid()
            move = (ts, kind, level, movement, text)
            record = activity_record(customer, sub.record, sub.plan, move, uuid)
            out.activities.append((ts, uuid, record))

    def events(self, customer: Record, sub: _Sub, mrr: int, out: _Out) -> None:
        """subscription_start always; cancellations carry the ``""`` type trap sometimes."""
        rand = self.rand
        rec = sub.record
        cycle_amount = int(sub.initial_mrr * sub.months)
        specs = [(sub.start, "subscription_start", cycle_amount, "filled")]
        if sub.change_at is not None and rand() < 0.3:
            specs.append((sub.change_at, "subscription_updated", int(mrr * sub.months), "filled"))
        if not sub.active and rand() < 0.7:
            r = rand()
            specs.append(
                (
                    sub.end,
                    "subscription_cancelled",
                    0,
                    "blank" if r < 0.4 else "null" if r < 0.7 else "filled",
                )
            )
        for ts, kind, amount, style in specs:
            created = min(ts + self.between(0, 7200), NOW - 60)
            updated = created + (self.between(60, 30 * DAY) if rand() < 0.1 else 0)
            updated = min(updated, NOW - 1)
            event = self.event(
                customer, rec, sub.plan, (ts, kind, amount, style), (created, updated)
            )
            out.events.append((created, out.event_seq, event))
            out.event_seq += 1

    def event(
        self,
        customer: Record,
        sub: Record,
        plan: Record,
        spec: tuple[int, str, int, str],
        times: tuple[int, int],
    ) -> Record:
        """One subscription event from ``spec`` (event time, type, amount, style) and ``times``.

        ``times`` is (created, updated). The style is ``filled``, ``blank`` (``""`` for missing
        values) or ``null``: the type trap of docs/chartmogul-api.md §2.15. Draws its two random
        fields in a fixed order, the build's.
        """
        external_id = f"evt_{self.bits(40):010x}" if self.rand() < 0.6 else None
        filled = spec[3] == "filled"
        tax = spec[2] * 19 // 100 if filled and self.rand() < 0.4 else None
        return event_record(customer, sub, plan, spec, (*times, external_id, tax))

    def invoices(self, customer: Record, since: int, subs: list[_Sub], out: _Out) -> None:
        rand = self.rand
        r = rand()
        count = 1 if r < 0.6 else 2 if r < 0.88 else 3
        for k in range(count):
            day = since if k == 0 else since + int((NOW - since) * rand())
            day = min(day, NOW - DAY)
            created = day + self.between(0, 3600)
            out.invoice_seq += 1
            currency = CURRENCY if rand() < 0.9 else "USD"
            items = self.line_items(subs, day, currency)
            total = sum(li["amount_in_cents"] + li["tax_amount_in_cents"] for li in items)
            invoice = {
                "uuid": self.timed("inv_", created),
                "external_id": f"INV-{out.invoice_seq:07d}" if rand() < 0.95 else None,
                "date": iso_millis(day),
                "due_date": iso_millis(day + 14 * DAY) if rand() < 0.8 else None,
                "currency": currency,
                "line_items": items,
                "transactions": self.transactions(day, total, currency),
                "customer_uuid": customer["uuid"],
                "errors": {},
            }
            out.invoices.append(invoice)

    def line_items(self, subs: list[_Sub], day: int, currency: str) -> list[Record]:
        rand = self.rand
        r = rand()
        count = 1 if r < 0.65 else 2 if r < 0.9 else 3
        items = []
        for k in range(count):
            discount_code, discount, discount_text = "", 0, None
            fees = self.between(20, 500) if rand() < 0.5 else 0
            r = rand()
            account_code = "" if r < 0.4 else None if r < 0.7 else "4000"
            if k == 0 or rand() < 0.5:
                sub = self.pick(subs)
                amount = int(sub.initial_mrr * sub.months)
                if rand() < 0.15:
                    discount_code = self.pick(vocab.DISCOUNT_CODES)
                    discount, discount_text = amount // 5, "20% off"
                    amount -= discount
                prorated = rand() < 0.1
                items.append(
                    {
                        "uuid": self.uuid("li_"),
                        "external_id": f"li_{self.bits(40):010x}" if rand() < 0.8 else None,
                        "type": "subscription",
                        "subscription_uuid": sub.import_uuid,
                        "subscription_external_id": sub.record["external_id"],
                        "subscription_set_external_id": sub.record["subscription_set_external_id"],
                        "plan_uuid": sub.plan["uuid"],
                        "prorated": prorated,
                        "proration_type": "differential" if prorated else None,
                        "service_period_start": iso_millis(day),
                        "service_period_end": iso_millis(day + sub.cycle_seconds),
                        "amount_in_cents": amount,
                        "quantity": sub.record["quantity"],
                        "discount_code": discount_code,
                        "discount_amount_in_cents": discount,
                        "discount_description": discount_text,
                        "tax_amount_in_cents": amount * 19 // 100 if rand() < 0.5 else 0,
                        "transaction_fees_in_cents": fees,
                        "transaction_fees_currency": currency if fees else None,
                        "account_code": account_code,
                        "event_order": None,
                        "balance_transfer": None,
                    }
                )
            else:
                amount = self.between(5, 500) * 100
                items.append(
                    {
                        "uuid": self.uuid("li_"),
                        "external_id": f"li_{self.bits(40):010x}" if rand() < 0.8 else None,
                        "type": "one_time",
                        "description": self.pick(vocab.ONE_TIME_ITEMS),
                        "plan_uuid": None,
                        "amount_in_cents": amount,
                        "quantity": 1,
                        "discount_code": discount_code,
                        "discount_amount_in_cents": discount,
                        "discount_description": discount_text,
                        "tax_amount_in_cents": amount * 19 // 100 if rand() < 0.5 else 0,
                        "transaction_fees_in_cents": fees,
                        "transaction_fees_currency": currency if fees else None,
                        "account_code": account_code,
                        "event_order": None,
                        "balance_transfer": None,
                    }
                )
        return items

    def transactions(self, day: int, total: int, currency: str) -> list[Record]:
        rand = self.rand
        r = rand()
        results = [] if r < 0.15 else ["successful"] if r < 0.9 else ["failed", "successful"]
        out = []
        paid_at = day
        for result in results:
            paid_at += self.between(60, 3 * DAY)
            fees = self.between(10, 300) if rand() < 0.5 else None
            out.append(
                {
                    "uuid": self.uuid("tr_"),
                    "external_id": f"ch_{self.bits(48):012x}" if rand() < 0.9 else None,
                    "type": "payment",
                    "date": iso_millis(min(paid_at, NOW - 60)),
                    "result": result,
                    "amount_in_cents": None if rand() < 0.2 else total,
                    "transaction_fees_in_cents": fees,
                    "transaction_fees_currency": currency if fees is not None else None,
                }
            )
        return out

    # -- CRM -----------------------------------------------------------------------------
    def crm_records(self, customer: Record, anchor: int, life: _Life, out: _Out) -> None:
        rand = self.rand
        r = rand()
        contacts = 0 if r >= 0.45 else 1 if r < 0.4 else 2
        for position in range(1, contacts + 1):
            created = self.later(anchor, 30 * DAY)
            given = life.first if position == 1 else self.pick(vocab.FIRST_NAMES)
            family = life.last if position == 1 else self.pick(vocab.LAST_NAMES)
            handle = f"{_ascii(given)}{_ascii(family)}".lower()
            out.contacts.append(
                {
                    "uuid": self.timed("con_", created),
                    "customer_uuid": customer["uuid"],
                    "customer_external_id": customer["external_id"],
                    "data_source_uuid": customer["data_source_uuid"],
                    "position": position,
                    "first_name": given,
                    "last_name": family,
                    "title": self.pick(vocab.TITLES),
                    "email": f"{handle}@{self.pick(vocab.EMAIL_DOMAINS)}" if rand() < 0.9 else None,
                    "phone": f"+49 30 {self.between(1000000, 9999999)}" if rand() < 0.5 else None,
                    "linked_in": f"https://linkedin.com/in/{handle}" if rand() < 0.3 else None,
                    "twitter": f"https://twitter.com/{handle}" if rand() < 0.1 else None,
                    "notes": "Prefers email" if rand() < 0.1 else None,
                    "custom": {"Seniority": "Senior"} if rand() < 0.2 else {},
                }
            )
        if rand() < 1 / 3:
            created = self.later(anchor, 200 * DAY)
            is_call = rand() < 0.3
            author = self.pick(vocab.OWNERS)
            out.notes.append(
                (
                    created,
                    {
                        "uuid": self.uuid("note_"),
                        "customer_uuid": customer["uuid"],
                        "type": "call" if is_call else "note",
                        "text": self.pick(vocab.NOTE_TEXTS),
                        "call_duration": self.between(60, 3600) if is_call else 0,
                        "author": f"{author.split('@')[0].title()} ({author})",
                        "created_at": iso_millis(created, self.between(0, 999)),
                        "updated_at": iso_millis(
                            self.later(created + 1, 5 * DAY), self.between(0, 999)
                        ),
                    },
                )
            )
        if rand() < 0.2:
            created = self.later(anchor, 300 * DAY)
            done = rand() < 0.4
            out.tasks.append(
                (
                    created,
                    {
                        "task_uuid": self.uuid(),
                        "customer_uuid": customer["uuid"],
                        "assignee": self.pick(vocab.OWNERS),
                        "task_details": self.pick(vocab.TASK_DETAILS),
                        "due_date": iso_millis((created // DAY + self.between(1, 60)) * DAY),
                        "completed_at": (
                            iso_millis(self.later(created + DAY, 20 * DAY)) if done else None
                        ),
                        "created_at": iso_millis(created, self.between(0, 999)),
                        "updated_at": iso_millis(
                            self.later(created + 1, 20 * DAY), self.between(0, 999)
                        ),
                    },
                )
            )
        if rand() < 0.2:
            created = self.later(anchor, 300 * DAY)
            pipeline, stages = self.pick(vocab.PIPELINE_STAGES)
            out.opportunities.append(
                (
                    created,
                    {
                        "uuid": self.uuid(),
                        "customer_uuid": customer["uuid"],
                        "owner": self.pick(vocab.OWNERS),
                        "pipeline": pipeline,
                        "pipeline_stage": self.pick(stages),
                        "estimated_close_date": ymd(created + self.between(7, 180) * DAY),
                        "currency": CURRENCY,
                        "amount_in_cents": self.between(10, 5000) * 1000,
                        "type": "recurring" if rand() < 0.8 else "one-time",
                        "forecast_category": self.pick(vocab.FORECAST_CATEGORIES),
                        "win_likelihood": self.between(0, 20) * 5,
                        "custom": {"from_campaign": rand() < 0.5} if rand() < 0.3 else {},
                        "created_at": iso_millis(created, self.between(0, 999)),
                        "updated_at": iso_millis(
                            self.later(created + 1, 20 * DAY), self.between(0, 999)
                        ),
                    },
                )
            )


class Drawer(_Gen):
    """The generator's random drawing, reused for records made after the build (days.py).

    Records drawn here have exactly the generator's shapes and quirks because they come from
    the same methods; only the caller decides the dates.
    """

    def __init__(self, seed: int) -> None:
        """Draw from ``random.Random(seed)``; the seed names the day, not the account size."""
        super().__init__(0, seed)


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


@dataclass
class _Ctx:
    data_sources: list[Record]
    plans_by_ds: dict[str, list[Record]]
    prices: dict[str, int]


@dataclass
class _Out:
    customers: list[tuple[int, int, Record]] = field(default_factory=list)
    subs: dict[str, list[Record]] = field(default_factory=dict)
    activities: list[tuple[int, str, Record]] = field(default_factory=list)
    events: list[tuple[int, int, Record]] = field(default_factory=list)
    invoices: list[Record] = field(default_factory=list)
    contacts: list[Record] = field(default_factory=list)
    notes: list[tuple[int, Record]] = field(default_factory=list)
    tasks: list[tuple[int, Record]] = field(default_factory=list)
    opportunities: list[tuple[int, Record]] = field(default_factory=list)
    sub_counter: int = 0
    event_seq: int = 0
    invoice_seq: int = 0

    def assemble(self) -> dict[str, Any]:
        """Sort everything into API order and number events by creation (ids ascend)."""
        self.customers.sort(key=lambda t: (t[0], t[1]))
        self.activities.sort(key=lambda t: (t[0], t[1]))
        activities = [t[2] for t in self.activities]
        self.events.sort(key=lambda t: (t[0], t[1]))
        events = []
        for k, (_, _, event) in enumerate(self.events):
            event["id"] = FIRST_EVENT_ID + k
            events.append(event)
        events.reverse()
        self.invoices.sort(key=lambda inv: (-uuid_millis(inv["uuid"]), inv["uuid"]))
        self.contacts.sort(key=lambda c: (-uuid_millis(c["uuid"]), c["uuid"]))
        return {
            "customers": [t[2] for t in self.customers],
            "customer_subscriptions": self.subs,
            "activities": activities,
            "invoices": self.invoices,
            "subscription_events": events,
            "contacts": self.contacts,
            "customer_notes": _newest_first(self.notes),
            "tasks": _newest_first(self.tasks),
            "opportunities": _newest_first(self.opportunities),
        }


@dataclass
class _Life:
    """Lifecycle of one customer as drawn by :meth:`Drawer.lifecycle`."""

    status: str
    since: int | None
    lead_created: int | None
    trial: int | None
    first: str
    last: str


_LEAD_SORT = 1 << 62
"""Leads (customer-since null) sort after every paying customer, by id."""


def _maybe(fmt: Callable[[int], str], ts: int | None) -> str | None:
    return fmt(ts) if ts is not None else None


def _newest_first(items: list[tuple[int, Record]]) -> list[Record]:
    """Descending creation order, ties broken like the server's cursor key."""
    uuid_key = "task_uuid" if items and "task_uuid" in items[0][1] else "uuid"
    items.sort(key=lambda t: (-t[0] * 1000 - int(t[1]["created_at"][20:23]), t[1][uuid_key]))
    return [t[1] for t in items]


_ASCII = str.maketrans(
    {
        "é": "e",
        "ë": "e",
        "ö": "o",
        "ø": "o",
        "ł": "l",
        "Ł": "L",
        "á": "a",
        "í": "i",
        "ó": "o",
        "ü": "u",
        "ã": "a",
        "ç": "c",
        "'": "",
        "ä": "a",
        "É": "E",
        "Ø": "O",
        "Ö": "O",
        "Ü": "U",
        "Ä": "A",
    }
)


def _ascii(text: str) -> str:
    return text.translate(_ASCII)


def generate(customers: int, seed: int) -> Dataset:
    """Build the full dataset for ``customers`` customers from ``seed``.

    The cyclic GC is paused meanwhile: the build creates ~15 containers per customer and none
    of them are garbage, so repeated collections would only cost time (~40 % of the build).
    """
    if customers < 0:
        msg = "customers must be >= 0"
        raise ValueError(msg)
    with gc_paused():
        return _Gen(customers, seed).run()
