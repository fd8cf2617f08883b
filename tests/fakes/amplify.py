"""Amplify API responses for botocore's Stubber (moto has no Amplify)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

APP_ID = "d123abc"


def app_response(variables: dict[str, str]) -> dict[str, Any]:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    return {
        "app": {
            "appId": APP_ID,
            "appArn": f"arn:aws:amplify:us-east-1:123456789012:apps/{APP_ID}",
            "name": "arda-web-dev",
            "description": "",
            "repository": "https://github.com/Arda-cards/web",
            "platform": "WEB_COMPUTE",
            "createTime": now,
            "updateTime": now,
            "environmentVariables": variables,
            "defaultDomain": f"{APP_ID}.amplifyapp.com",
            "enableBranchAutoBuild": False,
            "enableBasicAuth": False,
        }
    }


def branch_response(variables: dict[str, str], name: str = "main") -> dict[str, Any]:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    return {
        "branch": {
            "branchArn": f"arn:aws:amplify:us-east-1:123456789012:apps/{APP_ID}/branches/{name}",
            "branchName": name,
            "description": "",
            "stage": "PRODUCTION",
            "displayName": name,
            "enableNotification": False,
            "createTime": now,
            "updateTime": now,
            "environmentVariables": variables,
            "enableAutoBuild": True,
            "customDomains": [],
            "framework": "Next.js - SSR",
            "activeJobId": "1",
            "totalNumberOfJobs": "1",
            "enableBasicAuth": False,
            "ttl": "5",
            "enablePullRequestPreview": False,
        }
    }
