"""What the window needs from the outside besides the `EngineSession`, as protocols.

The composition root (`console.bootstrap_gui`) implements them over the concrete pieces
(the SQLAlchemy ledger, the OS keyring, the profiles file); the UI never imports those.
Every method here may block (database, D-Bus): the UI calls them with
`asyncio.to_thread`, never on the GUI path.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from console.ui.parts import ConsoleParts


class Badge(StrEnum):
    """Which money is at stake: shown in the title and, permanently, in the status bar."""

    SIMULATED = "SIMULATED"
    TESTNET = "TESTNET"
    MAINNET = "MAINNET"
    CUSTOM = "CUSTOM"


@dataclass(frozen=True, slots=True)
class Identity:
    """What the window is connected to."""

    profile: str
    venue: str
    account: str
    badge: Badge
    read_only: bool = False
    detail: str = ""
    """One line for the status bar tooltip (scenario, URLs...). Never a secret."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the window may do to an account, declared where the account is built (the
    composition root): the window enables its actions from this, never by probing the
    controller for an engine."""

    engine_here: bool = True
    """The account's engine runs in this process (its session, its stream, its alert
    timer). False: a remote account (`console.ui.remote`) that an engine elsewhere trades;
    the window reads the shared ledger and sends the operator's decisions as commands."""
    venue_direct: bool = True
    """Actions that need the venue connection itself: amend, cancel or close one row,
    preview, restart rehearsal, coverage, demo and chaos."""
    why_not: str = ""
    """When `venue_direct` is False: why, for the disabled actions' tooltips."""


LOCAL_ACCOUNT = Capabilities()
REMOTE_ACCOUNT = Capabilities(
    engine_here=False, venue_direct=False,
    why_not="a remote account: its engine runs elsewhere, and this window has no venue "
            "connection for it (approvals, rejections, halts, resumes, emergency stops and "
            "reconcile now travel through the ledger)")


@dataclass(frozen=True, slots=True)
class KeyringStatus:
    """The keyring backend the credentials would go to, and whether it is acceptable."""

    backend: str
    usable: bool
    problem: str = ""
    """When not usable: what is missing and what to start or unlock (shown as is)."""


class CredentialsPort(Protocol):
    """API credentials in the OS keyring. Errors are `console.errors.UserFacingError`s whose
    text never holds a secret."""

    def status(self) -> KeyringStatus:
        ...

    def has(self, profile: str) -> bool:
        ...

    def save(self, profile: str, api_key: str, api_secret: str) -> None:
        ...

    def delete(self, profile: str) -> bool:
        ...


@dataclass(frozen=True, slots=True)
class VenueField:
    """One field of a venue's own profile settings (its `[profiles.NAME.<venue>]` table),
    offered as a choice list when `choices` is given, else as a line of text."""

    key: str
    label: str
    default: str
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True, slots=True)
class VenueChoice:
    """A venue the profile dialog offers: one this build has a connector for."""

    name: str
    title: str
    fields: tuple[VenueField, ...] = ()


@dataclass(frozen=True, slots=True)
class ProfileDraft:
    """A venue profile as the profile dialog collects it (no secret). `settings` are the
    venue's own fields, (key, text) in the order of its `VenueChoice.fields`."""

    name: str
    venue: str
    network: str
    account: str = "main"
    symbols: tuple[str, ...] = ()
    read_only: bool = False
    rest_url: str | None = None
    ws_url: str | None = None
    settings: tuple[tuple[str, str], ...] = ()


class ProfilesPort(Protocol):
    """The profiles file. `save` validates and raises `UserFacingError` naming the field."""

    @property
    def venues(self) -> tuple[VenueChoice, ...]:
        """The venues a new profile may name (static: the build's venue registry; this one
        does not block)."""
        ...

    def names(self) -> list[str]:
        ...

    def save(self, draft: ProfileDraft) -> str:
        """Write the profile; returns where it went."""
        ...


class SessionsPort(Protocol):
    """Opens one more account in the running window: a profile's engine session, built as
    `recon-console --profile NAME` would build it (ledger, connector, keyring, engine,
    alerts), not started. `open` blocks (database, keyring, connector set-up): the window
    calls it with `asyncio.to_thread`. Errors are `UserFacingError`s naming the profile.
    Which profiles exist is the `ProfilesPort`'s to say."""

    def open(self, profile: str) -> ConsoleParts:
        ...


class FleetPort(Protocol):
    """Attaches the window to engines running elsewhere through their shared PostgreSQL
    ledger (docs/architecture.md, "The console as a fleet view"): one remote account per
    (venue, account) the ledger has a lease row or recorded runs for. `attach` blocks
    (it opens and reads the ledger): the window calls it with `asyncio.to_thread`. A
    SQLite ledger is refused (`UserFacingError`): it is one process. Error texts never
    hold the URL's password."""

    def attach(self, url: str) -> list[ConsoleParts]:
        ...
