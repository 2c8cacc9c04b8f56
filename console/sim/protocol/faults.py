"""Fault injection: what a real venue and network do to a client, for every front-end.

A `Faults` object is consulted by the request pipeline on every request and by the event
hub on every private push; it is mutable at runtime (from any thread: it holds a lock)
and all its randomness comes from one `random.Random(seed)`, so a run with the same seed
and the same traffic sees the same faults. What a fault looks like on the wire (the body
of an HTTP 503, how a chosen code renders) is the venue's business: the front-end's fault
hook (`console.sim.protocol.pipeline.FaultHook`).

Spec grammar (the CLI's ``--faults SPEC``)::

    SPEC    := RULE (";" RULE)*            blanks around tokens are ignored
    RULE    := NAME "=" VALUE ["@" TARGET]
    TARGET  := an endpoint path ("/v5/order/create"), a prefix ending in "*"
               ("/v5/order/*"), or for ws_* rules a push topic ("order", ...)
    AMOUNT  := N        an integer: the next N matching requests (or pushes)
             | "x" N    the same, explicit
             | P        a decimal with a point, 0 < P <= 1: each one with probability P
    DUR     := NUMBER ["ms" | "s"]

    latency=DUR[".."DUR][@T]     delay each matching request (bare number: ms); a range
                                 draws uniformly per request
    httpNNN=AMOUNT[@T]           answer HTTP NNN (400..599; 403/429 model IP limits, 5xx
                                 a broken gateway) before authentication; the sim never
                                 sees the request
    retcode=CODE["x"N|"*"P][@T]  answer the venue's error CODE (negative codes allowed)
                                 after authentication and rate limiting; the sim never
                                 sees the request. Without a suffix: the next request only
    timeout_after_place=AMOUNT[@T]  apply the order request to the sim, then cut the
                                 connection without an answer: the outcome-unknown case.
                                 Without a target: the venue's place endpoint
                                 (`place_target`), else any endpoint that places
    hang_after_place=AMOUNT[@T]  apply it, then hold the answer for `hang` (the client
                                 times out first)
    hang=DUR                     how long hang_after_place holds (bare: s; default 15 s,
                                 past the usual 10 s client timeout)
    late_create=AMOUNT[@T]       take the order request, answer nothing (cut the
                                 connection, as the client's timeout would end it) and
                                 apply it to the sim `late` afterwards: the venue that
                                 executes a create after the client gave up. Default
                                 target as for the *_after_place rules
    late=DUR[".."DUR]            how long after the cut a late create is applied (bare:
                                 s; a range draws per request; default 2 s)
    ws_drop=AMOUNT[@topic]       do not send a private push
    ws_dup=AMOUNT[@topic]        send it twice
    ws_reorder=AMOUNT[@topic]    hold it back and send it after the next push (or after
                                 a short hold when nothing follows)
    ws_disconnect_after=DUR      cut every private connection DUR after it authenticates
                                 (bare number: seconds)
    ws_disconnect_mode=abort|close  abort: drop TCP without a close frame (clients
                                 reconnect); close: send a close frame (a clean end)
    seed=N                       reseed the fault generator

Example: ``latency=50ms;http500=0.1@/v5/order/create;retcode=10006x5@/v5/order/realtime;
timeout_after_place=1;ws_drop=0.2;ws_dup=0.1;ws_reorder=0.1;ws_disconnect_after=30``

When several latency rules match a path, the most specific wins: an exact path over a
prefix, a longer prefix over a shorter one, any target over none; among equally specific
rules, the last added. (The other rules are tried in the order they were added.)

At run time every rule added gets an id (`add` returns them, `rules()` lists the rules in
force with theirs) by which it can be removed again (`remove`); the settings (hang, late,
ws_disconnect_after, ws_disconnect_mode) are rules too, and removing one restores the
value set before it (or the default). `console.sim.protocol.control` serves add, remove,
clear and list over loopback HTTP, so a test harness in another process can change the
faults of a running sim.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Final, TypeVar

from console.errors import ConfigError

DEFAULT_HANG_MS: Final = 15_000
DEFAULT_LATE_MS: Final = 2_000
_PROB_SCALE: Final = 1_000_000
_HTTP = re.compile(r"^http([45]\d\d)$")
_DUR = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)?$")
_RETCODE = re.compile(r"^(-?\d+)(?:x(\d+)|\*(\d*\.\d+))?$")
_PLACE_RULES: Final = ("timeout_after_place", "hang_after_place")
_LATE_RULE: Final = "late_create"
_WS_RULES: Final = ("ws_drop", "ws_dup", "ws_reorder")
_MODES: Final = ("abort", "close")  # the first is the default


class FaultSpecError(ConfigError, ValueError):
    """A fault spec that does not parse; the text names the offending rule."""


class WsAction(Enum):
    """What happens to one private push."""

    SEND = "send"
    DROP = "drop"
    DUP = "dup"
    REORDER = "reorder"


class AfterPlace(Enum):
    """What happens to the answer of an order request the sim has applied."""

    CUT = "cut"
    HANG = "hang"


_WS_ACTIONS: Final = {"ws_drop": WsAction.DROP, "ws_dup": WsAction.DUP,
                      "ws_reorder": WsAction.REORDER}


@dataclass(slots=True)
class Amount:
    """The next `count` events, or each with `probability` (exactly one is set)."""

    count: int | None = None
    probability: Decimal | None = None

    def fire(self, rng: random.Random) -> bool:
        if self.count is not None:
            if self.count <= 0:
                return False
            self.count -= 1
            return True
        assert self.probability is not None
        threshold = int(self.probability * _PROB_SCALE)
        return rng.randrange(_PROB_SCALE) < threshold

    @property
    def spent(self) -> bool:
        return self.count is not None and self.count <= 0

    def __str__(self) -> str:
        return str(self.count) if self.count is not None else format(self.probability, "f")


def target_matches(target: str | None, subject: str) -> bool:
    """A rule's target against a path or topic: None matches all, "p*" a prefix."""
    if target is None:
        return True
    if target.endswith("*"):
        return subject.startswith(target[:-1])
    return subject == target


@dataclass(slots=True)
class Rule:
    kind: str
    amount: Amount
    target: str | None = None
    value: int = 0  # HTTP status or venue error code
    rule_id: int = 0

    def matches(self, target: str) -> bool:
        return target_matches(self.target, target)

    def __str__(self) -> str:
        name = f"http{self.value}" if self.kind == "http" else self.kind
        value = f"{self.value}x{self.amount}" if self.kind == "retcode" else str(self.amount)
        return f"{name}={value}" + (f"@{self.target}" if self.target else "")


def specificity(target: str | None) -> tuple[int, int]:
    """How narrowly a target picks its subjects: none < prefix (longer is narrower) <
    exact path. The latency rule with the highest wins."""
    if target is None:
        return (0, 0)
    if target.endswith("*"):
        return (1, len(target))
    return (2, len(target))


@dataclass(frozen=True, slots=True)
class LatencyRule:
    """Delay `lo`..`hi` ms (drawn per request) for requests to `target`."""

    target: str | None
    lo: int
    hi: int
    rule_id: int = 0

    def __str__(self) -> str:
        return (f"latency={self.lo}ms" + (f"..{self.hi}ms" if self.hi != self.lo else "")
                + (f"@{self.target}" if self.target else ""))


@dataclass(frozen=True, slots=True)
class Setting:
    """One value of a setting (hang, late, ws_disconnect_after, ws_disconnect_mode); the
    last one added that is still in force is the value. Durations are (lo, hi) ms."""

    name: str
    value: tuple[int, int] | str
    rule_id: int = 0

    def __str__(self) -> str:
        if isinstance(self.value, str):
            return f"{self.name}={self.value}"
        lo, hi = self.value
        return f"{self.name}={lo}ms" + (f"..{hi}ms" if hi != lo else "")


Entry = Rule | LatencyRule | Setting


def parse_amount(text: str, rule: str) -> Amount:
    raw = text.strip()
    if raw.startswith("x"):
        raw = raw[1:]
        if not raw.isdigit():
            raise FaultSpecError(f"{rule}: {text!r} is not a count (xN)")
    if raw.isdigit():
        if int(raw) < 1:
            raise FaultSpecError(f"{rule}: a count must be at least 1")
        return Amount(count=int(raw))
    try:
        probability = Decimal(raw)
    except InvalidOperation:
        raise FaultSpecError(f"{rule}: {text!r} is neither a count nor a probability") \
            from None
    if "." not in raw or not 0 < probability <= 1:
        raise FaultSpecError(f"{rule}: probability {text!r} must be a decimal in (0, 1]")
    return Amount(probability=probability)


def parse_duration_ms(text: str, rule: str, *, bare: str) -> int:
    match = _DUR.match(text.strip())
    if match is None:
        raise FaultSpecError(f"{rule}: {text!r} is not a duration (e.g. 50ms, 2s)")
    number = Decimal(match.group(1))
    unit = match.group(2) or bare
    return int(number * 1000) if unit == "s" else int(number)


def parse_range_ms(text: str, rule: str, *, bare: str) -> tuple[int, int]:
    """DUR or DUR..DUR (the grammar's latency and late values)."""
    lo_text, dots, hi_text = text.partition("..")
    lo = parse_duration_ms(lo_text, rule, bare=bare)
    hi = parse_duration_ms(hi_text, rule, bare=bare) if dots else lo
    if hi < lo:
        name = rule.partition("=")[0].strip()
        raise FaultSpecError(f"{rule}: {name} range ends before it starts")
    return lo, hi


class Faults:
    """The faults in force. All methods are thread-safe; consumption is deterministic
    for a given seed and call sequence.

    `place_target` is where a ``*_after_place`` or ``late_create`` rule without a target
    applies: a venue names its single-order place endpoint there (None: every endpoint
    that places)."""

    def __init__(self, spec: str = "", *, seed: int = 7,
                 place_target: str | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._rules: list[Rule] = []
        self._latency: list[LatencyRule] = []
        self._settings: list[Setting] = []
        self._next_id = 1
        self.place_target = place_target
        if spec:
            self.add(spec)

    # -- configuration -----------------------------------------------------------------

    def add(self, spec: str) -> list[int]:
        """Add the rules of `spec` (grammar in the module docstring), all or none: a spec
        with one bad rule changes nothing. Returns the ids of the rules added, in order
        (a ``seed`` rule reseeds at once and has none)."""
        parsed = [self._parse(part.strip()) for part in spec.split(";") if part.strip()]
        ids: list[int] = []
        with self._lock:
            for item in parsed:
                if isinstance(item, int):
                    self._rng.seed(item)
                    continue
                rule_id, self._next_id = self._next_id, self._next_id + 1
                ids.append(rule_id)
                if isinstance(item, Rule):
                    item.rule_id = rule_id
                    self._rules.append(item)
                elif isinstance(item, LatencyRule):
                    self._latency.append(replace(item, rule_id=rule_id))
                else:
                    self._settings.append(replace(item, rule_id=rule_id))
        return ids

    def _parse(self, rule: str) -> Entry | int:
        """One rule of a spec, checked; an int is a seed (an action, not a rule)."""
        name, sep, rest = rule.partition("=")
        name = name.strip()
        if not sep:
            raise FaultSpecError(f"{rule!r}: expected NAME=VALUE")
        value, _, target_text = rest.partition("@")
        value = value.strip()
        target = target_text.strip() or None
        if name == "latency":
            lo, hi = parse_range_ms(value, rule, bare="ms")
            return LatencyRule(target, lo, hi)
        if (http := _HTTP.match(name)) is not None:
            return Rule("http", parse_amount(value, rule), target, int(http.group(1)))
        if name == "retcode":
            match = _RETCODE.match(value)
            if match is None:
                raise FaultSpecError(f"{rule}: expected CODE, CODExN or CODE*P")
            code, count, prob = match.groups()
            amount = parse_amount(prob if prob else (count or "1"), rule)
            return Rule("retcode", amount, target, int(code))
        if name in _PLACE_RULES or name == _LATE_RULE:
            return Rule(name, parse_amount(value, rule), target or self.place_target)
        if name in _WS_RULES:
            return Rule(name, parse_amount(value, rule), target)
        if name in ("hang", "ws_disconnect_after"):
            ms = parse_duration_ms(value, rule, bare="s")
            return Setting(name, (ms, ms))
        if name == "late":
            return Setting(name, parse_range_ms(value, rule, bare="s"))
        if name == "ws_disconnect_mode":
            if value not in _MODES:
                raise FaultSpecError(f"{rule}: mode is abort or close")
            return Setting(name, value)
        if name == "seed":
            if not value.lstrip("-").isdigit():
                raise FaultSpecError(f"{rule}: seed must be an integer")
            return int(value)
        raise FaultSpecError(f"{rule!r}: unknown fault {name!r}")

    def remove(self, rule_id: int) -> bool:
        """Take the rule `rule_id` out of force; False when no such rule is in force (a
        count rule is gone once spent)."""
        with self._lock:
            return (_drop(self._rules, rule_id) or _drop(self._latency, rule_id)
                    or _drop(self._settings, rule_id))

    def clear(self) -> int:
        """Remove every rule and restore every setting's default; returns how many rules
        were in force."""
        with self._lock:
            count = len(self._latency) + len(self._settings) + sum(
                1 for rule in self._rules if not rule.amount.spent)
            self._rules.clear()
            self._latency.clear()
            self._settings.clear()
            return count

    def rules(self) -> list[tuple[int, str]]:
        """Every rule in force as (id, spec text), oldest first (spent counts left out)."""
        with self._lock:
            entries: list[Entry] = [*self._latency, *self._settings]
            entries += [rule for rule in self._rules if not rule.amount.spent]
        return sorted((entry.rule_id, str(entry)) for entry in entries)

    def describe(self) -> str:
        """The rules in force, in spec form (spent count rules left out)."""
        with self._lock:
            parts = [str(rule) for rule in self._latency]
            parts += [str(r) for r in self._rules if not r.amount.spent]
            after = self._duration("ws_disconnect_after")
            if after is not None:
                parts.append(f"ws_disconnect_after={after[0]}ms")
                parts.append(f"ws_disconnect_mode={self._mode()}")
            return ";".join(parts)

    # -- settings (the lock is held by the caller of the underscored readers) ----------

    def _last(self, name: str) -> Setting | None:
        return next((s for s in reversed(self._settings) if s.name == name), None)

    def _duration(self, name: str) -> tuple[int, int] | None:
        found = self._last(name)
        return None if found is None or isinstance(found.value, str) else found.value

    def _mode(self) -> str:
        found = self._last("ws_disconnect_mode")
        return found.value if found is not None and isinstance(found.value, str) \
            else _MODES[0]

    @property
    def hang_ms(self) -> int:
        """How long hang_after_place holds an answer."""
        with self._lock:
            hang = self._duration("hang")
        return DEFAULT_HANG_MS if hang is None else hang[0]

    @property
    def ws_disconnect_after_ms(self) -> int | None:
        with self._lock:
            after = self._duration("ws_disconnect_after")
        return None if after is None else after[0]

    @property
    def ws_disconnect_mode(self) -> str:
        with self._lock:
            return self._mode()

    # -- consumption (the pipeline and the event hub) ----------------------------------

    def _fire(self, kinds: tuple[str, ...], target: str) -> Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.kind in kinds and rule.matches(target) and rule.amount.fire(self._rng):
                    if rule.amount.spent:
                        self._rules.remove(rule)
                    return rule
            return None

    def latency_ms(self, path: str) -> int:
        """The delay of the most specific latency rule for `path` (0 without one)."""
        with self._lock:
            best: LatencyRule | None = None
            for rule in self._latency:
                if target_matches(rule.target, path) and (
                        best is None or specificity(rule.target) >= specificity(best.target)):
                    best = rule
            if best is None:
                return 0
            return best.lo if best.lo == best.hi else self._rng.randint(best.lo, best.hi)

    def http_status(self, path: str) -> int | None:
        rule = self._fire(("http",), path)
        return None if rule is None else rule.value

    def ret_code(self, path: str) -> int | None:
        rule = self._fire(("retcode",), path)
        return None if rule is None else rule.value

    def after_place(self, path: str) -> AfterPlace | None:
        rule = self._fire(_PLACE_RULES, path)
        if rule is None:
            return None
        return AfterPlace.CUT if rule.kind == "timeout_after_place" else AfterPlace.HANG

    def late_create(self, path: str) -> int | None:
        """When a late_create rule fires for `path`: in how many ms to apply the request
        (its answer is never sent); None otherwise."""
        if self._fire((_LATE_RULE,), path) is None:
            return None
        with self._lock:
            lo, hi = self._duration("late") or (DEFAULT_LATE_MS, DEFAULT_LATE_MS)
            return lo if lo == hi else self._rng.randint(lo, hi)

    def ws_action(self, topic: str) -> WsAction:
        rule = self._fire(_WS_RULES, topic)
        return WsAction.SEND if rule is None else _WS_ACTIONS[rule.kind]


_E = TypeVar("_E", Rule, LatencyRule, Setting)


def _drop(entries: list[_E], rule_id: int) -> bool:
    for index, entry in enumerate(entries):
        if entry.rule_id == rule_id:
            del entries[index]
            return True
    return False
