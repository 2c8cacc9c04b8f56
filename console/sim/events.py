"""The private event feed of one account: sequence numbers, listeners, replay, drops.

Every state change of an account is published as a `SimEvent` with the account's next
sequence number (1, 2, 3, ... with no gaps). Events go into a bounded replay log and,
unless the account's feed is dropping, to every subscribed listener. A dropped event is
still logged and still consumes its sequence number: exactly what a client sees when it
misses WebSocket messages (a gap it can detect, state it must re-read).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from console.domain.model import Balance, Fill, Order, Position

log = logging.getLogger(__name__)


class EventKind(StrEnum):
    ORDER = "order"
    EXECUTION = "execution"
    POSITION = "position"
    BALANCE = "balance"


Payload = Order | Fill | Position | Balance


@dataclass(frozen=True, slots=True)
class SimEvent:
    account: str
    seq: int
    kind: EventKind
    at: int
    payload: Payload


EventCallback = Callable[[SimEvent], None]


class EventFeed:
    """One account's feed. Not thread-safe: the sim is driven from one thread."""

    def __init__(self, account: str, log_size: int) -> None:
        if log_size < 1:
            raise ValueError(f"event log size {log_size} must be >= 1")
        self.account = account
        self._seq = 0
        self._log: deque[SimEvent] = deque(maxlen=log_size)
        self._listeners: dict[int, EventCallback] = {}
        self._next_token = 0
        self._dropping = False
        self._drop_left: int | None = None
        self.dropped = 0

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def dropping(self) -> bool:
        return self._dropping

    def record(self, kind: EventKind, at: int, payload: Payload) -> SimEvent | None:
        """Log a new event; return it when it is to be delivered, None when dropped."""
        self._seq += 1
        event = SimEvent(self.account, self._seq, kind, at, payload)
        self._log.append(event)
        if not self._dropping:
            return event
        self.dropped += 1
        if self._drop_left is not None:
            self._drop_left -= 1
            if self._drop_left <= 0:
                self._dropping, self._drop_left = False, None
        return None

    def deliver(self, event: SimEvent) -> None:
        """Hand `event` to every listener; a failing listener is logged, never fatal."""
        for callback in list(self._listeners.values()):
            try:
                callback(event)
            except Exception:
                log.exception("sim: event listener for %s failed on event %d",
                              self.account, event.seq)

    def subscribe(self, callback: EventCallback) -> Callable[[], None]:
        token = self._next_token
        self._next_token += 1
        self._listeners[token] = callback

        def unsubscribe() -> None:
            self._listeners.pop(token, None)

        return unsubscribe

    def drop(self, count: int | None) -> None:
        if count is not None and count < 1:
            raise ValueError(f"drop count {count} must be >= 1 (or None for all)")
        self._dropping, self._drop_left = True, count

    def restore(self) -> None:
        self._dropping, self._drop_left = False, None

    def since(self, after_seq: int) -> list[SimEvent] | None:
        """Events with seq > `after_seq`; None when the log no longer reaches back that far."""
        if after_seq >= self._seq:
            return []
        oldest = self._log[0].seq if self._log else self._seq + 1
        if after_seq < oldest - 1:
            return None
        return [e for e in self._log if e.seq > after_seq]
