"""What an embedding program waits for: a subscribed private stream after `start()`, and a
settled session (nothing pending) before it reads the ledger as the venue's truth.

`Pending` names everything that can still change the ledger without a new request from
the program; `EngineSession.pending()` takes it, `EngineSession.settled()` waits until it
is empty. The typed errors say which wait ran out, and what was still outstanding.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.domain.events import ConnectionState
from console.errors import UserFacingError


@dataclass(frozen=True, slots=True)
class Pending:
    """What a session still owes the ledger at one moment.

    - `in_flight`: orders being sent (intent written, the venue's answer not yet recorded).
    - `unknown_outcomes`: orders whose request had an unknown outcome and that the venue
      has not answered for yet (their instruments are quarantined).
    - `pending_new`: the ledger's PENDING_NEW orders of the account that no sender here
      holds: intents awaiting their grace, settled by a reconciliation.
    - `stream_backlog`: the private stream delivered events not yet written.
    """

    in_flight: frozenset[str] = frozenset()
    unknown_outcomes: frozenset[str] = frozenset()
    pending_new: frozenset[str] = frozenset()
    stream_backlog: bool = False

    @property
    def empty(self) -> bool:
        return not (self.in_flight or self.unknown_outcomes or self.pending_new
                    or self.stream_backlog)

    def describe(self) -> str:
        parts = [f"{label}: {', '.join(sorted(idents))}" for label, idents in (
            ("in flight", self.in_flight), ("unknown outcome", self.unknown_outcomes),
            ("pending new", self.pending_new)) if idents]
        if self.stream_backlog:
            parts.append("stream events not yet written")
        return "; ".join(parts) or "nothing"


class StreamNotConnectedError(UserFacingError):
    """`start(require_stream=True)` gave up: the private stream did not subscribe in time.
    The session is stopped again; nothing was left running."""

    def __init__(self, message: str, *, state: ConnectionState) -> None:
        super().__init__(message)
        self.state = state


class NotSettledError(UserFacingError):
    """`settled()` ran out of time; `pending` is what was still outstanding."""

    def __init__(self, message: str, *, pending: Pending) -> None:
        super().__init__(message)
        self.pending = pending
