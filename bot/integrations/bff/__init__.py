"""Smoke test of one partition's BFF: the import endpoint behaves as its contract says.

`SmokeTester.run(bff_url, token)` performs these checks and returns a `SmokeReport`:

1. ``import`` — the success path: ``POST {bff_url}{path}`` with
   ``{"url": "https://www.amazon.com/dp/{asin}"}`` and ``Authorization: Bearer <token>``.
   Green on 200 (full) or 206 (partial) with a JSON object whose ``asin`` is the requested
   one and that validates against the v1 DTO JSON Schema; on 200 the properties the schema
   names in ``x-full-required`` must also be non-null.
2. ``error_path`` — a non-Amazon URL must give a 4xx with ``UNRECOGNIZED_AMAZON_URL``.
3. ``auth_required`` — the success request without a token must give 401
   ``AUTHENTICATION_REQUIRED``.
4. ``throttle`` (only with ``throttle_check=True``) — a burst of ``burst`` (default 3)
   concurrent success-path requests. Amazon allows 1 request per second per credential, so
   some may be throttled; that is fine as long as the BFF says so properly. Green when every
   answer is either a valid success (200/206, right ASIN) or a 429 with a well-formed
   ``{"error": {"code": "AMAZON_RATE_LIMITED", "message": …}}``; red on anything else (a 5xx,
   ``INTERNAL_ERROR``, a malformed body), because then real users would see breakage when
   traffic peaks. The burst costs at most ``burst`` requests of the partition's quota.

`client` speaks HTTP, `checks` judges the answers (pure), `texts` holds what people read:
what each of the BFF's error codes means, and every other way a check can go red. Every
red check carries a `Problem` (symptom → cause → fix). The token goes only into the
Authorization header; it is never in a report, a log line or an exception.
"""

from bot.integrations.bff.report import SmokeCheck, SmokeReport, load_dto_schema
from bot.integrations.bff.smoke import DEFAULT_ASIN, DEFAULT_PATH, SmokeTester
from bot.integrations.bff.texts import ERROR_CODES, diagnose

__all__ = [
    "DEFAULT_ASIN",
    "DEFAULT_PATH",
    "ERROR_CODES",
    "SmokeCheck",
    "SmokeReport",
    "SmokeTester",
    "diagnose",
    "load_dto_schema",
]
