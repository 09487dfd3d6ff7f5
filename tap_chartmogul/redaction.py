"""Keep the API key out of every line the tap writes, whoever put it in the text.

A hostile or broken server can echo the key or its Basic token in an error page that
the tap quotes; a proxy can put it in a log line. So the key is not just never logged
on purpose: every log record (any level, any logger, tracebacks included) and every
Singer message passes through ``SECRETS`` before it is written, and each known form of
the key (plain, URL-encoded, and the base64 forms that Basic auth uses) is replaced.
"""

from __future__ import annotations

import base64
import logging
import threading
import typing as t
from urllib.parse import quote

MASK = "<redacted>"
#: Shorter values are not treated as secrets: masking them would mangle ordinary text.
MIN_SECRET_LENGTH = 6


def secret_forms(key: str) -> set[str]:
    """Every spelling of ``key`` that can appear in text: plain, quoted, base64 tokens."""
    forms = {key, quote(key, safe="")}
    for raw in (f"{key}:", key, f":{key}", f"{key}:{key}"):
        encoded = base64.b64encode(raw.encode()).decode()
        forms.update({encoded, encoded.rstrip("=")})
        urlsafe = base64.urlsafe_b64encode(raw.encode()).decode()
        forms.update({urlsafe, urlsafe.rstrip("=")})
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


class SecretRedactor(logging.Filter):
    """Replaces registered secrets in text, bytes and log records.

    One instance per process (``SECRETS``): output streams are process-wide, and a test
    run may build several taps with different keys.
    """

    def __init__(self) -> None:
        """Start with no secrets."""
        super().__init__()
        self._lock = threading.Lock()
        self._forms: tuple[str, ...] = ()
        self._byte_forms: tuple[bytes, ...] = ()
        self._triggers: tuple[bytes, ...] = ()

    def add(self, secret: str | None) -> None:
        """Register ``secret`` (and its encodings) for redaction."""
        if not secret or len(secret) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            forms = set(self._forms) | secret_forms(secret)
            # Longest first, so a form that contains another is replaced whole.
            self._forms = tuple(sorted(forms, key=len, reverse=True))
            self._byte_forms = tuple(form.encode() for form in self._forms)
            # Every form contains one of these (the forms without a shorter form inside):
            # the per-message check scans for few strings, the masking then for all.
            self._triggers = tuple(
                form
                for form in self._byte_forms
                if not any(other != form and other in form for other in self._byte_forms)
            )

    def text(self, value: str) -> str:
        """``value`` with every registered secret masked."""
        for form in self._forms:
            if form in value:
                value = value.replace(form, MASK)
        return value

    def found_in(self, value: bytes | bytearray) -> bool:
        """Whether ``value`` contains any registered secret (a cheap check per message)."""
        return any(trigger in value for trigger in self._triggers)

    def data(self, value: bytes) -> bytes:
        """``value`` (UTF-8 bytes, e.g. a Singer message) with every secret masked."""
        for form in self._byte_forms:
            if form in value:
                value = value.replace(form, MASK.encode())
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask secrets in the message, its arguments and any traceback of ``record``."""
        if not self._forms:
            return True
        message = record.getMessage()
        cleaned = self.text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.text(record.exc_text)
        return True


SECRETS = SecretRedactor()


def redact(value: t.Any) -> str:
    """``str(value)`` with every registered secret masked (for messages built by hand)."""
    return SECRETS.text(str(value))
