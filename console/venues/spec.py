"""The shape of a venue's registry entry: what `console/venues/<name>/spec.py` declares.

It lives apart from `console.venues.registry` because each venue's `spec.py` builds one
of these and the registry imports every `spec.py`: with the types in the registry, the
two would import each other. Nothing here imports a venue package or a client library.

A spec answers, for one venue, everything that is not a request to the venue: its name
and title, the markets (categories) it serves, its built-in URLs per network (and per
market, for a venue that serves markets from separate hosts), how its profile sub-table
`[profiles.NAME.<venue>]` is read, which fields the CLI and the profile dialog offer, and
how its connector is built. `connect` imports the client inside the call, so that a
command that does not connect never imports the venue's SDK (pybit costs ~0.3 s).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from console.domain import Category
from console.domain.telemetry import Telemetry
from console.errors import ConfigError
from console.profiles import Network, Profile, ProfileValueError, VenueSettings

S = TypeVar("S", bound=VenueSettings)


@dataclass(frozen=True, slots=True)
class Endpoints:
    """A venue account's REST base URL and private WebSocket URL."""

    rest: str
    ws_private: str


@dataclass(frozen=True, slots=True)
class SettingField:
    """One key of a venue's sub-table as the CLI (`--key-with-dashes`) and the profile
    dialog offer it. Offered fields are text in TOML (a string, or one of `choices`)."""

    key: str
    label: str
    help: str
    default: str
    choices: tuple[str, ...] = ()

    @property
    def option(self) -> str:
        """The CLI option: `settle_coin` -> `--settle-coin`."""
        return "--" + self.key.replace("_", "-")


@dataclass(frozen=True, slots=True)
class Connection(Generic[S]):
    """Everything a connector is built from. Holds the secrets: never log or keep it."""

    profile: Profile
    settings: S
    endpoints: Endpoints
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    telemetry: Telemetry


@dataclass(frozen=True, slots=True)
class ConnectorSpec(Generic[S]):
    """One venue connector, as the registry, the CLI, the dialog and the composition roots
    see it. Satisfies `console.profiles.VenueSchema` (`parse_settings`, `legacy_keys`)."""

    name: str
    title: str
    markets: frozenset[Category]
    """The categories this connector serves (a profile asking for another is refused)."""
    urls: Mapping[tuple[Network, Category | None], Endpoints]
    """Built-in URLs by (network, market); market None: the same hosts for every market."""
    settings_type: type[S]
    parse: Callable[[Mapping[str, object]], S]
    """The sub-table -> settings; strict (unknown keys are errors, `ProfileValueError`
    naming the key relative to the sub-table)."""
    market: Callable[[S], Category | None]
    """Which market a profile's settings select (picks the URLs; checked against
    `markets`)."""
    connect: Callable[[Connection[S]], Any]
    """Build the connector (a `VenuePort` whose `venue` is `name`: the ledger keys its rows
    by it, and the CLI reads them back by the profile's venue); imports the client library
    inside."""
    fields: tuple[SettingField, ...] = ()
    legacy_keys: frozenset[str] = frozenset()
    """Keys of the old flat profile layout that belong to this venue's sub-table."""
    check: Callable[[Profile, S], None] | None = None
    """What only the whole profile can tell (Binance spot needs the profile's symbols):
    raises `ConfigError`. Run when a profile is added and again when it is connected, so
    a profile that cannot work is refused when it is written, not at its first run."""
    scope: Callable[[S], Mapping[str, str]] | None = None
    """The part of an account a profile's settings reconcile (Binance's market, Bybit's
    category and settle coin, Deribit's currency), as name -> text: two profiles of one
    account with different scopes must not share a ledger book (console.book_marker).
    None: the market the settings select is the whole scope."""

    def parse_settings(self, table: Mapping[str, object]) -> S:
        settings = self.parse(table)
        market = self.market(settings)
        if market is not None and market not in self.markets:
            served = ", ".join(sorted(m.value for m in self.markets))
            raise ProfileValueError("category", f"{self.name} serves {served}, not {market}")
        return settings

    def settings_of(self, profile: Profile) -> S:
        """The profile's settings for this venue (its defaults when it has none)."""
        if profile.venue != self.name:
            raise ConfigError(f"profile {profile.name!r} is a {profile.venue} profile, "
                              f"not a {self.name} one")
        if profile.settings is None:
            return self.parse_settings({})
        if not isinstance(profile.settings, self.settings_type):
            raise ConfigError(f"profile {profile.name!r}: its settings are not "
                              f"{self.settings_type.__name__}")
        return profile.settings

    def book_scope(self, profile: Profile) -> tuple[tuple[str, str], ...]:
        """The profile's scope (`scope`), sorted: part of what its ledger book is of."""
        settings = self.settings_of(profile)
        if self.scope is not None:
            return tuple(sorted(self.scope(settings).items()))
        market = self.market(settings)
        return () if market is None else (("market", market.value),)

    def check_profile(self, profile: Profile) -> None:
        """`check` on `profile` and its settings (nothing when the venue has none)."""
        if self.check is not None:
            self.check(profile, self.settings_of(profile))

    def endpoints(self, profile: Profile) -> Endpoints:
        """The profile's URLs: its own on the custom network, else the built-in ones."""
        if profile.network is Network.CUSTOM:
            assert profile.rest_url is not None and profile.ws_url is not None  # validated
            return Endpoints(profile.rest_url, profile.ws_url)
        market = self.market(self.settings_of(profile))
        found = self.urls.get((profile.network, market)) or self.urls.get(
            (profile.network, None))
        if found is None:
            raise ConfigError(f"profile {profile.name!r}: no built-in {profile.network} URLs "
                              f"for {self.name} {market or ''}; use network = \"custom\"")
        return found

    def build(self, profile: Profile, *, api_key: str, api_secret: str,
              telemetry: Telemetry) -> Any:
        """The connector for `profile` (the composition root types it as a `VenuePort`)."""
        return self.connect(Connection(profile, self.settings_of(profile),
                                       self.endpoints(profile), api_key, api_secret,
                                       telemetry))
