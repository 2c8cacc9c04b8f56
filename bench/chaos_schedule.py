"""The chaos benchmark's schedules: what one seed does, drawn once, before anything runs.

A schedule is plain data (JSON both ways: the orchestrator hands it to the worker
process): the operations in order, the faults to add before some of them (through the
sim's fault control endpoint), the faults in force from the start, how many lanes run
the operations at once, whether and when the worker is killed with SIGKILL, and the
policy knobs that steer the engine into its different paths (amend in place or cancel
and create). Everything comes from `random.Random(seed)`: the same seed gives the same
schedule. (The run itself is real processes and sockets: interleavings vary.)
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from typing import Any, Final

CREATE: Final = "/v5/order/create"
AMEND: Final = "/v5/order/amend"
CANCEL: Final = "/v5/order/cancel"
READS: Final = ("/v5/order/realtime", "/v5/order/history", "/v5/execution/list",
                "/v5/position/list", "/v5/account/wallet-balance")
WRITES: Final = (CREATE, AMEND, CANCEL)

OPS: Final = {"place": 34, "place_market": 6, "amend": 16, "replace": 18, "cancel": 22,
              "cancel_all": 2, "pause": 2}
"""Operation kinds and their weights."""

HANG_MS: Final = 10_500
"""A held answer outlasts the connector's 10 s client timeout: the create lands (it was
applied at once) after the client gave up."""


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    """A label for the statistics (http5xx, rate_limit, ...)."""
    spec: str
    """The rule(s) in the sim's fault grammar."""


@dataclass(frozen=True, slots=True)
class Step:
    op: str
    symbol: str
    side: str
    offset: int
    """Place: how aggressive, in ticks from the reference price towards the other side
    (above 1 the order takes liquidity at once; at or below 0 it rests, until the walking
    market reaches it). Amend or replace: the price move in ticks."""
    lots: int
    """Quantity in qty steps (place), or the change of a replace (0: price only)."""
    pick: float
    """Which of the candidate orders an amend, replace or cancel takes (0..1)."""
    faults: tuple[Fault, ...] = ()
    pause_ms: int = 0


@dataclass(frozen=True, slots=True)
class Schedule:
    seed: int
    steps: tuple[Step, ...]
    lanes: int
    background: tuple[Fault, ...]
    kill_after_step: int | None
    kill_delay_ms: int
    reconcile_interval_s: int
    min_time_in_book_ms: int
    late_max_ms: int
    """The longest delay of a late create (0: none in this schedule)."""
    hang: bool
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Schedule:
        raw: dict[str, Any] = json.loads(text)
        steps = tuple(Step(**{**s, "faults": tuple(Fault(**f) for f in s["faults"])})
                      for s in raw.pop("steps"))
        background = tuple(Fault(**f) for f in raw.pop("background"))
        raw["notes"] = tuple(raw.get("notes", ()))
        return cls(steps=steps, background=background, **raw)

    @property
    def fault_kinds(self) -> list[str]:
        return [f.kind for f in self.background] + [f.kind for s in self.steps
                                                    for f in s.faults]


def _step_fault(rng: random.Random, *, late: bool) -> Fault:
    """One fault for the next matching request (count rules: =1 or xN)."""
    kinds = ["http5xx", "rate_limit", "timeout_after_place", "venue_5xx_code"]
    weights = [30, 22, 18, 10]
    if late:
        kinds.append("late_create")
        weights.append(20)
    kind = rng.choices(kinds, weights)[0]
    if kind == "http5xx":
        status = rng.choice((500, 502, 503, 504))
        path = rng.choice((*WRITES, *WRITES, *READS))
        return Fault(kind, f"http{status}=1@{path}")
    if kind == "rate_limit":
        path = rng.choice((*WRITES, *READS))
        if rng.random() < 0.7:
            return Fault(kind, f"retcode=10006x{rng.randint(1, 3)}@{path}")
        return Fault(kind, f"http{rng.choice((429, 403))}=1@{path}")
    if kind == "venue_5xx_code":  # Bybit's own server-error codes in a 200 envelope
        return Fault(kind, f"retcode={rng.choice((10016, 10000))}x1@"
                           f"{rng.choice(WRITES)}")
    if kind == "timeout_after_place":
        return Fault(kind, "timeout_after_place=1")
    return Fault(kind, "late_create=1")


def _background(rng: random.Random, late_max_ms: int, hang: bool) -> list[Fault]:
    out: list[Fault] = []
    if rng.random() < 0.6:
        # a general delay and a slower targeted one: the targeted rule wins (the sim's
        # precedence), so cancels or amends race the fills of the moving market
        slow = rng.choice((CANCEL, AMEND, CREATE))
        out.append(Fault("latency", f"latency=0..15ms;latency=40..250ms@{slow}"))
    ws = rng.random()
    if ws < 0.25:
        out.append(Fault("ws_drop", f"ws_drop=0.{rng.randint(1, 4)}"))
    elif ws < 0.45:
        out.append(Fault("ws_dup", f"ws_dup=0.{rng.randint(2, 5)}"))
    elif ws < 0.65:
        out.append(Fault("ws_reorder", f"ws_reorder=0.{rng.randint(2, 5)}"))
    elif ws < 0.8:
        out.append(Fault("ws_mixed", "ws_drop=0.1;ws_dup=0.2;ws_reorder=0.2"))
    if rng.random() < 0.35:
        out.append(Fault("ws_disconnect",
                         f"ws_disconnect_after={rng.randint(8, 25) * 100}ms;"
                         f"ws_disconnect_mode={rng.choice(('abort', 'abort', 'close'))}"))
    if late_max_ms:
        out.append(Fault("late_setting", f"late=100ms..{late_max_ms}ms"))
    if hang:
        out.append(Fault("hang_setting", f"hang={HANG_MS}ms"))
    return out


def make_schedule(seed: int, *, grace_ms: int, kill_share: float = 0.3,
                  hang_share: float = 0.05) -> Schedule:
    """The schedule of `seed`. Late creates land up to twice the engine's grace after
    the request: before it (the engine must adopt them) and after it (the engine has
    settled the order REJECTED by then, and the venue proves it wrong)."""
    rng = random.Random(seed)
    n = rng.randint(20, 32)
    late_max_ms = 2 * grace_ms if rng.random() < 0.6 else 0
    hang = rng.random() < hang_share
    ops, weights = list(OPS), list(OPS.values())
    steps: list[Step] = []
    hang_at = rng.randrange(n) if hang else -1
    for index in range(n):
        op = rng.choices(ops, weights)[0]
        faults: list[Fault] = []
        if rng.random() < 0.35:
            faults.append(_step_fault(rng, late=bool(late_max_ms)))
        if index == hang_at:  # the next create's answer is held past the client's timeout
            faults.append(Fault("hang_after_place", "hang_after_place=1"))
        steps.append(Step(
            op=op, symbol=rng.choices(("BTCUSDT", "ETHUSDT"), (3, 1))[0],
            side=rng.choice(("Buy", "Sell")),
            offset=(rng.randint(2, 10) if rng.random() < 0.25 else rng.randint(-40, 0))
            if op.startswith("place") else rng.randint(-8, 8),
            lots=rng.randint(1, 60) if op.startswith("place") else rng.choice(
                (0, 0, rng.randint(-20, 40))),
            pick=rng.random(), faults=tuple(faults),
            pause_ms=rng.choice((0, 10, 30, 60, 100)) if op != "pause"
            else rng.randint(200, 500)))
    killed = rng.random() < kill_share
    return Schedule(
        seed=seed, steps=tuple(steps), lanes=rng.choice((1, 2, 3, 3)),
        background=tuple(_background(rng, late_max_ms, hang)),
        kill_after_step=rng.randint(2, n - 1) if killed else None,
        kill_delay_ms=rng.randint(0, 300),
        reconcile_interval_s=rng.choice((1, 2, 3)),
        min_time_in_book_ms=rng.choice((0, 300, 800)),
        late_max_ms=late_max_ms, hang=hang)
