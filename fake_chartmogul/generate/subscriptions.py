"""Subscriptions with the activities and subscription events they leave behind."""

from __future__ import annotations

from .base import DAY, FIRST_SUBSCRIPTION_ID, NOW, Ctx, Out, Record, Sub
from .customers import CustomerDraws
from .records import activity_record, event_record, plan_cycle, subscription_record


class SubscriptionDraws(CustomerDraws):
    """A paying customer's subscriptions, each with its MRR moves and events."""

    def subscriptions(self, customer: Record, since: int, ctx: Ctx, out: Out) -> list[Sub]:
        """One to three subscriptions, the first from ``since``; each with activities and events."""
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
            sub = Sub(record, plan, self.uuid("sub_"), months, cycle, start, end, active, mrr, None)
            self.activities(customer, sub, mrr, out)
            self.events(customer, sub, mrr, out)
            subs.append(sub)
        return subs

    def activities(self, customer: Record, sub: Sub, mrr: int, out: Out) -> None:
        """new_biz, optional expansion/contraction, churn (inactive) or churn+reactivation."""
        rand = self.rand
        plan = sub.plan["name"]
        horizon = sub.end if not sub.active else NOW
        moves: list[tuple[int, str, int, int, str]] = []
        initial = mrr
        sub.level = mrr
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
            sub.gap = (gone, back)
            moves.append((gone, "churn", 0, -mrr, f"cancelled the {plan} plan"))
            moves.append((back, "reactivation", mrr, mrr, f"reactivated the {plan} plan"))
        for ts, kind, level, movement, text in moves:
            uuid = self.uuid()
            move = (ts, kind, level, movement, text)
            record = activity_record(customer, sub.record, sub.plan, move, uuid)
            out.activities.append((ts, uuid, record))

    def events(self, customer: Record, sub: Sub, mrr: int, out: Out) -> None:
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
            ds = customer["data_source_uuid"]
            created = self.clock.created(ds, created)
            updated = max(self.clock.created(ds, updated), created)
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
