"""Thick invoices: one per billing period of every subscription, each drawn when it is asked.

A real account bills every subscription every period for years (docs/chartmogul-api.md §2.14):
1.6 million invoices at 100,000 customers, too many to hold as dicts. So a thick invoice is a
*row* (its subscription's :class:`Bill`, the period, its creation time in µs, flags) and its wire
record is drawn from a :class:`~fake_chartmogul.formats.Stream` seeded by (account seed, row):
the same record every time it is served.

What an invoice says follows from its subscription, so a data team's sums reconcile:

- a period's subscription item is the MRR in force at the period's start (the activities'
  level) x the plan's months per cycle, after any discount (``discount_amount_in_cents`` is
  what the list price would have added); tax is on top (``tax_amount_in_cents``); a customer
  with no MRR (a lapse between churn and reactivation) is not billed;
- an upgrade mid-period is billed at once: a prorated item for the rest of that period;
- the invoice's total is the sum of its items' ``amount_in_cents + tax_amount_in_cents``
  (the fake's convention, as for thin invoices); a successful payment is that total (or
  ``null``, "the full amount", docs/chartmogul-api.md §2.14), some payments fail and are
  retried, some are refunded in full or in part, a few invoices are never paid, and a past-due
  customer's last invoice has only a failed payment. Refunds change no MRR: the account's
  ``refund_handling`` is ``refund_ignore``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fake_chartmogul import vocab
from fake_chartmogul.formats import Stream, iso_millis, mix64, timed_uuid, uuid4

from .base import CURRENCY, DAY, NOW, Record, Rows

if TYPE_CHECKING:
    from .base import ImportClock, Sub

Segment = tuple[int, int, str, int, float, int, int]
"""A stretch of a subscription's life with one price: from when (epoch s), the MRR in force
(cents), the plan's uuid, the quantity, the plan's months and seconds per billing cycle, and
the end of the billing period it began in (what an upgrade's proration covers)."""
RECENT = 1
"""Row flag: made by a simulated day; only its payment at issue is recorded."""
UNPAID = 2
"""Row flag: a past-due customer's latest invoice; its payment failed."""
TAXED, DISCOUNTED, SETUP_FEE = 1, 2, 4
"""Traits of a bill (hashed from the account seed and the subscription)."""
_INVOICE_SALT = 0x1DEA
_TRAIT_SALT = 0x7A17
_GOLDEN = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1
_DUE_DAYS = 14
_ACCOUNT_CODES = {"Stripe": None, "Import API": "4000", "Custom": ""}
"""Line items' ``account_code`` per billing system (``""`` as recorded, docs §2.14)."""


@dataclass(slots=True)
class Bill:
    """What a subscription's invoices are drawn from; ``segments`` only ever grow."""

    customer_uuid: str
    customer_external_id: str
    data_source_uuid: str
    system: str
    sub_uuid: str
    import_uuid: str
    external_id: str
    set_id: str
    start: int
    segments: list[Segment]
    traits: int

    def segment_at(self, at: int) -> Segment:
        """The segment in force at ``at`` (the last that began at or before it)."""
        found = self.segments[0]
        for segment in self.segments:
            if segment[0] > at:
                break
            found = segment
        return found


def bill_of(customer: Record, sub: Sub, seed: int) -> Bill:
    """The bill of one generated subscription: its MRR from start to end, lapses included."""
    record = sub.record
    cycle = sub.cycle_seconds
    price = (sub.plan["uuid"], record["quantity"], sub.months, cycle)
    segments: list[Segment] = [(sub.start, sub.initial_mrr, *price, sub.start + cycle)]
    if sub.change_at is not None:
        until = sub.start + ((sub.change_at - sub.start) // cycle + 1) * cycle
        segments.append((sub.change_at, sub.level, *price, until))
    if sub.gap is not None:
        gone, back = sub.gap
        segments += [(gone, 0, *price, gone), (back, sub.level, *price, back)]
    return new_bill(customer, record, segments, seed=seed, sub=sub)


def new_bill(
    customer: Record,
    record: Record,
    segments: list[Segment],
    *,
    seed: int,
    sub: Sub | None = None,
) -> Bill:
    """A bill for ``record`` (a wire subscription) of ``customer`` from its segments.

    ``sub``, the generator's view, gives the import API's ``sub_`` uuid; a subscription made
    by a simulated day gets a hashed one (the day's draws stay the thin account's).
    """
    traits = mix64(seed, _TRAIT_SALT, record["id"])
    flags = (
        (TAXED if traits & 0xFF < 140 else 0)
        | (DISCOUNTED if (traits >> 8) & 0xFF < 31 else 0)
        | (SETUP_FEE if (traits >> 16) & 0xFF < 64 else 0)
    )
    import_uuid = (
        sub.import_uuid if sub is not None else "sub_" + uuid4(traits << 64 | mix64(traits))
    )
    return Bill(
        customer_uuid=customer["uuid"],
        customer_external_id=customer["external_id"],
        data_source_uuid=customer["data_source_uuid"],
        system=customer["billing-system-type"],
        sub_uuid=record["uuid"],
        import_uuid=import_uuid,
        external_id=record["external_id"],
        set_id=record["subscription_set_external_id"],
        start=segments[0][0],
        segments=segments,
        traits=flags,
    )


def bill_rows(  # noqa: PLR0913 - the facts of one subscription's history
    bill: Bill,
    index: int,
    sub: Sub,
    *,
    clock: ImportClock,
    stream: Stream,
    rows: Rows,
    past_due: bool,
) -> None:
    """One row per period from the subscription's start to its end (none while it lapsed).

    Each invoice is created within the hour after it is issued, unless it was issued before
    its data source was connected: then the import created it (``clock``).
    """
    ds, cycle = bill.data_source_uuid, sub.cycle_seconds
    starts = range(sub.start, sub.end, cycle)
    billed = [at for at in starts if bill.segment_at(at)[1] > 0]
    for at in billed:
        flags = UNPAID if past_due and sub.active and at == billed[-1] else 0
        rows.add(index, at, clock.created_us(ds, _natural_us(at, stream)), flags)
    for j, segment in enumerate(bill.segments[1:], start=1):
        if upgrade(bill, j):
            rows.add(index, -1 - j, clock.created_us(ds, _natural_us(segment[0], stream)))


def upgrade(bill: Bill, j: int) -> bool:
    """Whether segment ``j`` raised a running subscription's MRR (billed pro rata at once)."""
    return bill.segments[j][1] > bill.segments[j - 1][1] > 0


def _natural_us(issued: int, stream: Stream) -> int:
    """When an invoice issued at ``issued`` is recorded: within the hour, before "now"."""
    at = min(issued + stream.between(0, 3599), NOW - 60)
    return at * 1_000_000 + stream.between(0, 999_999)


def invoice_uuid(seed: int, row: int, created_us: int) -> str:
    """The invoice's uuid: its creation ms, then 80 bits hashed from the row (no draw).

    The row's hash is a bijection of the row (an odd multiplier), so no two invoices share a
    uuid even in one millisecond; bisect computes a few of these per request.
    """
    bits = (row * _GOLDEN ^ seed) & _MASK64
    low = (bits * 0xBF58476D1CE4E5B9 >> 48) & 0xFFFF
    return "inv_" + timed_uuid(created_us // 1000, (bits << 16) | low)


def invoice_record(seed: int, row: int, bill: Bill, columns: tuple[int, int, int]) -> Record:
    """The wire record of one thick invoice (docs/chartmogul-api.md §2.14), drawn afresh.

    ``columns`` are the row's period (when it began, epoch s; ``-1 - j``: the proration of
    segment ``j``), creation time (µs) and flags.
    """
    period, created_us, flags = columns
    s = Stream((row * _GOLDEN) ^ seed ^ _INVOICE_SALT)
    if period >= 0:
        issued = period
        segment = bill.segment_at(issued)
        net = int(segment[1] * segment[4])
        items = [_subscription_item(s, bill, segment, (issued, issued + segment[5]), net)]
        if issued == bill.start and bill.traits & SETUP_FEE:
            items.append(_one_time_item(s, bill, "Setup fee"))
        elif s.rand() < 0.03:
            items.append(_one_time_item(s, bill, vocab.ONE_TIME_ITEMS[s.between(1, 3)]))
    else:
        j = -1 - period
        segment, before = bill.segments[j], bill.segments[j - 1]
        issued, end = segment[0], segment[6]
        net = int((segment[1] - before[1]) * segment[4] * (end - issued) // segment[5])
        items = [_subscription_item(s, bill, segment, (issued, end), net, prorated=True)]
    total = sum(li["amount_in_cents"] + li["tax_amount_in_cents"] for li in items)
    fees = sum(li["transaction_fees_in_cents"] for li in items)
    paid_from = max(issued, created_us // 1_000_000) if flags & RECENT else issued
    return {
        "uuid": invoice_uuid(seed, row, created_us),
        "external_id": f"INV-{row + 1:07d}" if s.rand() < 0.95 else None,
        "date": iso_millis(issued),
        "due_date": iso_millis(issued + _DUE_DAYS * DAY) if s.rand() < 0.8 else None,
        "currency": CURRENCY,
        "line_items": items,
        "transactions": _transactions(s, paid_from, total, fees, flags),
        "customer_uuid": bill.customer_uuid,
        "customer_external_id": bill.customer_external_id,
        "data_source_uuid": bill.data_source_uuid,
        "errors": {},
    }


def _subscription_item(  # noqa: PLR0913 - what one item says
    s: Stream,
    bill: Bill,
    segment: Segment,
    period: tuple[int, int],
    net: int,
    *,
    prorated: bool = False,
) -> Record:
    discounted = bool(bill.traits & DISCOUNTED) and not prorated
    tax = net * 19 // 100 if bill.traits & TAXED else 0
    return {
        "uuid": "li_" + uuid4(s.bits(128)),
        "external_id": f"li_{s.bits(40):010x}" if s.rand() < 0.8 else None,
        "type": "subscription",
        "subscription_uuid": bill.import_uuid,
        "subscription_external_id": bill.external_id,
        "subscription_set_external_id": bill.set_id,
        "plan_uuid": segment[2],
        "prorated": prorated,
        "proration_type": "differential" if prorated else None,
        "service_period_start": iso_millis(period[0]),
        "service_period_end": iso_millis(period[1]),
        "amount_in_cents": net,
        "quantity": segment[3],
        "discount_code": "SUMMER20" if discounted else "",
        "discount_amount_in_cents": net // 4 if discounted else 0,
        "discount_description": "20% off" if discounted else None,
        "tax_amount_in_cents": tax,
        "transaction_fees_in_cents": _fees(bill, net + tax),
        "transaction_fees_currency": CURRENCY if _fees(bill, net + tax) else None,
        "account_code": _ACCOUNT_CODES.get(bill.system),
        "event_order": None,
        "balance_transfer": None,
    }


def _one_time_item(s: Stream, bill: Bill, description: str) -> Record:
    amount = s.between(5, 500) * 100
    discounted = s.rand() < 0.1
    discount = amount // 9 if discounted else 0  # 10 % off the list price
    tax = amount * 19 // 100 if bill.traits & TAXED else 0
    return {
        "uuid": "li_" + uuid4(s.bits(128)),
        "external_id": f"li_{s.bits(40):010x}" if s.rand() < 0.8 else None,
        "type": "one_time",
        "description": description,
        "plan_uuid": None,
        "amount_in_cents": amount,
        "quantity": 1,
        "discount_code": "LAUNCH10" if discounted else "",
        "discount_amount_in_cents": discount,
        "discount_description": "10% off" if discounted else None,
        "tax_amount_in_cents": tax,
        "transaction_fees_in_cents": _fees(bill, amount + tax),
        "transaction_fees_currency": CURRENCY if _fees(bill, amount + tax) else None,
        "account_code": _ACCOUNT_CODES.get(bill.system),
        "event_order": None,
        "balance_transfer": None,
    }


def _fees(bill: Bill, charged: int) -> int:
    """A card processor's fee (2.9 %) on what Stripe charged; nothing elsewhere."""
    return charged * 29 // 1000 if bill.system == "Stripe" else 0


def _transactions(s: Stream, issued: int, total: int, fees: int, flags: int) -> list[Record]:
    """Payments and refunds of one invoice, in date order, none dated after "now"."""
    first = issued + s.between(60, 7199)
    r = s.rand()
    if flags & UNPAID:
        plan = [("payment", "failed", 0)]
    elif flags & RECENT:
        plan = [("payment", "successful" if r < 0.95 else "failed", 0)]
    elif r < 0.86:
        plan = [("payment", "successful", 0)]
    elif r < 0.93:
        plan = [("payment", "failed", 0), ("payment", "successful", s.between(1, 4) * DAY)]
    elif r < 0.955:
        retry = s.between(1, 3) * DAY
        plan = [("payment", "failed", 0), ("payment", "failed", retry)]
        plan.append(("payment", "successful", 2 * retry))
    elif r < 0.985:
        plan = [("payment", "successful", 0), ("refund", "full" if r < 0.975 else "half", 0)]
        plan[1] = ("refund", plan[1][1], s.between(5, 30) * DAY)
    elif r < 0.995:
        plan = []
    else:
        plan = [("payment", "failed", 0)]
    out = []
    horizon = max(NOW - 60, first) if flags & RECENT else NOW - 60
    for kind, result, after in plan:
        when = first + after
        if when > horizon:
            break
        paid = kind == "payment" and result == "successful"
        amount = total // 2 if result == "half" else total
        out.append(
            {
                "uuid": "tr_" + uuid4(s.bits(128)),
                "external_id": (
                    f"{'ch' if kind == 'payment' else 're'}_{s.bits(48):012x}"
                    if s.rand() < 0.9
                    else None
                ),
                "type": kind,
                "date": iso_millis(when, s.between(0, 999)),
                "result": "failed" if result == "failed" else "successful",
                "amount_in_cents": None if paid and s.rand() < 0.1 else amount,
                "transaction_fees_in_cents": fees if paid and fees else None,
                "transaction_fees_currency": CURRENCY if paid and fees else None,
            }
        )
    return out
