"""`creators-onboard serve | check`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from bot.logging import configure_logging
from bot.settings import ConfigError, Settings, load_settings


def _load() -> Settings | int:
    try:
        return load_settings()
    except ConfigError as exc:
        print("creators-onboard: the configuration is not valid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        print("See README.md → Configuration for every setting.", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="creators-onboard",
        description="Guided Amazon Creators API onboarding, as a Slack bot.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the bot (HTTP mode, or Socket Mode with SLACK_APP_TOKEN)")
    sub.add_parser(
        "check", help="preflight: validate config and reach every system; changes nothing"
    )
    args = parser.parse_args(argv)

    settings = _load()
    if isinstance(settings, int):
        return settings
    configure_logging(
        level=settings.env.log_level,
        fmt=settings.env.log_format,
        secrets=settings.secret_values(),
    )
    if args.command == "serve":
        from bot.server import serve
        from bot.store import DatabaseUnavailable

        try:
            asyncio.run(serve(settings))
        except KeyboardInterrupt:
            pass
        except DatabaseUnavailable as exc:
            print(f"creators-onboard: {exc}", file=sys.stderr)
            return 2
        # Everything is shut down. Leave now even if a DBOS worker thread is still retrying
        # a database that went away: the interpreter would otherwise wait for it forever.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    from bot.preflight import run_preflight

    return asyncio.run(run_preflight(settings, out=sys.stdout))
