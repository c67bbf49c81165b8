"""A rule compiled once: its validated conditions as predicates, its session filter, and its
cooldown and dedup state. The live engine and the backtest both evaluate inputs with
`RuleBook.evaluate`, so they agree by construction.

Every time a rule looks at is the input's event time (the exchange's), never the wall clock: a
replayed or back-tested day fires exactly as it did live.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from apps.alerts.action_specs import Action
from apps.alerts.conditions import CONDITION_KINDS, Condition, Predicate, PremiumAtLeast, TickerIn, tape_sources
from apps.alerts.inputs import AlertInput
from apps.alerts.models import CooldownKey, Match, SessionFilter, Source
from apps.alerts.sessions import SESSIONS_ALLOWED, session_of
from apps.alerts.sources import InputError
from apps.alerts.tape import Tape
from apps.core.exceptions import BadInputError
from apps.core.sessions import Session

NS = 1_000_000_000


class RuleCompileError(BadInputError):
    """The rule cannot compile; `field` names the part (`conditions[1].min`, `actions[0].url`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, f"{field}: {message}", where="body")


class RuleSpec(BaseModel):
    """Everything of a rule that evaluation depends on, as stored on `AlertRule`."""

    model_config = ConfigDict(extra="forbid")
    source: Source
    match: Match = Match.ALL
    conditions: list[Condition] = Field(default_factory=list, max_length=50)
    session: SessionFilter = SessionFilter.ANY
    cooldown_seconds: int = Field(default=0, ge=0, le=7 * 86_400)
    cooldown_key: CooldownKey = CooldownKey.SYMBOL
    dedup_seconds: int = Field(default=0, ge=0, le=7 * 86_400)
    actions: list[Action] = Field(default_factory=list, max_length=20)


_SPEC = TypeAdapter(RuleSpec)


# pydantic puts the union member's tag in an error's location; the field name leaves it out.
_TAGS = frozenset((*CONDITION_KINDS, "discord", "webhook", "pubsub", "websocket"))


def _field_name(location: Sequence[Any]) -> str:
    name = ""
    for part in location:
        if isinstance(part, int):
            name += f"[{part}]"
        elif part in _TAGS:
            continue
        else:
            name += f".{part}" if name else str(part)
    return name or "rule"


def rule_spec_parse(data: dict[str, Any]) -> RuleSpec:
    """The validated spec; RuleCompileError naming the first bad field."""
    try:
        spec = _SPEC.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        raise RuleCompileError(_field_name(first["loc"]), message) from None
    for index, condition in enumerate(spec.conditions):
        if spec.source not in condition.applies_to():
            allowed = ", ".join(sorted(source.value for source in condition.applies_to()))
            raise RuleCompileError(
                f"conditions[{index}].kind",
                f"{condition.kind!r} does not apply to source {spec.source.value!r} (it applies to {allowed})",
            )
    if spec.match == Match.ANY and not spec.conditions:
        raise RuleCompileError("conditions", "a rule matching `any` condition needs at least one")
    return spec


@dataclass
class CompiledRule:
    rule_id: int
    version: int
    name: str
    spec: RuleSpec
    predicates: tuple[Predicate, ...]
    # The rule can only match these symbols (an `all` rule with a ticker_in): the book indexes it.
    tickers: frozenset[str] | None
    # The rule can only match a premium at least this (an `all` rule with premium_at_least).
    premium_floor: Decimal | None = None
    _last_fire: dict[str, int] = field(default_factory=dict)
    _seen: dict[str, int] = field(default_factory=dict)

    @property
    def source(self) -> Source:
        return self.spec.source

    def __post_init__(self) -> None:
        # The sessions the rule fires in (None: any); the book looks the input's session up once
        # for all its rules.
        self.sessions: frozenset[Session] | None = SESSIONS_ALLOWED.get(SessionFilter(self.spec.session))
        self.check = _combined(self.predicates, every=self.spec.match == Match.ALL)

    def matches(self, item: AlertInput, tape: Tape) -> bool:
        if self.sessions is not None and session_of(item.ts_ns) not in self.sessions:
            return False
        return self.check(item, tape)

    def key_of(self, item: AlertInput) -> str:
        if self.spec.cooldown_key == CooldownKey.RULE:
            return "*"
        if self.spec.cooldown_key == CooldownKey.CONTRACT:
            return item.contract or item.symbol
        return item.symbol

    def admit(self, item: AlertInput) -> bool:
        """Whether a match fires, by the cooldown of its key and the dedup window; remembers it if so."""
        key, now = self.key_of(item), item.ts_ns
        cooldown, dedup = self.spec.cooldown_seconds * NS, self.spec.dedup_seconds * NS
        if cooldown:
            last = self._last_fire.get(key)
            if last is not None and now - last < cooldown:
                return False
        if dedup:
            seen = self._seen.get(item.uid)
            if seen is not None and now - seen < dedup:
                return False
            if len(self._seen) > 50_000:
                self._seen = {uid: at for uid, at in self._seen.items() if now - at < dedup}
            self._seen[item.uid] = max(now, self._seen.get(item.uid, now))
        if cooldown:
            self._last_fire[key] = max(now, self._last_fire.get(key, now))
        return True

    def remember(self, *, key: str, fingerprint: str, ts_ns: int) -> None:
        """Restore the state of an alert recorded before (when the engine starts or recompiles)."""
        self._last_fire[key] = max(ts_ns, self._last_fire.get(key, ts_ns))
        self._seen[fingerprint] = max(ts_ns, self._seen.get(fingerprint, ts_ns))


def _all_of(predicates: tuple[Predicate, ...]) -> Predicate:
    if not predicates:
        return lambda item, tape: True
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda item, tape: first(item, tape) and second(item, tape)
    if len(predicates) == 3:
        first, second, third = predicates
        return lambda item, tape: first(item, tape) and second(item, tape) and third(item, tape)

    def all_of(item: AlertInput, tape: Tape) -> bool:
        for predicate in predicates:  # noqa: SIM110 - a plain loop: no generator frame
            if not predicate(item, tape):
                return False
        return True

    return all_of


def _any_of(predicates: tuple[Predicate, ...]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]

    def any_of(item: AlertInput, tape: Tape) -> bool:
        for predicate in predicates:  # noqa: SIM110 - a plain loop: no generator frame
            if predicate(item, tape):
                return True
        return False

    return any_of


def _combined(predicates: tuple[Predicate, ...], *, every: bool) -> Predicate:
    """One predicate for the rule's conditions, built once: the common short rules without a
    loop (a call per rule and input is what the hot path pays)."""
    return _all_of(predicates) if every else _any_of(predicates)


def rule_compile(*, rule_id: int, version: int, name: str, data: dict[str, Any]) -> CompiledRule:
    spec = rule_spec_parse(data)
    tickers, floor = None, None
    if spec.match == Match.ALL or len(spec.conditions) == 1:
        for condition in spec.conditions:
            if isinstance(condition, TickerIn):
                tickers = frozenset(condition.tickers) if tickers is None else tickers & frozenset(condition.tickers)
            elif isinstance(condition, PremiumAtLeast):
                floor = condition.min if floor is None else max(floor, condition.min)
    return CompiledRule(
        rule_id=rule_id,
        version=version,
        name=name,
        spec=spec,
        predicates=tuple(
            condition.predicate()
            for condition in sorted(spec.conditions, key=lambda condition: condition.cost)
            # The book's index already holds every input of an indexed rule to its tickers.
            if not (spec.match == Match.ALL and tickers is not None and isinstance(condition, TickerIn))
        ),
        tickers=tickers,
        premium_floor=floor,
    )


@dataclass(frozen=True)
class Fire:
    rule: CompiledRule
    item: AlertInput
    key: str


class _Shelf:
    """Rules of one index bucket: those without a premium floor, and those with one, sorted by
    it, so an input only meets the rules its premium can satisfy. The candidate list of each
    reach is built once (up to PREFIXES floored rules; beyond that, per input)."""

    PREFIXES = 64

    def __init__(self, rules: list[CompiledRule]) -> None:
        self.always = [rule for rule in rules if rule.premium_floor is None]
        floored = sorted((rule for rule in rules if rule.premium_floor is not None), key=_floor)
        self.floored = floored
        self.floors = [_floor(rule) for rule in floored]
        self._prefixes = (
            [self.always + floored[:reach] for reach in range(len(floored) + 1)]
            if len(floored) <= self.PREFIXES
            else None
        )

    def candidates(self, premium: Decimal | None) -> list[CompiledRule]:
        if not self.floored or premium is None:
            return self.always
        reach = bisect_right(self.floors, premium)
        if self._prefixes is not None:
            return self._prefixes[reach]
        return self.always + self.floored[:reach] if reach else self.always


def _floor(rule: CompiledRule) -> Decimal:
    return rule.premium_floor if rule.premium_floor is not None else Decimal(0)


class RuleBook:
    """The compiled rules of one source, indexed by the tickers and the premium they can match,
    with its tape. Which rules an input meets does not change what fires: each rule's state is
    its own, and a rule skipped by the index could not have matched."""

    def __init__(self, *, source: Source, rules: Iterable[CompiledRule], tape: Tape) -> None:
        self.source = source
        self.tape = tape
        self.rules = [rule for rule in rules if rule.source == source]
        any_ticker = [rule for rule in self.rules if rule.tickers is None]
        by_ticker: dict[str, list[CompiledRule]] = {}
        for rule in self.rules:
            for ticker in sorted(rule.tickers or ()):
                by_ticker.setdefault(ticker, []).append(rule)
        self._any_ticker = _Shelf(any_ticker)
        # A ticker's shelf holds its own rules and the rules of every ticker.
        self._by_ticker = {ticker: _Shelf(rules + any_ticker) for ticker, rules in by_ticker.items()}
        # Only sources some condition reads the tape of keep it (whatever rules run now, so a
        # rule added later finds the tape as full as ever): an option trade's price is parsed
        # only when a rule asks for it.
        self._observe: Callable[[AlertInput], None] | None = tape.observe if source in tape_sources() else None
        # Inputs a condition found malformed (a lazily read field), with the reason: the engine
        # dead-letters them.
        self.bad: list[tuple[AlertInput, InputError]] = []

    def evaluate(self, items: Iterable[AlertInput]) -> list[Fire]:
        """The alerts `items` fire, in input order."""
        found: list[Fire] = []
        any_ticker, by_ticker, tape, observe = self._any_ticker, self._by_ticker, self.tape, self._observe
        for item in items:
            shelf = by_ticker.get(item.symbol, any_ticker)
            # Each rule decides before any records the fire: a field found malformed half-way
            # leaves no rule's cooldown or dedup state changed.
            matched: list[CompiledRule] = []
            session: Session | None = None
            try:
                for rule in shelf.candidates(item.premium) if shelf.floored else shelf.always:
                    allowed = rule.sessions
                    if allowed is not None:
                        if session is None:
                            session = session_of(item.ts_ns)
                        if session not in allowed:
                            continue
                    if rule.check(item, tape):
                        matched.append(rule)
            except InputError as error:
                self.bad.append((item, error))
                continue
            if matched:
                found.extend(Fire(rule, item, rule.key_of(item)) for rule in matched if rule.admit(item))
            if observe is not None:
                observe(item)
        return found
