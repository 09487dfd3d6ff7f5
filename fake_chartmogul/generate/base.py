"""What every layer of the generator shares: the time window, the RNG's draws, the buffers.

All timestamps live in a fixed window (2022-01-01 .. 2025-12-31, "now" = 2026-01-01), so the
same ``(customers, seed)`` always yields byte-identical records, whatever day the tests run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from fake_chartmogul.formats import Stream, epoch, timed_uuid, uuid4, uuid_millis

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .billing import Bill
    from .book import InvoiceBook

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

IMPORT_SECONDS = 15 * 60
"""How long a bulk import takes: what existed at a connection is created in this window."""
HISTORY_START = W0 - 400 * DAY
"""Nothing the generator draws is older (the window's plans start 200 days before it)."""
CONNECTED_AT = (0.45, 0.65, 0.8)
"""When each data source of a thick account was connected, as a share of the window."""


@dataclass(frozen=True)
class Shape:
    """What kind of account to draw (the knobs of :class:`~fake_chartmogul.FakeAccount`).

    ``thick``: an invoice per billing period of every subscription, and a history that was
    bulk-imported when each data source was connected. ``data_sources``: how many (1 to 3);
    ``None`` draws two or three, as the thin account always did.
    """

    thick: bool = False
    data_sources: int | None = None

    def __post_init__(self) -> None:
        """One, two or three data sources (the vocabulary names three)."""
        if self.data_sources is not None and not 1 <= self.data_sources <= 3:
            msg = f"data_sources must be 1, 2 or 3, not {self.data_sources}"
            raise ValueError(msg)


@dataclass(frozen=True)
class ImportClock:
    """Creation times as a real account has them: a dense import block, then as it happens.

    A record that happened before its data source was connected (``connected``: data source
    uuid -> epoch seconds) was created by the bulk import at the connection: its natural time
    is packed, in order, into the :data:`IMPORT_SECONDS` after it. Later records are created
    when they happen. Without connections (a thin account) every time is natural.
    """

    connected: dict[str, int] = field(default_factory=dict)

    def created(self, data_source: str, natural: int) -> int:
        """The creation time (epoch seconds) of a record that happened at ``natural``."""
        return self.created_us(data_source, natural * 1_000_000) // 1_000_000

    def created_us(self, data_source: str, natural_us: int) -> int:
        """:meth:`created` in microseconds (thick invoices are ordered by these)."""
        connect = self.connected.get(data_source)
        if connect is None or natural_us >= connect * 1_000_000:
            return natural_us
        since = max(natural_us - HISTORY_START * 1_000_000, 0)
        return connect * 1_000_000 + since * IMPORT_SECONDS // (connect - HISTORY_START)


@dataclass
class Dataset:
    """Everything :func:`generate` produces; ``FakeAccount`` adopts these fields."""

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
    invoices: list[Record] | InvoiceBook
    """A list, or a thick account's :class:`~.book.InvoiceBook`."""
    subscription_events: list[Record]
    contacts: list[Record]
    customer_notes: list[Record]
    tasks: list[Record]
    opportunities: list[Record]


@dataclass
class Sub:
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
    gap: tuple[int, int] | None = None
    """(churned, reactivated) when the subscription lapsed and came back."""
    level: int = 0
    """MRR after the change, if any (the wire record says 0 once inactive)."""


class Draws:
    """The shared RNG and its cheap draws; every layer of the generator builds on it.

    One ``random.Random(seed)`` for the whole run: the order of the calls defines the dataset.
    """

    def __init__(self, customers: int, seed: int, shape: Shape | None = None) -> None:
        """One RNG for ``customers`` customers from ``seed``, of the account ``shape``."""
        self.n = customers
        self.seed = seed
        self.shape = shape if shape is not None else Shape()
        self.clock = ImportClock()
        """Set once the data sources are drawn (thick accounts' connections)."""
        self.first_source = ""
        """The first data source's uuid (plan groups are created with it)."""
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data
        self.rand: Callable[[], float] = self.rng.random
        self.bits: Callable[[int], int] = self.rng.getrandbits

    # -- small helpers -------------------------------------------------------------------
    def pick(self, seq: Sequence[Any]) -> Any:
        """One element of ``seq`` (cheaper than ``Random.choice``)."""
        return seq[int(self.rand() * len(seq))]

    def between(self, lo: int, hi: int) -> int:
        """Uniform int in [lo, hi] (cheaper than ``randint``)."""
        return lo + int(self.rand() * (hi - lo + 1)) if hi > lo else lo

    def uuid(self, prefix: str = "") -> str:
        """A random version-4-looking uuid after ``prefix``."""
        return prefix + uuid4(self.bits(128))

    def later(self, start: int, span: int) -> int:
        """A time up to ``span`` seconds after ``start`` but at least a day before "now"."""
        room = min(span, NOW - DAY - start)
        return start + self.between(0, room) if room > 0 else start

    def timed(self, prefix: str, seconds: int) -> str:
        """A uuid whose first 48 bits are the creation time (ms) ``seconds`` plus a drawn ms."""
        return prefix + timed_uuid(seconds * 1000 + int(self.rand() * 1000), self.bits(80))


@dataclass
class Ctx:
    """What every customer draws from: data sources, their plans, the plans' prices."""

    data_sources: list[Record]
    plans_by_ds: dict[str, list[Record]]
    prices: dict[str, int]


@dataclass
class Rows:
    """Invoice rows as the build makes them: parallel columns, one entry per invoice."""

    bill: list[int]
    period: list[int]
    created_us: list[int]
    flags: list[int]

    def add(self, bill: int, period: int, created_us: int, flags: int = 0) -> None:
        """One more invoice."""
        self.bill.append(bill)
        self.period.append(period)
        self.created_us.append(created_us)
        self.flags.append(flags)


@dataclass
class Out:
    """The run's records as they are drawn, with the sort keys they are assembled by."""

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
    bills: list[Bill] = field(default_factory=list)
    """A thick account's bills, one per subscription, and their invoice rows."""
    rows: Rows = field(default_factory=lambda: Rows([], [], [], []))
    stream: Stream = field(default_factory=lambda: Stream(0x1A1E))
    """When thick invoices were recorded after being issued (the build's own draws)."""

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
            "customer_notes": newest_first(self.notes),
            "tasks": newest_first(self.tasks),
            "opportunities": newest_first(self.opportunities),
        }


@dataclass
class Life:
    """Lifecycle of one customer as drawn by :meth:`Drawer.lifecycle`."""

    status: str
    since: int | None
    lead_created: int | None
    trial: int | None
    first: str
    last: str


LEAD_SORT = 1 << 62
"""Leads (customer-since null) sort after every paying customer, by id."""


def maybe(fmt: Callable[[int], str], ts: int | None) -> str | None:
    """``fmt(ts)``, or ``None`` when there is no time."""
    return fmt(ts) if ts is not None else None


def newest_first(items: list[tuple[int, Record]]) -> list[Record]:
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


def ascii_fold(text: str) -> str:
    """``text`` with accents dropped, for e-mail addresses and URL slugs."""
    return text.translate(_ASCII)
