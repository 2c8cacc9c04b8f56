"""Connection profiles: venue, network, account, scope and policy, in one TOML file.

The file is `profiles.toml` in the platform's config dir (`RECON_CONSOLE_CONFIG` or an
explicit path overrides it), one `[profiles.NAME]` table per profile with an optional
`[profiles.NAME.policy]`, `[profiles.NAME.policy.retry]` and `[profiles.NAME.<venue>]`,
the last holding the fields only that venue has (Bybit's `category` and `settle_coin`).

Reading is strict on purpose: a misspelt key or a float where a decimal belongs would
otherwise fall back to a default silently, and a default here decides whether the console
touches a live account. Every error is a `ConfigError` naming the file, the profile and the
key. Money-like values are `Decimal`, written as quoted strings. A profile holds no secret:
API credentials live in the OS keyring under the profile's name, and URLs carrying a
password are refused.

This module is plain configuration: it must not import the venue packages (an
import-linter contract says so), yet a profile naming a venue this build has no connector
for must be refused, and a venue's sub-table must be read as strictly as the rest. So the
venues are *injected*: every function that reads a profile takes `venues`, a mapping from
venue name to a `VenueSchema` (how that venue's sub-table is parsed, and which keys of the
old flat layout belong to it). `console.venues.registry.VENUES` is that mapping; the
composition roots and the CLI pass it. The parsed sub-table is kept on the profile as the
venue's own `VenueSettings` object, opaque here except for `to_table()`, which writes it
back. The embedded simulated exchange (`SIM_VENUE`) is the one venue every build has: it
has no connector and no sub-table, and the composition root wires it.
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlsplit

import platformdirs

from console.errors import ConfigError

log = logging.getLogger(__name__)

APP_NAME = "recon-console"
CONFIG_ENV = "RECON_CONSOLE_CONFIG"
FILE_NAME = "profiles.toml"
SIM_VENUE: Final = "sim"
"""The embedded simulated exchange: no connector, no sub-table, no credentials."""

LEASE_TTL_S_DEFAULT: Final = 10
"""The lease TTL a profile gets when it names none (the engine's own default,
`console.engine.lease.DEFAULT_LEASE_TTL_S`, which this module may not import)."""
LEASE_TTL_S_BOUNDS: Final = (2, 300)
"""A profile's `lease_ttl_s`, in whole seconds. Below 2 s the holder's renewals (every
TTL/3) and its local send deadline (TTL/5 before expiry) leave no room for one slow
ledger round trip; above 300 s a dead holder blocks its standby for minutes."""

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # TOML bare keys: no quoting, easy on a CLI
_VENUE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

_E = TypeVar("_E", bound=StrEnum)


class Network(StrEnum):
    TESTNET = "testnet"
    MAINNET = "mainnet"
    CUSTOM = "custom"


class ActionMode(StrEnum):
    """Whether a class of reconcile actions waits for the operator or applies itself."""

    APPROVE = "approve"
    AUTO = "auto"


@runtime_checkable
class VenueSettings(Protocol):
    """A venue's own profile fields, parsed from `[profiles.NAME.<venue>]` by its schema.

    Implementations are frozen dataclasses owned by the venue's connector package; this
    module only writes them back (`to_table`) and compares them.
    """

    def to_table(self) -> dict[str, object]:
        """The sub-table to write: TOML-able values (str, int, bool, Decimal, lists)."""
        ...


class VenueSchema(Protocol):
    """What reading a profile needs to know of one venue (injected: see the module doc)."""

    @property
    def legacy_keys(self) -> frozenset[str]:
        """Keys the old flat layout had at the top of `[profiles.NAME]` that now belong in
        the venue's sub-table; a file still using them is read, with a warning."""
        ...

    def parse_settings(self, table: Mapping[str, object]) -> VenueSettings:
        """The sub-table, checked strictly. Raises `ProfileValueError` with the key
        relative to the sub-table (the caller prefixes the venue's name)."""
        ...

    def book_scope(self, profile: Profile) -> tuple[tuple[str, str], ...]:
        """The part of the account the profile reconciles, as sorted (name, text) pairs
        (Binance's market, Bybit's category and settle coin...): see `BookIdentity`."""
        ...


VenueCatalog = Mapping[str, VenueSchema]
"""The venues a build can connect to, by name (`console.venues.registry.VENUES`)."""


def available_venues(venues: VenueCatalog) -> tuple[str, ...]:
    """Every venue a profile may name: the connectors, then the embedded sim."""
    return (*sorted(venues), SIM_VENUE)


def unavailable_venue(name: str, venues: VenueCatalog) -> str:
    """The one message for a venue this build cannot reach (CLI, dialog, file, registry)."""
    return (f"venue {name!r} has no connector in this build; available: "
            f"{', '.join(available_venues(venues))}")


class ProfileValueError(ConfigError):
    """One bad value; `key` is dotted below the profile table (e.g. "policy.retry.tries")."""

    def __init__(self, key: str, detail: str, *, profile: str = "", path: Path | None = None):
        parts = [str(path)] if path is not None else []
        parts += [f"profile {profile!r}"] if profile else []
        parts += [f"key {key}"] if key else []
        super().__init__(": ".join([*parts, detail]))
        self.key, self.detail, self.profile, self.path = key, detail, profile, path

    def located(self, *, prefix: str = "", profile: str = "",
                path: Path | None = None) -> ProfileValueError:
        return ProfileValueError(f"{prefix}{self.key}", self.detail,
                                 profile=profile or self.profile, path=path or self.path)


# -- the settings -----------------------------------------------------------------------


def _check_decimal(key: str, value: Decimal, *, upper: Decimal | None = None) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ProfileValueError(key, f"{value!r} is not a decimal >= 0")
    if upper is not None and value > upper:
        raise ProfileValueError(key, f"{value} is above {upper}")


def _check_int(key: str, value: int | None, *, low: int, high: int | None = None,
               optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (
            high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ProfileValueError(key, f"{value!r} is not an integer {bound}")


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """Transient venue errors: `tries` attempts, exponential backoff with full jitter."""

    tries: int = 3
    base_ms: int = 1000
    max_ms: int = 30_000

    def __post_init__(self) -> None:
        _check_int("tries", self.tries, low=1, high=100)
        _check_int("base_ms", self.base_ms, low=1)
        _check_int("max_ms", self.max_ms, low=1)
        if self.max_ms < self.base_ms:
            raise ProfileValueError("max_ms", f"{self.max_ms} is below base_ms ({self.base_ms})")


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """How reconciliation acts (docs/architecture.md, *Reconciliation*). Defaults are
    the safe ones.

    - `venue_actions`: "approve" (operator approves each) or "auto".
    - `ledger_actions`: "auto" or "approve".
    - `hard_desync_ratio`: order discrepancies above this share of tracked orders pause
      new risk.
    - `balance_abs_tolerance` / `balance_rel_tolerance`: a balance differs when
      |ledger - venue| > max(abs, rel * |venue|).
    - `stale_order_timeout_s`: our resting orders older than this are proposed for
      cancellation (None: never).
    - `min_time_in_book_ms`, `amend_price_threshold_bps`, `amend_size_threshold`: amend
      instead of cancel/replace when the order has rested that long and the price moves
      by at most that many basis points and the size by at most that fraction of the qty.
    """

    venue_actions: ActionMode = ActionMode.APPROVE
    ledger_actions: ActionMode = ActionMode.AUTO
    hard_desync_ratio: Decimal = Decimal("0.10")
    balance_abs_tolerance: Decimal = Decimal("0.00000001")
    balance_rel_tolerance: Decimal = Decimal("0.0001")
    stale_order_timeout_s: int | None = None
    min_time_in_book_ms: int = 500
    amend_price_threshold_bps: Decimal = Decimal("50")
    amend_size_threshold: Decimal = Decimal("0.5")
    retry: RetrySettings = field(default_factory=RetrySettings)

    def __post_init__(self) -> None:
        for key in ("venue_actions", "ledger_actions"):
            if not isinstance(getattr(self, key), ActionMode):
                raise ProfileValueError(key, f"{getattr(self, key)!r} is not an ActionMode")
        _check_decimal("hard_desync_ratio", self.hard_desync_ratio, upper=Decimal(1))
        _check_decimal("balance_abs_tolerance", self.balance_abs_tolerance)
        _check_decimal("balance_rel_tolerance", self.balance_rel_tolerance, upper=Decimal(1))
        _check_decimal("amend_price_threshold_bps", self.amend_price_threshold_bps,
                       upper=Decimal(10_000))
        _check_decimal("amend_size_threshold", self.amend_size_threshold)
        _check_int("stale_order_timeout_s", self.stale_order_timeout_s, low=1, optional=True)
        _check_int("min_time_in_book_ms", self.min_time_in_book_ms, low=0)
        if not isinstance(self.retry, RetrySettings):
            raise ProfileValueError("retry", "is not RetrySettings")


def _check_url(key: str, url: str, schemes: tuple[str, str]) -> None:
    """A secure scheme, or the plain one on loopback only; never a password in the URL."""
    secure, plain = schemes
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        password = parts.password
    except ValueError as exc:
        raise ProfileValueError(key, f"{url!r} is not a valid URL ({exc})") from None
    if parts.scheme not in schemes or not host:
        raise ProfileValueError(key, f"{url!r} must be a {secure}:// (or {plain}:// on "
                                     "loopback) URL with a host")
    if password is not None:
        raise ProfileValueError(key, "must not contain a password: secrets live in the keyring")
    if parts.scheme == plain and not _is_loopback(host):
        raise ProfileValueError(key, f"{plain}:// is allowed for loopback hosts only; use "
                                     f"{secure}:// for {host}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_db_url(url: str) -> None:
    try:
        password = urlsplit(url).password
    except ValueError as exc:
        raise ProfileValueError("db_url", f"is not a valid URL ({exc})") from None
    if password is not None:
        raise ProfileValueError(
            "db_url", "must not contain a password: profiles are not secret; use ~/.pgpass "
                      "or the PGPASSWORD environment variable for PostgreSQL")


@dataclass(frozen=True, slots=True)
class Profile:
    """One (venue, network, account) the console connects to. Holds no secret.

    `settings` is the venue's sub-table as its connector spec parsed it; None when there
    is none (the sim's case, or a connector venue's defaults), so that a profile written
    and read back is the same value.
    """

    name: str
    venue: str
    network: Network = Network.TESTNET
    rest_url: str | None = None
    ws_url: str | None = None
    account: str = "main"
    symbols: tuple[str, ...] = ()
    db_url: str | None = None
    read_only: bool = False
    reconcile_interval_s: int = 60
    lease_ttl_s: int = LEASE_TTL_S_DEFAULT
    """How long this engine's lease of the account lasts without renewal: on a shared
    PostgreSQL ledger a standby takes over at most this long after the holder's last
    renewal (docs/architecture.md, "Leases and fencing"). Independent of
    `reconcile_interval_s`: the lease is renewed every TTL/3 whatever the reconcile pace."""
    metrics_port: int | None = None
    policy: PolicySettings = field(default_factory=PolicySettings)
    settings: VenueSettings | None = None

    def __post_init__(self) -> None:
        try:
            self._validate()
        except ProfileValueError as exc:
            raise exc.located(profile=self.name if isinstance(self.name, str) else "") from None

    def _validate(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ProfileValueError("name", f"{self.name!r} must be 1-64 letters, digits, "
                                            "'_' or '-'")
        if not isinstance(self.venue, str) or not _VENUE.match(self.venue):
            raise ProfileValueError("venue", f"{self.venue!r} is not a venue name")
        if not isinstance(self.network, Network):
            raise ProfileValueError("network", f"{self.network!r} is not a Network")
        if self.network is Network.CUSTOM:
            for key in ("rest_url", "ws_url"):
                if not getattr(self, key):
                    raise ProfileValueError(key, 'is required when network = "custom"')
        else:
            for key in ("rest_url", "ws_url"):
                if getattr(self, key) is not None:
                    raise ProfileValueError(
                        key, f'is only used with network = "custom" (network is '
                             f'"{self.network}", whose URLs are built in)')
        if self.rest_url is not None:
            _check_url("rest_url", self.rest_url, ("https", "http"))
        if self.ws_url is not None:
            _check_url("ws_url", self.ws_url, ("wss", "ws"))
        if not isinstance(self.account, str) or not self.account.strip():
            raise ProfileValueError("account", "must be a non-empty string")
        if not isinstance(self.symbols, tuple):
            raise ProfileValueError("symbols", "must be a tuple of strings")
        for symbol in self.symbols:
            if not isinstance(symbol, str) or not symbol or symbol != symbol.strip() or (
                    any(ch.isspace() for ch in symbol)):
                raise ProfileValueError("symbols", f"{symbol!r} is not a symbol")
        if len(set(self.symbols)) != len(self.symbols):
            raise ProfileValueError("symbols", "lists a symbol twice")
        if self.db_url is not None:
            if not isinstance(self.db_url, str) or not self.db_url.strip():
                raise ProfileValueError("db_url", "must be a non-empty string when given")
            _check_db_url(self.db_url)
        if not isinstance(self.read_only, bool):
            raise ProfileValueError("read_only", "must be true or false")
        _check_int("reconcile_interval_s", self.reconcile_interval_s, low=1)
        _check_int("lease_ttl_s", self.lease_ttl_s, low=LEASE_TTL_S_BOUNDS[0],
                   high=LEASE_TTL_S_BOUNDS[1])
        _check_int("metrics_port", self.metrics_port, low=1, high=65_535, optional=True)
        if not isinstance(self.policy, PolicySettings):
            raise ProfileValueError("policy", "is not PolicySettings")
        if self.settings is not None and not isinstance(self.settings, VenueSettings):
            raise ProfileValueError(self.venue, "is not a venue's settings object")
        if self.venue == SIM_VENUE and self.settings is not None:
            raise ProfileValueError(SIM_VENUE, "the embedded simulator has no settings")

    @property
    def uses_simulator(self) -> bool:
        return self.venue == SIM_VENUE


# -- which ledger book a profile reads and writes -----------------------------------------


@dataclass(frozen=True, slots=True)
class BookIdentity:
    """What a profile's book in its ledger is of. The ledger keys its rows by (venue,
    account) only, so two profiles with the same venue, account and ledger share one book:
    a spot and a USD-M profile, a testnet and a mainnet one, Bybit linear and inverse. The
    first session binds the book to its identity and a different one is refused
    (`console.book_marker`). Symbols and read_only do not change which book it is."""

    venue: str
    network: str
    endpoint: str
    """The REST URL on the custom network ("" otherwise: the built-in hosts follow from
    the network and the scope)."""
    scope: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        """E.g. "binance testnet, market=usdm"."""
        where = f"{self.network} {self.endpoint}" if self.endpoint else self.network
        scope = ", ".join(f"{k}={v}" for k, v in self.scope)
        return f"{self.venue} {where}" + (f", {scope}" if scope else "")

    def own_account(self, account: str) -> str:
        """An account name to suggest for a profile that needs its own book
        ("main-spot")."""
        return f"{account}-{self.scope[0][1] if self.scope else self.network}"


def book_identity(profile: Profile, venues: VenueCatalog) -> BookIdentity | None:
    """The profile's book identity; None for the embedded sim, whose book is told apart by
    the scenario that built it (`console.book_marker`)."""
    schema = venues.get(profile.venue)
    if schema is None:
        return None
    endpoint = profile.rest_url or "" if profile.network is Network.CUSTOM else ""
    return BookIdentity(profile.venue, profile.network.value, endpoint,
                        schema.book_scope(profile))


def book_key(profile: Profile) -> tuple[str, str, str | None]:
    """(venue, account, db_url): profiles with one key read and write one ledger book."""
    return profile.venue, profile.account, profile.db_url


def sharing_a_book(profile: Profile, others: Iterable[Profile],
                   venues: VenueCatalog) -> list[Profile]:
    """The other profiles whose book key is `profile`'s but whose identity differs: both
    cannot run (the second one to run is refused), so `save_profile` warns of them."""
    mine = book_identity(profile, venues)
    if mine is None:
        return []
    return [p for p in others if p.name != profile.name
            and book_key(p) == book_key(profile) and book_identity(p, venues) != mine]


# -- reading ----------------------------------------------------------------------------


def default_config_path() -> Path:
    """profiles.toml in the platform's per-user config dir (e.g. ~/.config/recon-console)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / FILE_NAME


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The file to use: explicit argument, else RECON_CONSOLE_CONFIG, else the default."""
    if path is None:
        env = os.environ.get(CONFIG_ENV, "").strip()
        if not env:
            return default_config_path()
        path = env
    resolved = Path(path).expanduser()
    return resolved / FILE_NAME if resolved.is_dir() else resolved


def _fail(key: str, detail: str) -> ProfileValueError:
    return ProfileValueError(key, detail)


# The parsers below are public for the venues' schemas: a sub-table is read with the same
# strictness and the same messages as the rest of the file.

FieldParser = Callable[[str, object], Any]
"""(dotted key, TOML value) -> the checked value, or `ProfileValueError` naming the key."""


def check_keys(table: Mapping[str, Any], allowed: Iterable[str], prefix: str = "") -> None:
    """Refuse a key not in `allowed`, suggesting the closest known one."""
    allowed = list(allowed)
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise _fail(f"{prefix}{key}", f"unknown key; {hint}known keys: {', '.join(allowed)}")


def as_str(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise _fail(key, f"must be a string, not {_toml_type(value)}")
    return value


def as_enum(key: str, value: object, enum: type[_E]) -> _E:
    text = as_str(key, value)
    try:
        return enum(text)
    except ValueError:
        choices = " | ".join(f'"{m.value}"' for m in enum)
        raise _fail(key, f"{text!r} is not one of {choices}") from None


def as_int(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(key, f"must be an integer, not {_toml_type(value)}")
    return value


def as_bool(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, f"must be true or false, not {_toml_type(value)}")
    return value


def as_decimal(key: str, value: object) -> Decimal:
    if isinstance(value, float):
        short = key.rsplit(".", maxsplit=1)[-1]
        raise _fail(key, f"is a TOML float, which is inexact: quote decimals, e.g. "
                         f'{short} = "{value}"')
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    text = as_str(key, value)
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise _fail(key, f"{text!r} is not a decimal number") from None
    if not number.is_finite():
        raise _fail(key, f"{text!r} is not a finite number")
    return number


def parse_fields(table: Mapping[str, Any], parsers: Mapping[str, FieldParser],
                 prefix: str = "", extra: Iterable[str] = ()) -> dict[str, Any]:
    """Every key of `table` through its parser; a key in neither `parsers` nor `extra`
    (sub-tables the caller reads itself) is an error."""
    check_keys(table, [*parsers, *extra], prefix)
    return {key: parsers[key](f"{prefix}{key}", value)
            for key, value in table.items() if key in parsers}


def _as_symbols(key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _fail(key, f"must be a list of strings, not {_toml_type(value)}")
    return tuple(as_str(f"{key}[{i}]", item) for i, item in enumerate(value))


def _as_table(key: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(key, f"must be a table, not {_toml_type(value)}")
    return value


def _toml_type(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
             list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)


_PROFILE_KEYS: dict[str, FieldParser] = {
    "venue": as_str,
    "network": lambda k, v: as_enum(k, v, Network),
    "rest_url": as_str,
    "ws_url": as_str,
    "account": as_str,
    "symbols": _as_symbols,
    "db_url": as_str,
    "read_only": as_bool,
    "reconcile_interval_s": as_int,
    "lease_ttl_s": as_int,
    "metrics_port": as_int,
}
_POLICY_KEYS: dict[str, FieldParser] = {
    "venue_actions": lambda k, v: as_enum(k, v, ActionMode),
    "ledger_actions": lambda k, v: as_enum(k, v, ActionMode),
    "hard_desync_ratio": as_decimal,
    "balance_abs_tolerance": as_decimal,
    "balance_rel_tolerance": as_decimal,
    "stale_order_timeout_s": as_int,
    "min_time_in_book_ms": as_int,
    "amend_price_threshold_bps": as_decimal,
    "amend_size_threshold": as_decimal,
}
_RETRY_KEYS: dict[str, FieldParser] = {"tries": as_int, "base_ms": as_int, "max_ms": as_int}
_SIM_FLAT_KEYS = frozenset({"category", "settle_coin"})
"""The flat layout wrote these for every profile, the sim's too, which never used them."""


@dataclass(frozen=True, slots=True)
class _Parsed:
    profile: Profile
    moved: tuple[str, ...] = ()
    """Old-layout keys folded into the venue's sub-table."""
    dropped: tuple[str, ...] = ()
    """Old-layout keys the venue has no use for (the sim's)."""


def _parse(name: str, raw: object, venues: VenueCatalog) -> _Parsed:
    if not isinstance(raw, dict):
        raise _fail("", f"[profiles.{name}] must be a table, not {_toml_type(raw)}")
    table: dict[str, Any] = dict(raw)
    if "venue" not in table:
        raise _fail("venue", "is required: one of "
                    + " | ".join(f'"{v}"' for v in available_venues(venues)))
    venue = as_str("venue", table["venue"])
    schema = venues.get(venue)
    if schema is None and venue != SIM_VENUE:
        raise _fail("venue", unavailable_venue(venue, venues))
    sub: dict[str, Any] | None = None  # None: no sub-table, the venue's defaults
    moved: list[str] = []
    dropped: list[str] = []
    if schema is not None:
        if venue in table:
            sub = dict(_as_table(venue, table.pop(venue)))
        for key in sorted(schema.legacy_keys & table.keys()):
            sub = sub if sub is not None else {}
            if key in sub:
                raise _fail(key, f"is given twice: at the top of [profiles.{name}] (the old "
                                 f"layout) and in [profiles.{name}.{venue}]; keep the second")
            sub[key] = table.pop(key)
            moved.append(key)
    else:
        dropped = sorted(_SIM_FLAT_KEYS & table.keys())
        for key in dropped:
            del table[key]
    values = parse_fields(table, _PROFILE_KEYS, "", extra=("policy",))
    policy_table = _as_table("policy", table.get("policy", {}))
    policy_values = parse_fields(policy_table, _POLICY_KEYS, "policy.", extra=("retry",))
    retry_table = _as_table("policy.retry", policy_table.get("retry", {}))
    retry_values = parse_fields(retry_table, _RETRY_KEYS, "policy.retry.")
    try:
        retry = RetrySettings(**retry_values)
    except ProfileValueError as exc:
        raise exc.located(prefix="policy.retry.") from None
    try:
        policy = PolicySettings(**policy_values, retry=retry)
    except ProfileValueError as exc:
        raise exc.located(prefix="policy.") from None
    settings: VenueSettings | None = None
    if schema is not None and sub is not None:
        try:
            settings = schema.parse_settings(sub)
        except ProfileValueError as exc:
            raise exc.located(prefix=f"{venue}.") from None
    profile = Profile(name=name, policy=policy, settings=settings, **values)
    return _Parsed(profile, tuple(moved), tuple(dropped))


def _old_layout(parsed: Mapping[str, _Parsed]) -> str:
    """What an old-layout file holds and how to rewrite it ("" when nothing is old)."""
    notes = []
    for name, p in parsed.items():
        if p.moved:
            notes.append(f"profile {name!r} has {', '.join(p.moved)} at the top of "
                         f"[profiles.{name}] (read as [profiles.{name}.{p.profile.venue}])")
        if p.dropped:
            notes.append(f"profile {name!r} has {', '.join(p.dropped)}, which the simulator "
                         "does not use (ignored)")
    if not notes:
        return ""
    return ("; ".join(notes) + ". Move such keys into the profile's venue table "
            "[profiles.NAME.<venue>] (or delete them from a sim profile): `recon-console "
            "profiles show` prints the whole file in the new layout, and saving any profile "
            "(`recon-console profiles add ... --replace`) rewrites the file so")


def parse_profile(name: str, table: Mapping[str, Any], *, venues: VenueCatalog) -> Profile:
    """A profile from its TOML table, as the file reader does it (the CLI and the profile
    dialog build new profiles this way, so creation and reading refuse the same things)."""
    if not _NAME.match(name):
        raise ConfigError(f"profile name {name!r} must be 1-64 letters, digits, '_' or '-'")
    try:
        parsed = _parse(name, dict(table), venues)
    except ProfileValueError as exc:
        raise exc.located(profile=name) from None
    note = _old_layout({name: parsed})
    if note:
        log.warning("%s", note)
    return parsed.profile


def load_profiles(path: str | os.PathLike[str] | None = None, *,
                  venues: VenueCatalog) -> dict[str, Profile]:
    """Every profile in the file, by name; {} when the file does not exist yet."""
    file = config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read the profiles file: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    for key in data:
        if key != "profiles":
            raise ConfigError(f"{file}: unknown top-level key {key!r}: the file holds "
                              "[profiles.NAME] tables only")
    raw_profiles = data.get("profiles", {})
    if not isinstance(raw_profiles, dict):
        raise ConfigError(f"{file}: 'profiles' must be a table of [profiles.NAME] tables")
    parsed: dict[str, _Parsed] = {}
    for name, raw in raw_profiles.items():
        if not _NAME.match(name):
            raise ConfigError(f"{file}: profile name {name!r} must be 1-64 letters, digits, "
                              "'_' or '-'")
        try:
            parsed[name] = _parse(name, raw, venues)
        except ProfileValueError as exc:
            raise exc.located(profile=name, path=file) from None
    note = _old_layout(parsed)
    if note:
        log.warning("%s: %s", file, note)
    return {name: p.profile for name, p in parsed.items()}


def get_profile(name: str, path: str | os.PathLike[str] | None = None, *,
                venues: VenueCatalog) -> Profile:
    """The named profile; an unknown name lists the known ones."""
    profiles = load_profiles(path, venues=venues)
    if name in profiles:
        return profiles[name]
    file = config_path(path)
    if not profiles:
        raise ConfigError(f"no profile {name!r}: {file} defines no profiles yet; add a "
                          f"[profiles.{name}] table with at least venue = \"...\"")
    known = ", ".join(sorted(profiles))
    close = difflib.get_close_matches(name, list(profiles), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"no profile {name!r} in {file}{hint}; known profiles: {known}")


# -- writing ----------------------------------------------------------------------------


def save_profile(profile: Profile, path: str | os.PathLike[str] | None = None, *,
                 venues: VenueCatalog) -> Path:
    """Add or replace one profile, rewriting the file atomically; returns the path.

    The other profiles are kept (the file must parse first: a broken file is never
    overwritten). The file is rewritten from the parsed values, so comments are lost and
    an old-layout file comes out in the new layout.
    """
    if not isinstance(profile, Profile):
        raise ConfigError("save_profile needs a Profile")
    file = config_path(path)
    profiles = load_profiles(file, venues=venues)
    for other in sharing_a_book(profile, profiles.values(), venues):
        log.warning(
            "profile %r (%s) and profile %r (%s) would share one ledger book, %s/%s in %s: "
            "whichever runs second is refused. Give this profile its own --account (e.g. "
            "%s) or its own --db", profile.name, _identity_text(profile, venues),
            other.name, _identity_text(other, venues), profile.venue, profile.account,
            profile.db_url or "the default ledger", _own_account(profile, venues))
    profiles[profile.name] = profile
    text = render_profiles(profiles.values())
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        mode = file.stat().st_mode & 0o777 if file.exists() else 0o600
        fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=file.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(f"{file}: cannot write the profiles file: {exc}") from None
    return file


def _identity_text(profile: Profile, venues: VenueCatalog) -> str:
    identity = book_identity(profile, venues)
    return identity.describe() if identity is not None else profile.venue


def _own_account(profile: Profile, venues: VenueCatalog) -> str:
    identity = book_identity(profile, venues)
    return identity.own_account(profile.account) if identity is not None \
        else f"{profile.account}-{profile.name}"


def render_profiles(profiles: Iterable[Profile]) -> str:
    """The TOML text for `profiles` (a tiny writer: strings, ints, bools, decimals, lists)."""
    lines = ["# recon-console connection profiles. Credentials are not here: they live in",
             "# the OS keyring (recon-console credentials set NAME).", ""]
    for profile in sorted(profiles, key=lambda p: p.name):
        lines.append(f"[profiles.{profile.name}]")
        lines += _render_fields(profile, skip=("name", "policy", "settings"))
        if profile.settings is not None:
            lines += ["", f"[profiles.{profile.name}.{profile.venue}]"]
            lines += [f"{key} = {_toml_value(value)}"
                      for key, value in profile.settings.to_table().items() if value is not None]
        lines += ["", f"[profiles.{profile.name}.policy]"]
        lines += _render_fields(profile.policy, skip=("retry",))
        lines += ["", f"[profiles.{profile.name}.policy.retry]"]
        lines += _render_fields(profile.policy.retry)
        lines.append("")
    return "\n".join(lines)


def _render_fields(obj: object, skip: tuple[str, ...] = ()) -> list[str]:
    out: list[str] = []
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if f.name in skip or value is None:
            continue
        out.append(f"{f.name} = {_toml_value(value)}")
    return out


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, StrEnum):
        return _toml_string(value.value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return _toml_string(str(value))
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}


def _toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
