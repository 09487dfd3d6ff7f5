"""CRM records of a customer: contacts, notes, tasks, opportunities."""

from __future__ import annotations

from fake_chartmogul import vocab
from fake_chartmogul.formats import iso_millis, ymd

from .base import CURRENCY, DAY, Life, Out, Record, ascii_fold
from .invoices import InvoiceDraws


class CrmDraws(InvoiceDraws):
    """Contacts, notes, tasks and opportunities anchored at the customer's first contact."""

    # -- CRM -----------------------------------------------------------------------------
    def crm_records(self, customer: Record, anchor: int, life: Life, out: Out) -> None:
        """A customer's contacts, note, task and opportunity, each drawn with its odds."""
        rand = self.rand
        ds = customer["data_source_uuid"]
        created_at, updated_at = self.created_text, self.updated_text
        r = rand()
        contacts = 0 if r >= 0.45 else 1 if r < 0.4 else 2
        for position in range(1, contacts + 1):
            created = self.later(anchor, 30 * DAY)
            given = life.first if position == 1 else self.pick(vocab.FIRST_NAMES)
            family = life.last if position == 1 else self.pick(vocab.LAST_NAMES)
            handle = f"{ascii_fold(given)}{ascii_fold(family)}".lower()
            out.contacts.append(
                {
                    "uuid": self.timed("con_", self.clock.created(ds, created)),
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
                    self.clock.created(ds, created),
                    {
                        "uuid": self.uuid("note_"),
                        "customer_uuid": customer["uuid"],
                        "type": "call" if is_call else "note",
                        "text": self.pick(vocab.NOTE_TEXTS),
                        "call_duration": self.between(60, 3600) if is_call else 0,
                        "author": f"{author.split('@')[0].title()} ({author})",
                        "created_at": created_at(ds, created, self.between(0, 999)),
                        "updated_at": updated_at(
                            ds, created, self.later(created + 1, 5 * DAY), self.between(0, 999)
                        ),
                    },
                )
            )
        if rand() < 0.2:
            created = self.later(anchor, 300 * DAY)
            done = rand() < 0.4
            out.tasks.append(
                (
                    self.clock.created(ds, created),
                    {
                        "task_uuid": self.uuid(),
                        "customer_uuid": customer["uuid"],
                        "assignee": self.pick(vocab.OWNERS),
                        "task_details": self.pick(vocab.TASK_DETAILS),
                        "due_date": iso_millis((created // DAY + self.between(1, 60)) * DAY),
                        "completed_at": (
                            iso_millis(self.later(created + DAY, 20 * DAY)) if done else None
                        ),
                        "created_at": created_at(ds, created, self.between(0, 999)),
                        "updated_at": updated_at(
                            ds, created, self.later(created + 1, 20 * DAY), self.between(0, 999)
                        ),
                    },
                )
            )
        if rand() < 0.2:
            created = self.later(anchor, 300 * DAY)
            pipeline, stages = self.pick(vocab.PIPELINE_STAGES)
            out.opportunities.append(
                (
                    self.clock.created(ds, created),
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
                        "created_at": created_at(ds, created, self.between(0, 999)),
                        "updated_at": updated_at(
                            ds, created, self.later(created + 1, 20 * DAY), self.between(0, 999)
                        ),
                    },
                )
            )

    def created_text(self, data_source: str, natural: int, millis: int) -> str:
        """``created_at`` of a CRM record that happened at ``natural`` (an import packs it)."""
        return iso_millis(self.clock.created(data_source, natural), millis)

    def updated_text(self, data_source: str, created: int, natural: int, millis: int) -> str:
        """``updated_at``, never before its ``created_at`` once the import has packed both."""
        clock = self.clock
        return iso_millis(
            max(clock.created(data_source, natural), clock.created(data_source, created) + 1),
            millis,
        )
