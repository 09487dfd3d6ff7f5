"""Customers and leads: lifecycle, names, identifiers, address, attributes."""

from __future__ import annotations

from fake_chartmogul import vocab
from fake_chartmogul.formats import iso_millis, iso_offset, ymd

from .base import (
    CURRENCY,
    CURRENCY_SIGN,
    DAY,
    FIRST_CUSTOMER_ID,
    NOW,
    W0,
    W1,
    Ctx,
    Life,
    Record,
    ascii_fold,
    maybe,
)
from .catalog import CatalogDraws


class CustomerDraws(CatalogDraws):
    """One customer record at a time (the build's and a simulated day's new sign-ups)."""

    def new_customer(self, index: int, since: int, data_sources: list[Record]) -> Record:
        """A paying customer whose ``customer-since`` is ``since``: a day's new sign-up.

        ``index`` numbers it like the build does (``id`` = 10 001 + index). Its ``mrr``/``arr``
        start at 0; the caller adds its subscriptions (days/).
        """
        ds = self.weighted_ds(data_sources)
        rand = self.rand
        lead_created = since - self.between(DAY, 60 * DAY) if rand() < 0.4 else None
        trial = since - self.between(DAY, 14 * DAY) if rand() < 0.35 else None
        first, last = self.pick(vocab.FIRST_NAMES), self.pick(vocab.LAST_NAMES)
        life = Life("Active", since, lead_created, trial, first, last)
        return self.customer_record(index, ds, Ctx(data_sources, {}, {}), life)

    def lifecycle(self) -> Life:
        """Lead or paying, with the dates that go with it (leads have no customer-since)."""
        rand, pick = self.rand, self.pick
        if rand() < 0.2:
            lead = self.between(W0, W1)
            trial = lead + self.between(0, 10 * DAY) if rand() < 0.3 else None
            status = pick(vocab.LEAD_STATUSES)
            return Life(status, None, lead, trial, *self.first_last())
        since = self.between(W0, W1 - 30 * DAY)
        r = rand()
        status = "Active" if r < 0.8 else "Past Due" if r < 0.87 else "Cancelled"
        lead_created = since - self.between(DAY, 60 * DAY) if rand() < 0.4 else None
        trial = since - self.between(DAY, 14 * DAY) if rand() < 0.35 else None
        return Life(status, since, lead_created, trial, *self.first_last())

    def first_last(self) -> tuple[str, str]:
        """A first and a last name."""
        return self.pick(vocab.FIRST_NAMES), self.pick(vocab.LAST_NAMES)

    def names(self, cid: int, life: Life) -> tuple[str, str, str]:
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
            local = f"{ascii_fold(life.first)}.{ascii_fold(life.last)}{cid}".lower()
            email = f"{local}@{pick(vocab.EMAIL_DOMAINS)}"
        return name, email, company

    def identifiers(self, i: int, ds: Record, ctx: Ctx) -> tuple[str, list[str], list[str]]:
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

    def customer_record(self, i: int, ds: Record, ctx: Ctx, life: Life) -> Record:
        """The ``/customers`` entry (docs/chartmogul-api.md §2.4); ``mrr``/``arr`` still 0."""
        rand = self.rand
        cid = FIRST_CUSTOMER_ID + i
        system = ds["system"]
        name, email, company = self.names(cid, life)
        external_id, external_ids, ds_uuids = self.identifiers(i, ds, ctx)
        country, state, city, zip_code, address = self.location()
        uuid = self.uuid("cus_")
        slug = "-".join(ascii_fold(name).lower().split()) or "customer"
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
            "customer-since": maybe(iso_offset, life.since),
            "lead_created_at": maybe(iso_millis, life.lead_created),
            "free_trial_started_at": maybe(iso_millis, life.trial),
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
        """country, state, city, zip and the address block (full names there)."""
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
        """Zero to three distinct tags."""
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
        """Custom attributes of every JSON scalar type."""
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
