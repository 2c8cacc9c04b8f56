"""What one account's window parts are: its engine session and what goes with it, or,
for a remote account, the shared ledger's commands to the engine that trades it.

The composition root (`console.bootstrap_gui`) builds a `ConsoleParts` per account (the
embedded sim, or a profile); the window never builds one itself. Kept apart from
`console.ui.app` (Qt) so that the ports and the composition root can name it without
importing Qt.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from console.engine.alerts import AlertEngine
from console.engine.demo import ChaosPort, DemoQuoter
from console.engine.ports import LedgerPort
from console.engine.session import EngineSession
from console.errors import UserFacingError
from console.ui.ports import (
    LOCAL_ACCOUNT,
    REMOTE_ACCOUNT,
    Capabilities,
    CredentialsPort,
    Identity,
    ProfilesPort,
)
from console.ui.remote import RemoteOps

log = logging.getLogger(__name__)


@dataclass
class ConsoleParts:
    """Everything one account's part of the window runs on, built by the composition root."""

    session: EngineSession | None
    """The account's engine in this process; None for a remote account (`remote`)."""
    book: LedgerPort
    identity: Identity
    alerts: AlertEngine | None = None
    chaos: ChaosPort | None = None
    demo: DemoQuoter | None = None
    credentials: CredentialsPort | None = None
    profiles: ProfilesPort | None = None
    versions: str = ""
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    """Run after the engine stopped, in order (stop the sim's market, close the ledger)."""
    remote: RemoteOps | None = None
    """A remote account's commands and health over the shared ledger (`console.ui.remote`):
    an engine elsewhere trades it."""

    def __post_init__(self) -> None:
        if (self.session is None) == (self.remote is None):
            raise UserFacingError(f"{self.identity.profile}: an account is either this "
                                  "process's engine session or a remote one, not both nor "
                                  "neither")

    @property
    def capabilities(self) -> Capabilities:
        return LOCAL_ACCOUNT if self.remote is None else REMOTE_ACCOUNT

    @property
    def label(self) -> str:
        """The account's name in the window: its profile ("embedded sim" for the sim)."""
        return self.identity.profile

    async def aclose(self) -> None:
        for close in self.closers:
            try:
                await close()
            except Exception:
                # shutdown goes on: each resource is released even if one fails
                log.exception("console: shutdown step failed")
