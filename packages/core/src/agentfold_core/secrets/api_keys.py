"""API keys ``af_<public_id>.<secret>``: generated here, stored as public id + prefix +
scrypt hash, verified in constant time. The plaintext is shown once and never stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass

KEY_PREFIX = "af_"
PUBLIC_ID_LENGTH = 16
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_KEY_RE = re.compile(r"^af_([a-z0-9]{16})\.([A-Za-z0-9_-]{43})$")
# scrypt cost: ~16 MiB and tens of milliseconds per hash, per OWASP's minimums.
_N, _R, _P = 2**14, 8, 1


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    """A freshly generated key and what is stored of it."""

    plaintext: str
    public_id: str
    prefix: str
    hash: str


def generate_key() -> KeyMaterial:
    """A new random API key with its public id, display prefix and hash."""
    public_id = "".join(secrets.choice(_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    plaintext = f"{KEY_PREFIX}{public_id}.{secret}"
    return KeyMaterial(plaintext, public_id, plaintext[:24], hash_secret(secret))


def parse_key(plaintext: str) -> tuple[str, str] | None:
    """``(public_id, secret)`` of a well-formed key, else ``None``."""
    match = _KEY_RE.fullmatch(plaintext)
    return None if match is None else (match.group(1), match.group(2))


def hash_secret(secret: str) -> str:
    """``scrypt$N$r$p$salt$hash`` of a key's secret part."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join(("scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)))


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches a stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            secret.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


class VerifiedSecrets:
    """Secrets this process has verified against a stored hash, so a key used on every
    request pays scrypt once, not per request.

    Entries hold an HMAC of the secret under a random per-process pepper (never the
    secret), keyed by the stored hash: a new hash (a re-issued key) is a miss. Bounded
    (least recently used out) so a flood of keys cannot grow memory.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._pepper = secrets.token_bytes(32)
        self._known: OrderedDict[str, bytes] = OrderedDict()

    def _mac(self, secret: str) -> bytes:
        # The one-shot form: no HMAC object built per request.
        return hmac.digest(self._pepper, secret.encode(), "sha256")

    def verify(self, secret: str, stored: str) -> bool:
        """Whether ``secret`` matches ``stored`` (scrypt on the first sight only)."""
        known = self._known.get(stored)
        if known is not None:
            self._known.move_to_end(stored)
            return hmac.compare_digest(known, self._mac(secret))
        if not verify_secret(secret, stored):
            return False
        self._known[stored] = self._mac(secret)
        if len(self._known) > self._capacity:
            self._known.popitem(last=False)
        return True

    def knows(self, secret: str, stored: str) -> bool:
        """Whether ``secret`` was verified against ``stored`` in this process (no scrypt:
        ``False`` for a secret never verified, right or wrong)."""
        known = self._known.get(stored)
        return known is not None and hmac.compare_digest(known, self._mac(secret))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
