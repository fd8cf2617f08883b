"""The `fake_op` pytest fixture; `FakeOp` itself is in bot/sandbox/fakes/op.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sandbox.fakes.op import DEFAULT_VAULTS, ITEM_TITLE, SYSTEMS_VAULT, FakeOp

__all__ = ["DEFAULT_VAULTS", "ITEM_TITLE", "SYSTEMS_VAULT", "FakeOp", "fake_op"]


@pytest.fixture
def fake_op(tmp_path: Path) -> FakeOp:
    return FakeOp(tmp_path / "fake-op")
