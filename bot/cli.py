"""`creators-onboard serve | check | sandbox`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from importlib.metadata import version

from bot.audit import add_parser as add_audit_parser
from bot.config import ConfigError
from bot.logging import configure_logging
from bot.settings import Settings, environment_variables, load_settings, secret_variable_names


def _load() -> Settings | int:
    try:
        return load_settings()
    except ConfigError as exc:
        print("creators-onboard: the configuration is not valid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        print("See README.md → Configuration for every setting.", file=sys.stderr)
        return 2


def variables_help() -> str:
    """The environment variables the bot reads, one line each, for `--help`."""
    variables = environment_variables()
    width = max(len(v.name) for v in variables) + 2
    lines = ["environment variables (secrets and endpoints; everything else is in the YAML file):"]
    for var in variables:
        default = {"unset": "", "required": " [required]"}.get(
            var.default, f" [default: {var.default}]"
        )
        lines.append(f"  {var.name:<{width}}{var.meaning}{default}")
    return "\n".join(lines)


def _sandbox(host: str, port: int) -> int:
    """The rehearsal needs no settings: it makes its own, pointing at its stand-ins."""
    from bot.sandbox.web import run_sandbox

    configure_logging(level="WARNING", fmt="console", secrets=[])
    try:
        asyncio.run(run_sandbox(host, port))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(
            f"creators-onboard: cannot serve the sandbox on {host}:{port} ({exc.strerror}): "
            "another program uses that port. Stop it, or pick another port: "
            "`PORT=3001 ./scripts/run` or `creators-onboard sandbox --port 3001`.",
            file=sys.stderr,
        )
        return 2
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="creators-onboard",
        description="Guided Amazon Creators API onboarding, as a Slack bot.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {version('creators-onboard')}"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, summary in (
        ("serve", "run the bot (HTTP mode, or Socket Mode with SLACK_APP_TOKEN)"),
        ("check", "preflight: validate config and reach every system; changes nothing"),
    ):
        sub.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=variables_help(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    add_audit_parser(sub)
    sandbox = sub.add_parser(
        "sandbox",
        help="rehearse the whole rollout in a browser against local stand-ins (no accounts)",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to serve the page on")
    sandbox.add_argument("--port", type=int, default=3000, help="port (0 picks a free one)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    if args.command == "sandbox":
        return _sandbox(args.host, args.port)
    settings = _load()
    if isinstance(settings, int):
        return settings
    # From here on the settings hold the secrets. Nothing else in the process reads them
    # from the environment: Bolt, for one, would pick up SLACK_BOT_TOKEN beside our client
    # and warn that the client's token wins.
    for name in secret_variable_names():
        os.environ.pop(name, None)
    configure_logging(
        level=settings.env.log_level,
        fmt=settings.env.log_format,
        secrets=settings.secret_values(),
    )
    if args.command == "serve":
        from bot.listen import CannotListen, check_address
        from bot.preflight import refuse_to_serve
        from bot.server import serve
        from bot.store import DatabaseUnavailable

        try:  # before anything starts: a port in use is said in one line
            asyncio.run(check_address(settings.env.host, settings.env.port))
        except CannotListen as exc:
            print(f"creators-onboard: {exc}", file=sys.stderr)
            return 2
        if asyncio.run(refuse_to_serve(settings, out=sys.stderr)):
            return 2

        try:
            asyncio.run(serve(settings))
        except KeyboardInterrupt:
            pass
        except (DatabaseUnavailable, CannotListen) as exc:
            print(f"creators-onboard: {exc}", file=sys.stderr)
            return 2
        # Everything is shut down. Leave now even if a DBOS worker thread is still retrying
        # a database that went away: the interpreter would otherwise wait for it forever.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    if args.command == "audit":
        from bot.audit import export

        return asyncio.run(export(settings, rollout=args.rollout, fmt=args.format, out=sys.stdout))
    from bot.preflight import run_preflight

    return asyncio.run(run_preflight(settings, out=sys.stdout))
