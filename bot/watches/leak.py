"""The leak guard's judgement: does a Slack message hold the Credential Secret, or the four
values pasted together? Pure: the text goes in, a verdict comes out; nothing is kept.

The secret is recognised by its keyed hash: every word of the message is hashed with the
same keyed function the vault verification uses (`bot.integrations.vaults.verify`) and
compared with the fingerprint that verification remembered. The message's text is never
stored, logged or sent anywhere.
"""

from __future__ import annotations

import hmac
import html
import re
from collections.abc import Callable, Iterable
from typing import Literal

Verdict = Literal["secret", "credentials"]

# A Credential Secret is a long random string; shorter words are not worth hashing.
MIN_SECRET_LENGTH = 12
_STRIP = "`*_~\"'()[]{}<>,;.!?|"
_SPLIT = re.compile(r"\s+")
# "credentialSecret: …", "Credential ID = …" — a label of the handover with a value after it.
_LABELS = {
    "id": re.compile(r"credential[\s_-]*id\s*[:=]\s*[^\s(]", re.IGNORECASE),
    "secret": re.compile(r"credential[\s_-]*secret\s*[:=]\s*[^\s(]", re.IGNORECASE),
    "version": re.compile(r"\bversion\s*[:=]\s*[^\s(]", re.IGNORECASE),
    "tag": re.compile(r"associate(?:s)?[\s_-]*tag\s*[:=]\s*[^\s(]", re.IGNORECASE),
}


def words(text: str) -> set[str]:
    """The candidate secrets in a message: each word with formatting stripped, and the
    value half of `label:value` / `label=value` words."""
    found: set[str] = set()
    for raw in _SPLIT.split(html.unescape(text)):
        word = raw.strip(_STRIP)
        if not word:
            continue
        found.add(word)
        for sep in (":", "="):
            if sep in word:
                found.add(word.split(sep, 1)[1].strip(_STRIP))
    return {w for w in found if len(w) >= MIN_SECRET_LENGTH}


def holds_secret(text: str, fingerprint: str, keyed: Callable[[str], str]) -> bool:
    """Whether a word of `text` has the keyed hash `fingerprint` (constant-time compare)."""
    return _any_match(words(text), fingerprint, keyed)


def _any_match(candidates: Iterable[str], fingerprint: str, keyed: Callable[[str], str]) -> bool:
    hit = False
    for word in candidates:
        hit |= hmac.compare_digest(keyed(word), fingerprint)
    return hit


def looks_like_handover(text: str) -> bool:
    """Three or more of the four labelled values pasted together (with values, not the
    runbook's "(your Credential ID)" placeholders)."""
    plain = html.unescape(text)
    return sum(1 for pattern in _LABELS.values() if pattern.search(plain)) >= 3


def judge(text: str, fingerprint: str | None, keyed: Callable[[str], str]) -> Verdict | None:
    """What the message holds: the secret itself, credentials pasted together, or nothing."""
    if fingerprint and holds_secret(text, fingerprint, keyed):
        return "secret"
    if looks_like_handover(text):
        return "credentials"
    return None
