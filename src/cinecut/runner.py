"""Entry point wrapper for Snakemake `script:` files.

Logging goes to the rule's log file. A CinecutError becomes one line on the console
and exit status 1; anything unexpected leaves its traceback in the log only.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, TextIO

from .errors import CinecutError


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
    except OSError as exc:  # the disk, not the code: a full disk, a read-only folder
        where = exc.filename or (snakemake.output[0] if snakemake.output else rule)
        logging.getLogger(rule).error("%s\n%s", exc, traceback.format_exc())
        print(f"cinecut error [{rule}]: {where}: {exc.strerror or exc}", file=console, flush=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - last line of defence, logged in full
        logging.getLogger(rule).error("unexpected error\n%s", traceback.format_exc())
        print(
            f"cinecut error [{rule}]: unexpected {type(exc).__name__}: {exc} (details in {log_path})",
            file=console,
            flush=True,
        )
        sys.exit(1)
