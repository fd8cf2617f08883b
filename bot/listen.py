"""Whether `serve` can listen on HOST:PORT, and what to say when it cannot.

Asked before the database and DBOS start, so a port taken by another program (on a laptop,
often a web dev server on 3000) is said in one line with its fix instead of a traceback
after a second of starting up; and asked again by the real bind, which can still lose a
race for the port.
"""

from __future__ import annotations

import asyncio
import errno
import socket


class CannotListen(Exception):
    """HOST:PORT cannot be listened on; the message names why and what to do."""


def _problem(host: str, port: int, exc: OSError) -> str:
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        why = "another program is listening on that port"
        fix = (
            f"stop it (`lsof -i :{port}` names it), or set PORT to a free port "
            "(`PORT=3001 ./scripts/run`)"
        )
    elif exc.errno == errno.EACCES:
        why = "this user may not listen on that port (below 1024 needs root)"
        fix = "set PORT to 1024 or above (3000 by default) and put a proxy in front if needed"
    elif exc.errno == errno.EADDRNOTAVAIL:
        why = f"{host} is not an address of this machine"
        fix = "set HOST to one of this machine's addresses, or 0.0.0.0 for all of them"
    elif isinstance(exc, socket.gaierror):  # the name did not resolve
        why = f"HOST {host!r} is not a name or address this machine knows"
        fix = "set HOST to an address of this machine, or 0.0.0.0 for all of them"
    else:
        why = exc.strerror or type(exc).__name__
        fix = "check HOST and PORT"
    return f"cannot listen on {where}: {why}. Fix: {fix}."


def cannot_listen(host: str, port: int, exc: OSError) -> CannotListen:
    """The error `serve` exits with when binding HOST:PORT failed with `exc`."""
    return CannotListen(_problem(host, port, exc))


async def check_address(host: str, port: int) -> None:
    """Raise CannotListen if HOST:PORT cannot be listened on now: bound (as aiohttp binds
    it, all of HOST's addresses, reusing one in TIME_WAIT) and let go at once."""
    if port == 0:  # any free port: always possible
        return
    loop = asyncio.get_running_loop()
    try:
        server = await loop.create_server(
            asyncio.Protocol, host or None, port, reuse_address=True, start_serving=False
        )
    except OSError as exc:
        raise cannot_listen(host, port, exc) from None
    server.close()
    await server.wait_closed()
