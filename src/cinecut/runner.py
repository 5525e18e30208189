"""Entry point wrapper for Snakemake `script:` files.

Logging goes to the rule's log file. An expected failure (a CinecutError, or an OSError
from the disk: full, read-only, no permission) becomes one line on the console,
`cinecut error [rule]: file: problem`, and exit status 1. Anything else is a bug and says
so: `cinecut internal error [rule]: <Type>: <message> (a bug: traceback in <log>)`, with
the traceback in the log only.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn, TextIO

from .errors import CinecutError

# OSErrors that come from the disk or the file system, not from the code: a full or
# read-only disk, a folder without permission, a failing device. Any other OSError (a file
# the code expected and did not find, a refused connection) is a bug of ours.
DISK_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.EIO,
        errno.EFBIG,
        errno.ENAMETOOLONG,
        errno.ESTALE,
    }
)


def is_disk_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_ERRNOS


def _stderr_to_log(log_path: str) -> TextIO:
    """Send fd 2 (native libraries such as llama.cpp print there) to the log; return the console."""
    console = os.fdopen(os.dup(2), "w")
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    return console


def run_script(snakemake: Any, main: Callable[[Any], None]) -> None:
    log_path = snakemake.log[0] if snakemake.log else None
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    console: TextIO = sys.stderr
    if log_path:
        handlers = [logging.FileHandler(log_path, mode="w")]
        console = _stderr_to_log(log_path)
    logging.basicConfig(
        level=logging.INFO,  # libraries' debug logs (HTTP clients) would carry whole requests
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.getLogger("cinecut").setLevel(logging.DEBUG)
    rule = getattr(snakemake, "rule", "cinecut")
    try:
        main(snakemake)
    except CinecutError as exc:
        logging.getLogger(rule).error("%s", exc)
        print(f"cinecut error [{rule}]: {exc}", file=console, flush=True)
        sys.exit(1)
    except OSError as exc:
        if not is_disk_error(exc):
            _internal_error(rule, exc, log_path, console)
        where = exc.filename or (snakemake.output[0] if snakemake.output else rule)
        logging.getLogger(rule).error("%s\n%s", exc, traceback.format_exc())
        print(f"cinecut error [{rule}]: {where}: {exc.strerror or exc}", file=console, flush=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - last line of defence, logged in full
        _internal_error(rule, exc, log_path, console)


def _internal_error(rule: str, exc: BaseException, log_path: str | None, console: TextIO) -> NoReturn:
    """A bug: the type and message on the console, the traceback in the log."""
    logging.getLogger(rule).error("internal error (a bug)\n%s", traceback.format_exc())
    where = f"traceback in {log_path}" if log_path else "traceback above"
    message = str(exc).splitlines()[0] if str(exc) else ""
    print(
        f"cinecut internal error [{rule}]: {type(exc).__name__}: {message} (a bug: {where})", file=console, flush=True
    )
    sys.exit(1)
