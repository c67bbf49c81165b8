"""The registry of runtime settings: what a trader changes in the admin while the platform runs.

The pattern, for every app:

1. Declare the app's settings in `apps/<app>/runtime_settings.py` with `register(...)`:
   a dotted key `<app>.<name>`, a type (anything pydantic validates: `PositiveInt`,
   `list[str]`, `Literal[...]`, `Annotated[...]`), a default and a help text.
2. Import that module in the app's `AppConfig.ready()`.
3. Read the value with `apps.core.runtime_config.runtime_value("<app>.<name>")` where it is used;
   a running process sees an admin change within RUNTIME_CONFIG_REFRESH_SECONDS.

A row per setting is created (with the default) after `migrate`; the admin validates edits
against the declared type. Settings that are whole tables (retention policies, alert rules)
are models of their own app; their admin calls `runtime_config_announce()` after a change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from apps.core.exceptions import ApplicationError


class RuntimeSettingError(ApplicationError):
    pass


@dataclass(frozen=True)
class RuntimeSettingSpec:
    key: str
    type: Any
    default: Any
    help: str
    # Called in every process when the value it sees changes (and once at first load).
    on_change: Callable[[Any], None] | None = None
    _adapter: TypeAdapter[Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_adapter", TypeAdapter(self.type))
        self.validate(self.default)

    def validate(self, value: Any) -> Any:
        try:
            return self._adapter.validate_python(value)
        except ValidationError as error:
            reasons = "; ".join(item["msg"] for item in error.errors())
            raise RuntimeSettingError(f"{self.key}: {reasons} (got {value!r})", extra={"key": self.key}) from None

    def to_json(self, value: Any) -> Any:
        return self._adapter.dump_python(value, mode="json")


_REGISTRY: dict[str, RuntimeSettingSpec] = {}


def register(spec: RuntimeSettingSpec) -> RuntimeSettingSpec:
    existing = _REGISTRY.get(spec.key)
    if existing is not None and existing != spec:
        raise RuntimeSettingError(f"runtime setting {spec.key} is registered twice")
    _REGISTRY[spec.key] = spec
    return spec


def spec_for(key: str) -> RuntimeSettingSpec:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise RuntimeSettingError(f"unknown runtime setting {key!r}", extra={"key": key}) from None


def all_specs() -> list[RuntimeSettingSpec]:
    return sorted(_REGISTRY.values(), key=lambda spec: spec.key)


def _apply_log_level(level: str) -> None:
    import logging

    from django.conf import settings

    logging.getLogger().setLevel(level or settings.LOG_LEVEL)


LOG_LEVEL = register(
    RuntimeSettingSpec(
        key="core.log_level",
        type=Literal["", "DEBUG", "INFO", "WARNING", "ERROR"],
        default="",
        help="Log level of every running process; empty means the LOG_LEVEL environment variable.",
        on_change=_apply_log_level,
    )
)
