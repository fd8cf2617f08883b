"""The four partition vaults, read with the 1Password CLI (`op`), and their verification.

`op` is the client (the subprocess, its environment, its errors), `verify` the pure
judgement of what it read, `texts` what people read about each problem and `models` the
JSON the verification produces. Nothing here holds or shows a secret value.

The rollout needs only what is exported here: `VaultReader.verify()` returns a
`VerificationReport` whose rows and problems (`VaultProblem`, a `Problem` with a code)
say what to fix.
"""

from bot.integrations.vaults.models import VaultProblem, VaultRow, VerificationReport
from bot.integrations.vaults.op import VaultError, VaultReader

__all__ = ["VaultError", "VaultProblem", "VaultReader", "VaultRow", "VerificationReport"]
