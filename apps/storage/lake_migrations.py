"""Lake schema versions and migrations.

A lake records its schema version in `{LAKE}/_lake_version.json` (absent: version 1, the
baseline). Code knows the versions up to the highest migration registered with it; a reader or
writer over a lake newer than that refuses with LakeVersionError (files it would misread or
write in an older shape), naming both versions.

A migration (a new column, a changed type, a renamed column...) is a transform of a table's rows,
registered by the app that owns the table, and must be idempotent: rows already in the new shape
come back unchanged. The batch job `lake_migrate` applies the pending ones partition by
partition with the swap compaction uses (apps/storage/compaction.py: merged files staged, then
one atomic directory exchange), so a query never sees a partition half migrated; the version is
recorded when every partition is done, and a run that stops half-way is resumed.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from apps.core.exceptions import UnavailableError

BASE_VERSION = 1
VERSION_FILE = "_lake_version.json"


class LakeVersionError(UnavailableError):
    """The lake is newer than this code, or its version file cannot be read."""


@dataclass(frozen=True)
class LakeMigration:
    version: int  # the lake's version once applied
    name: str
    tables: tuple[str, ...]
    # (table name, rows of one partition) -> rows in the new shape; idempotent.
    transform: Callable[[str, pa.Table], pa.Table]


_migrations: dict[int, LakeMigration] = {}
_lock = threading.Lock()


def lake_migration_register(migration: LakeMigration) -> None:
    with _lock:
        current = _migrations.get(migration.version)
        if current is not None and current != migration:
            raise ValueError(f"lake migration {migration.version} is already registered ({current.name})")
        if migration.version <= BASE_VERSION:
            raise ValueError(f"lake migration versions start above {BASE_VERSION}")
        _migrations[migration.version] = migration


def lake_migration_unregister(*, version: int) -> None:
    with _lock:
        _migrations.pop(version, None)


def code_version() -> int:
    """The newest lake version this code can read and write."""
    with _lock:
        return max([BASE_VERSION, *_migrations])


def migrations_after(version: int) -> list[LakeMigration]:
    with _lock:
        return [_migrations[number] for number in sorted(_migrations) if number > version]


def lake_version(lake: Path) -> int:
    path = Path(lake) / VERSION_FILE
    try:
        data = json.loads(path.read_text())
        return int(data["version"])
    except FileNotFoundError:
        return BASE_VERSION
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LakeVersionError(f"{path}: the lake's version file cannot be read ({error}); refusing to guess") from None


def lake_version_check(lake: Path) -> int:
    """The lake's version; LakeVersionError when it is newer than this code knows."""
    version, known = lake_version(lake), code_version()
    if version > known:
        raise LakeVersionError(
            f"the lake {lake} has schema version {version}, newer than this code knows ({known}): "
            "run the code that migrated it (or newer)",
            {"lake_version": version, "code_version": known},
        )
    return version


def lake_version_write(lake: Path, *, version: int, applied: list[str]) -> None:
    """Record the lake's version (a temporary file renamed over the old one)."""
    path = Path(lake) / VERSION_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{VERSION_FILE}.tmp-{os.getpid()}")
    temp.write_text(json.dumps({"version": version, "applied": applied}))
    with temp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, path)
