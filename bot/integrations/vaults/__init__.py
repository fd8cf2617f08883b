"""The four partition vaults, read with the 1Password CLI (`op`), and their verification.

`op` is the client (the subprocess, its environment, its errors), `verify` the pure
judgement of what it read, `texts` what people read about each problem and `models` the
JSON the verification produces. Nothing here holds or shows a secret value.
"""

from bot.integrations.vaults.models import (
    EXPECTED_FIELDS,
    GLOBAL_CODES,
    SECRET_FIELD,
    SHOWN_FIELDS,
    FieldCheck,
    FieldStatus,
    ItemCheck,
    ProblemCode,
    VaultProblem,
    VaultRef,
    VaultRow,
    VerificationReport,
)
from bot.integrations.vaults.op import VaultError, VaultReader, classify_op_error
from bot.integrations.vaults.verify import build_report

__all__ = [
    "EXPECTED_FIELDS",
    "GLOBAL_CODES",
    "SECRET_FIELD",
    "SHOWN_FIELDS",
    "FieldCheck",
    "FieldStatus",
    "ItemCheck",
    "ProblemCode",
    "VaultError",
    "VaultProblem",
    "VaultReader",
    "VaultRef",
    "VaultRow",
    "VerificationReport",
    "build_report",
    "classify_op_error",
]
