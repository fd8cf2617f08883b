"""Amplify API responses for botocore's Stubber (moto has no Amplify), in the shape the
sandbox's Amplify stand-in serves (boto3 hands timestamps back as datetimes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.sandbox.fakes.amplify import app_json, branch_json

APP_ID = "d123abc"
_NOW = datetime(2025, 1, 1, tzinfo=UTC)


def app_response(variables: dict[str, str]) -> dict[str, Any]:
    return {"app": app_json(APP_ID, "arda-web-dev", "us-east-1", variables, _NOW)}


def branch_response(variables: dict[str, str], name: str = "main") -> dict[str, Any]:
    return {"branch": branch_json(APP_ID, "us-east-1", name, variables, _NOW)}
