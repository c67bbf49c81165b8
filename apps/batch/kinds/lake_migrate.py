"""`lake_migrate`: apply the lake migrations this code knows and the lake has not had
(apps/storage/lake_migrations.py), one unit per partition of each table they touch, each
partition rewritten with compaction's atomic swap. The lake's version is recorded when every
partition is done. Meanwhile each partition is whole in one shape or the other (never half
rewritten); a stopped run is resumed with `jobs resume`, and a partition done twice is left as
it is (transforms are idempotent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from apps.batch.jobs import JobKind, Plan, Progress, UnitPlan, job_kind_register
from apps.batch.kinds.sierra_common import lake_dir
from apps.batch.report import JobReport
from apps.core.exceptions import BadInputError
from apps.storage.compaction import partition_rewrite
from apps.storage.lake_migrations import (
    LakeMigration,
    code_version,
    lake_version_check,
    lake_version_write,
    migrations_after,
)

KIND = "lake_migrate"


def _pending(lake: Path) -> list[LakeMigration]:
    return migrations_after(lake_version_check(lake))


class LakeMigrate(JobKind):
    name = KIND
    help = "Apply pending lake schema migrations, partition by partition (atomic swap); no parameters"
    progress_unit = "partitions"

    def parse_params(self, *, params: dict[str, str]) -> dict[str, Any]:
        if params:
            raise BadInputError(next(iter(params)), "lake_migrate takes no parameters")
        return {"to": code_version()}

    def plan(self, *, params: dict[str, Any]) -> Plan:
        lake, report = lake_dir(), JobReport()
        pending = [migration for migration in _pending(lake) if migration.version <= params["to"]]
        if not pending:
            report.warn(f"the lake is at version {lake_version_check(lake)}: nothing to migrate")
            return Plan(units=[], report=report)
        tables = sorted({table for migration in pending for table in migration.tables})
        units = [
            UnitPlan(
                label=str(partition.relative_to(lake)),
                params={"table": table, "partition": str(partition.relative_to(lake))},
            )
            for table in tables
            for partition in sorted((lake / table).glob("date=*/symbol=*"))
            if partition.is_dir()
        ]
        report.count("migrations", len(pending))
        return Plan(units=units, report=report)

    def run_unit(self, *, params: dict[str, Any], unit: dict[str, Any], progress: Progress, attempt: int) -> JobReport:
        lake, report = lake_dir(), JobReport()
        table = unit["table"]
        steps = [migration for migration in _pending(lake) if table in migration.tables]

        def transform(rows: pa.Table) -> pa.Table:
            for migration in steps:
                rows = migration.transform(table, rows)
            return rows

        version = max((migration.version for migration in steps), default=0)
        result = partition_rewrite(
            lake=lake, partition=lake / unit["partition"], transform=transform, prefix=f"migrated-v{version}"
        )
        report.count("already_migrated" if result.skipped else "partitions_rewritten")
        report.count("rows", result.rows)
        if result.moved_back:
            report.warn(f"{result.partition}: {len(result.moved_back)} file(s) written meanwhile were kept as they are")
        return report

    def finish(self, *, params: dict[str, Any], units: list[dict[str, Any]], report: JobReport) -> None:
        lake = lake_dir()
        pending = [migration for migration in _pending(lake) if migration.version <= params["to"]]
        if pending:
            version = pending[-1].version
            lake_version_write(lake, version=version, applied=[f"{m.version}: {m.name}" for m in pending])
            report.output(f"lake version {version}")


job_kind_register(LakeMigrate())
