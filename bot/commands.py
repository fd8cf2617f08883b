"""The slash command's grammar: subcommands, their usage, parsing. No Slack imports."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

COMMAND = "/creators-onboard"


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    role: str  # who may run it: "anyone", "devOps", "accountOwner or devOps"


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("help", "help", "Show this list of commands.", "anyone"),
    Subcommand(
        "start",
        "start [@owner] [@devops]",
        "Start a rollout: the bot guides the account owner, then devOps (devOps only).",
        "devOps",
    ),
    Subcommand("status", "status", "Where the rollout stands and who it is waiting on.", "anyone"),
    Subcommand(
        "verify", "verify", "Check the four 1Password vaults again (devOps only).", "devOps"
    ),
    Subcommand(
        "deploy",
        "deploy <partition>",
        "Deploy one partition with amm.yml, in order dev → stage → demo → prod (devOps only).",
        "devOps",
    ),
    Subcommand(
        "smoke",
        "smoke <partition>",
        "Run the smoke test against a partition's BFF again (devOps only).",
        "devOps",
    ),
    Subcommand(
        "retry",
        "retry [redeploy]",
        "Repeat the check that halted the rollout and carry on; `redeploy` runs amm.yml again "
        "first (devOps only).",
        "devOps",
    ),
    Subcommand(
        "abort",
        "abort <reason>",
        "Stop the rollout for good, with a reason everyone will see (devOps only).",
        "devOps",
    ),
    Subcommand(
        "audit",
        "audit [rollout]",
        "The latest transitions and refusals of a rollout, the latest one unless named "
        "(devOps only).",
        "devOps",
    ),
    Subcommand(
        "rotate",
        "rotate [reason]",
        "Rotate the credentials: new credential, handover, vaults, redeploy (devOps only).",
        "devOps",
    ),
    Subcommand(
        "watch",
        "watch <name>",
        "Run a watch now: eligibility, probe, rotation or service_account (devOps only).",
        "devOps",
    ),
)

BY_NAME = {s.name: s for s in SUBCOMMANDS}

# A person, as Slack sends them: escaped (`<@U123|alice>`, `<@U123>`: the command's
# should_escape is on) or as typed (`@alice`: escaping off, or a name Slack did not match).
_PERSON = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|(?<![\w<@])@([A-Za-z0-9][\w.\-]*)")
# A URL scheme, as Slack and Linear would turn it into a link.
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,20}):(//)")
# What a person types is shown at most this long (a Block Kit text field holds 3,000).
TYPED_MAX = 500


def as_text(typed: str, limit: int = TYPED_MAX) -> str:
    """Text a person typed, made safe to show anywhere the bot writes: Slack's control
    characters escaped (so `<!channel>`, `<@U…>` and `<url|label>` show as typed and ping
    or link nobody), URL schemes defanged (`https[:]//…`, so neither Slack nor Linear
    makes a link of it) and the length capped."""
    text = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SCHEME.sub(r"\1[:]//", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Parsed:
    """Immutable all through: `parse` hands the same one to every request with that text."""

    name: str
    args: tuple[str, ...] = ()
    # The people named, in order: a member ID (U…) or, for a typed name, "@name".
    mentions: tuple[str, ...] = ()
    rest: str = ""
    known: bool = True
    suggestion: str | None = None

    @property
    def typed_names(self) -> list[str]:
        """The people given as typed `@name`s, which still need looking up."""
        return [m for m in self.mentions if m.startswith("@")]


def people(text: str) -> tuple[str, ...]:
    """Everyone named in `text`, in order: member IDs, and typed names as "@name"."""
    return tuple(uid or f"@{name}" for uid, name in _PERSON.findall(text))


def parse(text: str | None) -> Parsed:
    """Split `/creators-onboard <text>` into a subcommand, its words and its user mentions.
    A request reads its text twice before its ack (whether it may be replayed, then its
    answer), and people repeat the same few commands: the answer for a short text is kept."""
    text = (text or "").strip()
    return _kept(text) if len(text) <= KEPT_MAX else _parse(text)


# Texts up to this long are parsed once and kept (256 of them, the most recent): every
# command people type is, and a long one (an abort's reason) is not held in memory.
KEPT_MAX = 200


@lru_cache(maxsize=256)
def _kept(text: str) -> Parsed:
    return _parse(text)


def _parse(text: str) -> Parsed:
    if not text:
        return Parsed("help")
    head, _, rest = text.partition(" ")
    name = head.lower()
    rest = rest.strip()
    mentions = people(rest)
    args = tuple(as_text(w, 64) for w in _PERSON.sub(" ", rest).split() if w)
    if name in BY_NAME:
        return Parsed(name, args, mentions, as_text(rest))
    shown = as_text(name, 40)
    return Parsed(shown, args, mentions, as_text(rest), known=False, suggestion=suggest(name))


def suggest(typed: str) -> str | None:
    """The subcommand the person most likely meant: a prefix match first, then the closest."""
    prefixed = [s for s in BY_NAME if typed and s.startswith(typed)]
    if len(prefixed) == 1:
        return prefixed[0]
    close = difflib.get_close_matches(typed, list(BY_NAME), n=1, cutoff=0.5)
    return close[0] if close else None
