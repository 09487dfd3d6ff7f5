"""How much changes a simulated day (``DayRates``) and what one day did (``DayChanges``)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from fake_chartmogul.formats import iso_offset

if TYPE_CHECKING:
    from fake_chartmogul.generate import Record

KINDS = ("new", "plan_change", "swap", "churn", "renewal")


@dataclass(frozen=True)
class DayRates:
    """Share of the account's customers (at the start of the day) that each kind changes.

    A share times the customer count is rounded stochastically (seeded), so small accounts
    still see the occasional change. The defaults add up to 1 % a day.
    """

    new: float = 0.002
    plan_change: float = 0.003
    swap: float = 0.0005
    churn: float = 0.0015
    renewal: float = 0.003

    def __post_init__(self) -> None:
        """Shares are fractions of the account."""
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0.0 <= value <= 1.0:
                msg = f"{f.name} must be between 0 and 1, not {value}"
                raise ValueError(msg)

    @classmethod
    def total(cls, share: float) -> DayRates:
        """The default mix of kinds scaled so that ``share`` of the customers change a day."""
        base = cls()
        scale = share / base.sum()
        return cls(**{f.name: getattr(base, f.name) * scale for f in fields(cls)})

    @classmethod
    def only(cls, kind: str, share: float) -> DayRates:
        """Every customer-``share`` change of one kind, no other kind (for tests)."""
        if kind not in KINDS:
            msg = f"unknown kind {kind!r}; known: {KINDS}"
            raise ValueError(msg)
        return replace(cls(**dict.fromkeys(KINDS, 0.0)), **{kind: share})

    def sum(self) -> float:
        """Share of the customers changed a day, all kinds together."""
        return float(sum(getattr(self, f.name) for f in fields(self)))


@dataclass(frozen=True)
class DayChanges:
    """What one :meth:`Timeline.advance` did: per kind, the customer uuids, in draw order.

    ``activities`` and ``subscription_events`` are the records it added (also in the account).
    """

    day: int
    at: int
    """The day's instant, epoch seconds (UTC); every new record is stamped with it."""
    new: tuple[str, ...] = ()
    plan_change: tuple[str, ...] = ()
    swap: tuple[str, ...] = ()
    churn: tuple[str, ...] = ()
    renewal: tuple[str, ...] = ()
    activities: tuple[Record, ...] = field(default=(), repr=False)
    subscription_events: tuple[Record, ...] = field(default=(), repr=False)
    invoices: int = 0
    """Invoices the day issued (a thick account's; always 0 in a thin one)."""

    def by_kind(self) -> dict[str, list[str]]:
        """Kind -> customer uuids (every kind present, possibly empty)."""
        return {kind: list(getattr(self, kind)) for kind in KINDS}

    def customers(self) -> frozenset[str]:
        """Every customer changed that day."""
        return frozenset(uuid for kind in KINDS for uuid in getattr(self, kind))

    @property
    def stamp(self) -> str:
        """``at`` as the activities' ``date`` shows it."""
        return iso_offset(self.at)

    def summary(self) -> dict[str, Any]:
        """JSON-ready description (what the harness endpoint answers)."""
        return {
            "day": self.day,
            "at": self.stamp,
            "changes": self.by_kind(),
            "activities": len(self.activities),
            "subscription_events": len(self.subscription_events),
            "invoices": self.invoices,
        }
