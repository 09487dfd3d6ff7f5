"""Thin invoices: one to three a customer, with line items and transactions."""

from __future__ import annotations

from fake_chartmogul import vocab
from fake_chartmogul.formats import iso_millis

from .base import CURRENCY, DAY, NOW, Out, Record, Sub
from .subscriptions import SubscriptionDraws


class InvoiceDraws(SubscriptionDraws):
    """The thin account's invoices, drawn from the shared RNG after the subscriptions."""

    def invoices(self, customer: Record, since: int, subs: list[Sub], out: Out) -> None:
        """One to three invoices of a paying customer, the first on its first day."""
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
                "customer_external_id": customer["external_id"],
                "data_source_uuid": customer["data_source_uuid"],
                "errors": {},
            }
            out.invoices.append(invoice)

    def line_items(self, subs: list[Sub], day: int, currency: str) -> list[Record]:
        """One to three items: a subscription's period first, then one-time items."""
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
        """None, a payment, or a failed payment retried (docs/chartmogul-api.md §2.14)."""
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
