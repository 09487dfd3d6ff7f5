"""``/v1/notes``: notes and call logs on customers and on contacts (docs/chartmogul-api.md §8).

The 2026 endpoint that supersedes ``/v1/customer_notes``. Its records are the customer notes
with ``associated_object: "customer"`` and ``associated_object_uuid`` (the customer), and notes
on contacts, with ``customer_uuid: null``. The generated account has no contact notes: about
one contact in four gets one here, drawn from the contact's uuid, so they are the same on
every build and vanish with their contact. The list is derived from the account's
``customer_notes`` and ``contacts`` and rebuilt whenever either changes (or ``touch()``).
"""

from __future__ import annotations

import random
import weakref
from typing import TYPE_CHECKING, Any

from . import vocab
from .formats import iso_millis, uuid4, uuid_millis
from .generate import NOW

if TYPE_CHECKING:
    from .account import FakeAccount

Record = dict[str, Any]
#: Share of contacts with a note of their own.
CONTACT_NOTE_SHARE = 0.25
#: Share of those notes that are call logs.
CALL_SHARE = 0.3
_DAY = 86_400
_cache: weakref.WeakKeyDictionary[FakeAccount, tuple[tuple[int, ...], list[Record]]] = (
    weakref.WeakKeyDictionary()
)


def notes_of(account: FakeAccount) -> list[Record]:
    """Every note of the account as ``/v1/notes`` lists them (any order: the server sorts)."""
    customer_notes, contacts = account.customer_notes, account.contacts
    stamp = (account.version, id(customer_notes), len(customer_notes), id(contacts), len(contacts))
    cached = _cache.get(account)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    notes = [
        {
            **note,
            "associated_object": "customer",
            "associated_object_uuid": note.get("customer_uuid"),
        }
        for note in customer_notes
    ]
    notes += [note for contact in contacts if (note := contact_note(account, contact))]
    _cache[account] = (stamp, notes)
    return notes


def contact_note(account: FakeAccount, contact: Record) -> Record | None:
    """The note on ``contact``, if it has one (the same one on every call)."""
    rand = random.Random(f"contact-note-{account.seed}-{contact['uuid']}")  # noqa: S311 - data
    if rand.random() >= CONTACT_NOTE_SHARE:
        return None
    created_ts = uuid_millis(contact["uuid"]) // 1000 + rand.randrange(60, 90 * _DAY)
    created_ts = min(created_ts, NOW - _DAY)
    updated_ts = min(created_ts + rand.randrange(0, 5 * _DAY), NOW - 60)
    is_call = rand.random() < CALL_SHARE
    author = rand.choice(vocab.OWNERS)
    return {
        "uuid": "note_" + uuid4(rand.getrandbits(128)),
        "customer_uuid": None,
        "associated_object": "contact",
        "associated_object_uuid": contact["uuid"],
        "type": "call" if is_call else "note",
        "text": rand.choice(vocab.NOTE_TEXTS),
        "call_duration": rand.randrange(60, 3600) if is_call else 0,
        "author": f"{author.split('@')[0].title()} ({author})",
        "created_at": iso_millis(created_ts, rand.randrange(1000)),
        "updated_at": iso_millis(updated_ts, rand.randrange(1000)),
    }
