"""Wire-format helpers shared by the dataset generator, the metrics model and the server.

ChartMogul mixes several ISO-8601 flavours (``+00:00``, ``.000Z``, ``Z``) and several id styles
(prefixed UUIDs, plain UUIDs, ints): docs/chartmogul-api.md §1.6. Keeping every formatter here
means the generator can stay fast (no ``datetime`` objects in its hot loop) and the server can
parse whatever it emitted.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime, timedelta

__all__ = ["UTC"]  # re-exported: the fake's one UTC
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_CACHE: dict[int, str] = {}
_MASK64 = (1 << 64) - 1
_VARIANT = {d: "89ab"[int(d, 16) % 4] for d in "0123456789abcdef"}


def day_text(day_number: int) -> str:
    """Return ``YYYY-MM-DD`` for a day counted from 1970-01-01 (cached: the window is small)."""
    text = _DAY_CACHE.get(day_number)
    if text is None:
        text = date.fromordinal(_EPOCH_ORDINAL + day_number).isoformat()
        _DAY_CACHE[day_number] = text
    return text


_CLOCK: list[str] = []
"""``HH:MM:SS`` of every second of a day (built on first use): timestamps are formatted by the
million (thick invoices are drawn on every read), so a lookup beats three ``divmod``."""


def _stamp(ts: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of an epoch-seconds timestamp."""
    if not _CLOCK:
        _CLOCK.extend(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400))
    day, second = divmod(ts, 86400)
    return f"{day_text(day)}T{_CLOCK[second]}"


def iso_offset(ts: int) -> str:
    """``2022-03-04T10:11:12+00:00`` — customer-since, activities, subscriptions."""
    return f"{_stamp(ts)}+00:00"


def iso_millis(ts: int, millis: int = 0) -> str:
    """``2022-03-04T10:11:12.000Z`` — lead dates, invoices, notes, tasks."""
    return f"{_stamp(ts)}.{millis:03d}Z"


def iso_z(ts: int) -> str:
    """``2022-03-04T10:11:12Z`` — subscription events."""
    return f"{_stamp(ts)}Z"


def ymd(ts: int) -> str:
    """``YYYY-MM-DD`` of an epoch-seconds timestamp."""
    return day_text(ts // 86400)


def epoch(d: date) -> int:
    """Epoch seconds of midnight UTC of ``d``."""
    return (d.toordinal() - _EPOCH_ORDINAL) * 86400


def parse_datetime(text: str) -> datetime:
    """Parse any ISO date/datetime the fake emits or a client sends; naive values are UTC."""
    value = datetime.fromisoformat(text.strip().replace(" ", "+"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def iso_ns(ns: int) -> str:
    """``2023-10-30T03:16:56.035017000Z``: a creation time inside a recorded cursor (§1.2)."""
    seconds, rest = divmod(ns, 1_000_000_000)
    stamp = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{rest:09d}Z"


def parse_iso_ns(text: str) -> int:
    """The nanoseconds of an ``iso_ns`` text; ValueError for any other shape."""
    stamp, dot, fraction = text.removesuffix("Z").partition(".")
    if not text.endswith("Z") or not dot or len(fraction) != 9 or not fraction.isdigit():  # noqa: PLR2004
        raise ValueError(text)
    seconds = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC) - _EPOCH
    return (seconds // timedelta(seconds=1)) * 1_000_000_000 + int(fraction)


def to_ns(text: str) -> int:
    """Exact integer nanoseconds since the epoch (cursor keys must not suffer float rounding)."""
    delta = parse_datetime(text) - _EPOCH
    return (delta // timedelta(microseconds=1)) * 1000


def format_uuid(bits: int) -> str:
    """Format 128 bits as a canonical 8-4-4-4-12 UUID string."""
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid4(bits: int) -> str:
    """Version-4-looking UUID from 128 random bits (so the ids look like the real ones)."""
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def timed_uuid(millis: int, random_bits: int) -> str:
    """UUIDv7-like string whose first 48 bits are a creation time in milliseconds.

    Plans, plan groups, contacts and invoices carry no creation timestamp on the wire, yet the
    API lists them newest-created first; embedding the time in the id keeps that order derivable
    from the record alone (so tests can append records and the server can still sort them).
    """
    return format_uuid(((millis & 0xFFFFFFFFFFFF) << 80) | (random_bits & ((1 << 80) - 1)))


def uuid_millis(uuid: str) -> int:
    """Creation milliseconds embedded by :func:`timed_uuid`; 0 for ids that are not timed."""
    hex_part = uuid.rpartition("_")[2].replace("-", "")
    try:
        return int(hex_part[:12], 16)
    except ValueError:
        return 0


def b64encode(text: str) -> str:
    """URL-unsafe standard base64, as the real cursors use."""
    return base64.b64encode(text.encode()).decode()


def b64decode(text: str) -> str:
    """Inverse of :func:`b64encode`; raises ``ValueError`` on anything malformed."""
    try:
        return base64.b64decode(text.encode(), validate=True).decode()
    except (binascii.Error, UnicodeError) as exc:
        msg = "invalid base64"
        raise ValueError(msg) from exc


def mix64(*parts: int) -> int:
    """SplitMix64-style hash of small ints: a cheap deterministic noise source (no RNG state)."""
    x = 0x9E3779B97F4A7C15
    for part in parts:
        x = (x ^ (part & _MASK64)) & _MASK64
        x = (x + 0x9E3779B97F4A7C15) & _MASK64
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
        x ^= x >> 31
    return x


def unit(*parts: int) -> float:
    """Deterministic float in [0, 1) derived from ``parts``."""
    return mix64(*parts) / 2.0**64


class Stream:
    """A cheap seeded stream of draws (an LCG): one per lazily drawn record.

    ``random.Random(seed)`` costs 7 µs to seed; a thick invoice is drawn from its own stream
    each time it is served, so the stream must cost next to nothing to start.
    """

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        """Start from one mixing round of ``seed`` (callers hash their own parts into it)."""
        seed &= _MASK64
        self.state = ((seed ^ (seed >> 31)) * 0xBF58476D1CE4E5B9) & _MASK64

    def rand(self) -> float:
        """A float in [0, 1)."""
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & _MASK64
        return (self.state >> 11) * 2.0**-53

    def between(self, lo: int, hi: int) -> int:
        """Uniform int in [lo, hi]."""
        return lo + int(self.rand() * (hi - lo + 1)) if hi > lo else lo

    def bits(self, count: int) -> int:
        """``count`` random bits (up to 128)."""
        out = 0
        for _ in range(-(-count // 32)):
            self.state = (self.state * 6364136223846793005 + 1442695040888963407) & _MASK64
            out = (out << 32) | (self.state >> 32)
        return out & ((1 << count) - 1)
