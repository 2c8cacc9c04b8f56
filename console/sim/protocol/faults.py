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
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Final

from console.errors import ConfigError

DEFAULT_HANG_MS: Final = 15_000
_PROB_SCALE: Final = 1_000_000
_HTTP = re.compile(r"^http([45]\d\d)$")
_DUR = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)?$")
_RETCODE = re.compile(r"^(-?\d+)(?:x(\d+)|\*(\d*\.\d+))?$")
_PLACE_RULES: Final = ("timeout_after_place", "hang_after_place")
_WS_RULES: Final = ("ws_drop", "ws_dup", "ws_reorder")
_MODES: Final = ("abort", "close")


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

    def matches(self, target: str) -> bool:
        return target_matches(self.target, target)

    def __str__(self) -> str:
        name = f"http{self.value}" if self.kind == "http" else self.kind
        value = f"{self.value}x{self.amount}" if self.kind == "retcode" else str(self.amount)
        return f"{name}={value}" + (f"@{self.target}" if self.target else "")


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


class Faults:
    """The faults in force. All methods are thread-safe; consumption is deterministic
    for a given seed and call sequence.

    `place_target` is where a ``*_after_place`` rule without a target applies: a venue
    names its single-order place endpoint there (None: every endpoint that places)."""

    def __init__(self, spec: str = "", *, seed: int = 7,
                 place_target: str | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._rules: list[Rule] = []
        self._latency: list[tuple[str | None, int, int]] = []
        self.place_target = place_target
        self.hang_ms = DEFAULT_HANG_MS
        self.ws_disconnect_after_ms: int | None = None
        self.ws_disconnect_mode = "abort"
        if spec:
            self.add(spec)

    # -- configuration -----------------------------------------------------------------

    def add(self, spec: str) -> None:
        """Add the rules of `spec` (grammar in the module docstring)."""
        for part in spec.split(";"):
            if part.strip():
                self._add_rule(part.strip())

    def _add_rule(self, rule: str) -> None:
        name, sep, rest = rule.partition("=")
        name = name.strip()
        if not sep:
            raise FaultSpecError(f"{rule!r}: expected NAME=VALUE")
        value, _, target_text = rest.partition("@")
        value = value.strip()
        target = target_text.strip() or None
        with self._lock:
            if name == "latency":
                lo_text, dots, hi_text = value.partition("..")
                lo = parse_duration_ms(lo_text, rule, bare="ms")
                hi = parse_duration_ms(hi_text, rule, bare="ms") if dots else lo
                if hi < lo:
                    raise FaultSpecError(f"{rule}: latency range ends before it starts")
                self._latency.append((target, lo, hi))
            elif (http := _HTTP.match(name)) is not None:
                self._rules.append(Rule("http", parse_amount(value, rule), target,
                                        int(http.group(1))))
            elif name == "retcode":
                match = _RETCODE.match(value)
                if match is None:
                    raise FaultSpecError(f"{rule}: expected CODE, CODExN or CODE*P")
                code, count, prob = match.groups()
                amount = parse_amount(prob if prob else (count or "1"), rule)
                self._rules.append(Rule("retcode", amount, target, int(code)))
            elif name in _PLACE_RULES:
                self._rules.append(Rule(name, parse_amount(value, rule),
                                        target or self.place_target))
            elif name == "hang":
                self.hang_ms = parse_duration_ms(value, rule, bare="s")
            elif name in _WS_RULES:
                self._rules.append(Rule(name, parse_amount(value, rule), target))
            elif name == "ws_disconnect_after":
                self.ws_disconnect_after_ms = parse_duration_ms(value, rule, bare="s")
            elif name == "ws_disconnect_mode":
                if value not in _MODES:
                    raise FaultSpecError(f"{rule}: mode is abort or close")
                self.ws_disconnect_mode = value
            elif name == "seed":
                if not value.lstrip("-").isdigit():
                    raise FaultSpecError(f"{rule}: seed must be an integer")
                self._rng.seed(int(value))
            else:
                raise FaultSpecError(f"{rule!r}: unknown fault {name!r}")

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._latency.clear()
            self.hang_ms = DEFAULT_HANG_MS
            self.ws_disconnect_after_ms = None
            self.ws_disconnect_mode = "abort"

    def describe(self) -> str:
        """The rules in force, in spec form (spent count rules left out)."""
        with self._lock:
            parts = [f"latency={lo}ms" + (f"..{hi}ms" if hi != lo else "")
                     + (f"@{t}" if t else "") for t, lo, hi in self._latency]
            parts += [str(r) for r in self._rules if not r.amount.spent]
            if self.ws_disconnect_after_ms is not None:
                parts.append(f"ws_disconnect_after={self.ws_disconnect_after_ms}ms")
                parts.append(f"ws_disconnect_mode={self.ws_disconnect_mode}")
            return ";".join(parts)

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
        with self._lock:
            for target, lo, hi in self._latency:
                if target_matches(target, path):
                    return lo if lo == hi else self._rng.randint(lo, hi)
            return 0

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

    def ws_action(self, topic: str) -> WsAction:
        rule = self._fire(_WS_RULES, topic)
        return WsAction.SEND if rule is None else _WS_ACTIONS[rule.kind]
