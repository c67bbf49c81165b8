"""A job's report: what it counted, what it warned about and what it produced."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# A report keeps this many warnings; the rest are counted, so a file with a million bad records
# cannot blow up a database row.
MAX_WARNINGS = 200


@dataclass
class JobReport:
    counts: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    warnings_dropped: int = 0

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] += value

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        else:
            self.warnings_dropped += 1

    def output(self, path: str) -> None:
        if path not in self.outputs:
            self.outputs.append(path)

    def merge(self, other: JobReport) -> JobReport:
        self.counts.update(other.counts)
        for message in other.warnings:
            self.warn(message)
        self.warnings_dropped += other.warnings_dropped
        for path in other.outputs:
            self.output(path)
        return self

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": dict(sorted(self.counts.items())),
            "warnings": list(self.warnings),
            "warnings_dropped": self.warnings_dropped,
            "outputs": list(self.outputs),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> JobReport:
        data = data or {}
        return cls(
            counts=Counter({str(k): int(v) for k, v in (data.get("counts") or {}).items()}),
            warnings=[str(w) for w in data.get("warnings") or []],
            outputs=[str(o) for o in data.get("outputs") or []],
            warnings_dropped=int(data.get("warnings_dropped") or 0),
        )

    def summary(self) -> str:
        counts = ", ".join(f"{name} {value:,}" for name, value in sorted(self.counts.items())) or "nothing counted"
        warned = len(self.warnings) + self.warnings_dropped
        return f"{counts}; {warned} warning(s); {len(self.outputs)} output(s)"
