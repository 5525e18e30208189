"""Append-only per-frame journal, so that hours of model inference survive a crash.

The journal is a stream of msgpack maps in one file beside the target: first a header
(whose identity must match for the journal to be adopted), then one record per finished
frame, each appended and fsync'ed before the next frame starts. A crash can leave at
most one torn record at the end: reading stops at the last complete record and the file
is truncated there before anything is appended.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import msgpack

log = logging.getLogger(__name__)


class Journal:
    """Records keyed by a string; `identity` decides whether an old journal is adopted."""

    def __init__(self, path: str | Path, identity: dict[str, Any]):
        self.path = Path(path)
        self.identity = dict(identity)
        self.records: dict[str, dict[str, Any]] = {}
        self._fh = None
        good_end = self._read()
        self._fh = open(self.path, "r+b" if good_end else "wb")  # noqa: SIM115 - kept open for appends
        if good_end:
            self._fh.truncate(good_end)
            self._fh.seek(good_end)
        else:
            self._append({"journal": self.identity})

    def _read(self) -> int:
        """Adopt the records of a matching journal; the offset after its last whole record."""
        try:
            raw = self.path.read_bytes()
        except OSError:
            return 0
        unpacker = msgpack.Unpacker(raw=False, strict_map_key=True)
        unpacker.feed(raw)
        good_end, header, records = 0, None, {}
        try:
            for item in unpacker:
                if header is None:
                    header = item.get("journal") if isinstance(item, dict) else None
                    if header != self.identity:
                        log.info("journal %s belongs to another run (%s); starting afresh", self.path, header)
                        return 0
                elif (
                    isinstance(item, dict) and isinstance(item.get("key"), str) and isinstance(item.get("value"), dict)
                ):
                    records[item["key"]] = item["value"]
                else:
                    break
                good_end = unpacker.tell()
        except Exception as exc:  # noqa: BLE001 - a torn or damaged tail: keep what came before it
            log.warning(
                "journal %s: damaged after %d bytes (%s); keeping %d records", self.path, good_end, exc, len(records)
            )
        self.records = records
        return good_end

    def _append(self, item: dict[str, Any]) -> None:
        assert self._fh is not None
        self._fh.write(msgpack.packb(item, use_bin_type=True))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def add(self, key: str, value: dict[str, Any]) -> None:
        self._append({"key": key, "value": value})
        self.records[key] = value

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
