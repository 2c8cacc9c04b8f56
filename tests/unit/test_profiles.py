"""Profiles: strict TOML reading (the venue's sub-table too), defaults, the old flat layout,
atomic round-trip writing. Read against the build's venue registry, as the console does."""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from console import profiles as profiles_module
from console.domain import Category
from console.errors import ConfigError
from console.profiles import (
    CONFIG_ENV,
    SIM_VENUE,
    ActionMode,
    Network,
    PolicySettings,
    Profile,
    RetrySettings,
    config_path,
    default_config_path,
    parse_profile,
    render_profiles,
)
from console.venues.bybit.spec import BybitSettings
from console.venues.registry import VENUES

FULL = """
[profiles.bybit-test]
venue = "bybit"
network = "testnet"
account = "desk-1"
symbols = ["BTCUSDT", "ETHUSDT"]
db_url = "postgresql+psycopg://recon@db.local/ledger"
read_only = true
reconcile_interval_s = 30
metrics_port = 9464

[profiles.bybit-test.bybit]
category = "linear"
settle_coin = "USDC"

[profiles.bybit-test.policy]
venue_actions = "auto"
ledger_actions = "approve"
hard_desync_ratio = "0.25"
balance_abs_tolerance = "0.01"
balance_rel_tolerance = "0.001"
stale_order_timeout_s = 3600
min_time_in_book_ms = 750
amend_price_threshold_bps = "12.5"
amend_size_threshold = "0.2"

[profiles.bybit-test.policy.retry]
tries = 5
base_ms = 200
max_ms = 5000

[profiles.demo]
venue = "sim"
"""


def load_profiles(path: str | os.PathLike[str] | None = None) -> dict[str, Profile]:
    return profiles_module.load_profiles(path, venues=VENUES)


def get_profile(name: str, path: str | os.PathLike[str] | None = None) -> Profile:
    return profiles_module.get_profile(name, path, venues=VENUES)


def save_profile(profile: Profile, path: str | os.PathLike[str] | None = None) -> Path:
    return profiles_module.save_profile(profile, path, venues=VENUES)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_profiles(path)
    message = str(info.value)
    assert str(path) in message  # every error names the file
    return message


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)


# -- reading ----------------------------------------------------------------------------------


def test_full_profile(tmp_path: Path) -> None:
    profiles = load_profiles(write(tmp_path, FULL))
    assert sorted(profiles) == ["bybit-test", "demo"]
    p = profiles["bybit-test"]
    assert p == Profile(
        name="bybit-test", venue="bybit", network=Network.TESTNET, account="desk-1",
        settings=BybitSettings(category=Category.LINEAR, settle_coin="USDC"),
        symbols=("BTCUSDT", "ETHUSDT"), db_url="postgresql+psycopg://recon@db.local/ledger",
        read_only=True, reconcile_interval_s=30, metrics_port=9464,
        policy=PolicySettings(
            venue_actions=ActionMode.AUTO, ledger_actions=ActionMode.APPROVE,
            hard_desync_ratio=Decimal("0.25"), balance_abs_tolerance=Decimal("0.01"),
            balance_rel_tolerance=Decimal("0.001"), stale_order_timeout_s=3600,
            min_time_in_book_ms=750, amend_price_threshold_bps=Decimal("12.5"),
            amend_size_threshold=Decimal("0.2"),
            retry=RetrySettings(tries=5, base_ms=200, max_ms=5000)))
    assert isinstance(p.policy.hard_desync_ratio, Decimal)


def test_defaults(tmp_path: Path) -> None:
    p = load_profiles(write(tmp_path, '[profiles.x]\nvenue = "bybit"\n'))["x"]
    assert (p.network, p.account, p.symbols, p.settings) == (Network.TESTNET, "main", (), None)
    with_table = load_profiles(write(tmp_path, '[profiles.x]\nvenue = "bybit"\n'
                                                '[profiles.x.bybit]\n'))["x"]
    assert with_table.settings == BybitSettings(Category.LINEAR, "USDT")
    assert (p.db_url, p.read_only, p.reconcile_interval_s, p.metrics_port) == (
        None, False, 60, None)
    pol = p.policy
    assert pol.venue_actions is ActionMode.APPROVE and pol.ledger_actions is ActionMode.AUTO
    assert pol.hard_desync_ratio == Decimal("0.10")
    assert pol.stale_order_timeout_s is None and pol.min_time_in_book_ms == 500
    assert pol.retry == RetrySettings(3, 1000, 30_000)


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert load_profiles(tmp_path / "nope.toml") == {}


def test_integer_decimals_are_exact(tmp_path: Path) -> None:
    p = load_profiles(write(tmp_path, '[profiles.x]\nvenue = "bybit"\n[profiles.x.policy]\n'
                                      "amend_price_threshold_bps = 25\n"))["x"]
    assert p.policy.amend_price_threshold_bps == Decimal(25)


@pytest.mark.parametrize(("body", "needles"), [
    ('[profiles.p]\nvenue = "bybit"\nnetwrok = "testnet"\n',
     ["profile 'p'", "key netwrok", "unknown key", "did you mean 'network'"]),
    ('[profiles.p]\nvenue = "bybit"\n[profiles.p.policy]\nhard_desync_ration = "0.1"\n',
     ["key policy.hard_desync_ration", "did you mean 'hard_desync_ratio'"]),
    ('[profiles.p]\nvenue = "bybit"\n[profiles.p.policy.retry]\ntries = 3\nmax = 1\n',
     ["key policy.retry.max", "unknown key"]),
    ('[profiles.p]\nvenue = "bybit"\n[profiles.p.policy]\nhard_desync_ratio = 0.1\n',
     ["key policy.hard_desync_ratio", "TOML float", 'hard_desync_ratio = "0.1"']),
    ('[profiles.p]\nvenue = "bybit"\n[profiles.p.policy]\nbalance_abs_tolerance = "abc"\n',
     ["key policy.balance_abs_tolerance", "not a decimal"]),
    ('[profiles.p]\nvenue = "bybit"\n[profiles.p.policy]\nbalance_rel_tolerance = "NaN"\n',
     ["policy.balance_rel_tolerance", "finite"]),
    ('[profiles.p]\nvenue = "bybit"\n[profiles.p.policy]\nhard_desync_ratio = "1.5"\n',
     ["policy.hard_desync_ratio", "above 1"]),
    ('[profiles.p]\nvenue = "bybit"\n[profiles.p.policy]\nvenue_actions = "yes"\n',
     ["policy.venue_actions", '"approve" | "auto"']),
    ('[profiles.p]\nvenue = "bybit"\n[profiles.p.policy.retry]\nbase_ms = 5000\nmax_ms = 10\n',
     ["policy.retry.max_ms", "below base_ms"]),
    ('[profiles.p]\nvenue = "bybit"\n[profiles.p.policy.retry]\ntries = 0\n',
     ["policy.retry.tries"]),
    ('[profiles.p]\nvenue = "kraken"\n',
     ["key venue", "venue 'kraken' has no connector in this build; available: binance, "
                   "bybit, deribit, sim"]),
    ('[profiles.p]\nvenue = "okx"\n',
     ["key venue", "venue 'okx' has no connector in this build; available: binance, bybit, "
                   "deribit, sim"]),
    ('[profiles.p]\nvenue = 3\n', ["key venue", "must be a string"]),
    ('[profiles.p]\nnetwork = "testnet"\n', ["key venue", "is required", '"deribit" | "sim"']),
    ('[profiles.p]\nvenue = "bybit"\nnetwork = "custom"\nws_url = "wss://x.example"\n',
     ["key rest_url", "required", "custom"]),
    ('[profiles.p]\nvenue = "bybit"\nrest_url = "https://x.example"\n',
     ["key rest_url", 'only used with network = "custom"']),
    ('[profiles.p]\nvenue = "bybit"\nnetwork = "custom"\nrest_url = "http://x.example"\n'
     'ws_url = "wss://x.example"\n', ["key rest_url", "loopback"]),
    ('[profiles.p]\nvenue = "bybit"\nnetwork = "custom"\nrest_url = "ftp://x"\n'
     'ws_url = "wss://x.example"\n', ["key rest_url", "https://"]),
    ('[profiles.p]\nvenue = "bybit"\nnetwork = "custom"\nrest_url = "https://u:pw@x.example"\n'
     'ws_url = "wss://x.example"\n', ["key rest_url", "password"]),
    ('[profiles.p]\nvenue = "bybit"\ndb_url = "postgresql://u:hunter2@h/db"\n',
     ["key db_url", "password", "pgpass"]),
    ('[profiles.p]\nvenue = "bybit"\n[profiles.p.bybit]\ncategory = "perp"\n',
     ["key bybit.category", '"linear"']),
    ('[profiles.p]\nvenue = "bybit"\ncategory = "perp"\n', ["key bybit.category"]),
    ('[profiles.p]\nvenue = "bybit"\n[profiles.p.bybit]\ncategry = "spot"\n',
     ["key bybit.categry", "unknown key", "did you mean 'category'"]),
    ('[profiles.p]\nvenue = "bybit"\nbybit = 1\n', ["key bybit", "table"]),
    ('[profiles.p]\nvenue = "bybit"\n[profiles.p.binance]\ncategory = "spot"\n',
     ["key binance", "unknown key"]),
    ('[profiles.p]\nvenue = "sim"\n[profiles.p.sim]\nx = 1\n', ["key sim", "unknown key"]),
    ('[profiles.p]\nvenue = "sim"\n[profiles.p.bybit]\ncategory = "spot"\n',
     ["key bybit", "unknown key"]),
    ('[profiles.p]\nvenue = "bybit"\ncategory = "spot"\n[profiles.p.bybit]\n'
     'category = "linear"\n', ["key category", "given twice", "[profiles.p.bybit]"]),
    ('[profiles.p]\nvenue = "bybit"\nsymbols = "BTCUSDT"\n', ["key symbols", "list"]),
    ('[profiles.p]\nvenue = "bybit"\nsymbols = ["BTCUSDT", 1]\n', ["key symbols[1]"]),
    ('[profiles.p]\nvenue = "bybit"\nsymbols = ["A", "A"]\n', ["key symbols", "twice"]),
    ('[profiles.p]\nvenue = "bybit"\nread_only = "no"\n', ["key read_only", "true or false"]),
    ('[profiles.p]\nvenue = "bybit"\nreconcile_interval_s = 0\n', ["reconcile_interval_s"]),
    ('[profiles.p]\nvenue = "bybit"\nreconcile_interval_s = 1.5\n',
     ["reconcile_interval_s", "integer"]),
    ('[profiles.p]\nvenue = "bybit"\nmetrics_port = 70000\n', ["metrics_port", "65535"]),
    ('[profiles.p]\nvenue = "bybit"\nsettle_coin = "usdt"\n',
     ["key bybit.settle_coin", "upper-case"]),
    ('[profiles.p]\nvenue = "bybit"\n[profiles.p.bybit]\nsettle_coin = 5\n',
     ["key bybit.settle_coin", "string"]),
    ('[profiles.p]\nvenue = "bybit"\naccount = ""\n', ["key account"]),
    ('[profiles.p]\nvenue = "bybit"\npolicy = 3\n', ["key policy", "table"]),
    ("profiles = 3\n", ["[profiles.NAME]"]),
    ('[other]\nx = 1\n', ["unknown top-level key 'other'"]),
    ('[profiles."a b"]\nvenue = "bybit"\n', ["profile name 'a b'"]),
    ('[profiles.p\nvenue = "bybit"\n', ["not valid TOML"]),
])
def test_errors_name_file_profile_and_key(tmp_path: Path, body: str, needles: list[str]) -> None:
    message = error_for(tmp_path, body)
    for needle in needles:
        assert needle in message, message


def test_programmatic_construction_is_validated() -> None:
    with pytest.raises(ConfigError, match="profile 'x': key network"):
        Profile("x", "bybit", network="testnet")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="hard_desync_ratio"):
        PolicySettings(hard_desync_ratio=Decimal("-1"))
    with pytest.raises(ConfigError, match="key name"):
        Profile("a.b", "bybit")
    with pytest.raises(ConfigError, match="key venue"):
        Profile("x", "By Bit")
    with pytest.raises(ConfigError, match="key bybit"):
        Profile("x", "bybit", settings={"category": "linear"})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="key sim"):
        Profile("x", SIM_VENUE, settings=BybitSettings())


# -- lookup ------------------------------------------------------------------------------------


def test_get_profile(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    assert get_profile("demo", path).venue == SIM_VENUE
    assert get_profile("demo", path).uses_simulator
    assert get_profile("demo", path).settings is None
    with pytest.raises(ConfigError) as info:
        get_profile("bybit-tset", path)
    message = str(info.value)
    assert "'bybit-tset'" in message and "bybit-test, demo" in message
    assert "did you mean 'bybit-test'" in message
    with pytest.raises(ConfigError, match="defines no profiles yet"):
        get_profile("x", tmp_path / "missing.toml")


def test_path_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_config_path().name == "profiles.toml"
    assert "recon-console" in str(default_config_path())
    assert config_path() == default_config_path()
    env_file = write(tmp_path, FULL)
    monkeypatch.setenv(CONFIG_ENV, str(env_file))
    assert config_path() == env_file
    assert "demo" in load_profiles()
    explicit = tmp_path / "other.toml"
    assert config_path(explicit) == explicit  # the argument beats the environment
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path))
    assert config_path() == env_file  # a directory means profiles.toml inside it


# -- creating (the CLI and the profile dialog) -------------------------------------------------


def test_parse_profile_is_the_readers_check() -> None:
    made = parse_profile("x", {"venue": "bybit", "bybit": {"category": "spot"}}, venues=VENUES)
    assert made.settings == BybitSettings(Category.SPOT, "USDT")
    with pytest.raises(ConfigError) as info:
        parse_profile("x", {"venue": "okx"}, venues=VENUES)
    assert str(info.value) == ("profile 'x': key venue: venue 'okx' has no connector in "
                               "this build; available: binance, bybit, deribit, sim")
    with pytest.raises(ConfigError, match="profile name"):
        parse_profile("a b", {"venue": "bybit"}, venues=VENUES)
    with pytest.raises(ConfigError, match=r"key bybit\.settle_coin"):
        parse_profile("x", {"venue": "bybit", "bybit": {"settle_coin": "usdt"}}, venues=VENUES)


# -- the old flat layout -----------------------------------------------------------------------

OLD_LAYOUT = """
[profiles.old]
venue = "bybit"
network = "testnet"
account = "main"
category = "inverse"
symbols = []
settle_coin = "BTC"
read_only = false
reconcile_interval_s = 60

[profiles.old.policy]
venue_actions = "approve"

[profiles.demo]
venue = "sim"
category = "linear"
settle_coin = "USDT"

[profiles.new]
venue = "bybit"

[profiles.new.bybit]
category = "spot"
"""


def test_old_layout_is_read_with_one_warning_and_rewritten(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A file written before the venue sub-table (Bybit's `category` and `settle_coin` at
    the top of every profile, the sim's included) still loads, says once how to rewrite
    it, and comes out of the next save in the new layout."""
    path = write(tmp_path, OLD_LAYOUT)
    with caplog.at_level(logging.WARNING, logger="console.profiles"):
        loaded = load_profiles(path)
    assert loaded["old"].settings == BybitSettings(Category.INVERSE, "BTC")
    assert loaded["demo"].settings is None and loaded["demo"].uses_simulator
    assert loaded["new"].settings == BybitSettings(Category.SPOT, "USDT")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    message = warnings[0].getMessage()
    assert str(path) in message
    assert "profile 'old' has category, settle_coin" in message
    assert "[profiles.old.bybit]" in message
    assert "profile 'demo'" in message and "simulator does not use" in message
    assert "'new'" not in message
    assert "recon-console profiles show" in message

    save_profile(Profile("other", "bybit"), path)
    caplog.clear()
    raw = tomllib.loads(path.read_text(encoding="utf-8"))["profiles"]
    assert raw["old"]["bybit"] == {"category": "inverse", "settle_coin": "BTC"}
    assert "category" not in raw["old"] and "settle_coin" not in raw["old"]
    assert "category" not in raw["demo"] and "bybit" not in raw["demo"]
    with caplog.at_level(logging.WARNING, logger="console.profiles"):
        again = load_profiles(path)
    assert not caplog.records  # rewritten: nothing old left to warn about
    assert again["old"] == loaded["old"] and again["demo"] == loaded["demo"]


# -- writing -----------------------------------------------------------------------------------


def test_render_writes_the_venue_table(tmp_path: Path) -> None:
    text = render_profiles([Profile("x", "bybit", settings=BybitSettings(Category.SPOT,
                                                                          "USDC")),
                            Profile("s", SIM_VENUE)])
    raw = tomllib.loads(text)["profiles"]
    assert raw["x"]["bybit"] == {"category": "spot", "settle_coin": "USDC"}
    assert "category" not in raw["x"] and "settle_coin" not in raw["x"]
    assert set(raw["s"]) == {"venue", "network", "account", "symbols", "read_only",
                             "reconcile_interval_s", "lease_ttl_s", "policy"}


def test_save_round_trip_keeps_other_profiles(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    before = load_profiles(path)
    new = Profile("bybit-main", "bybit", network=Network.MAINNET,
                  settings=BybitSettings(Category.INVERSE, "BTC"), symbols=("BTCUSD",),
                  account='quote " and \\ back\tslash', metrics_port=9000)
    assert save_profile(new, path) == path
    after = load_profiles(path)
    assert after == {**before, "bybit-main": new}
    changed = replace(before["bybit-test"], read_only=False, symbols=())
    save_profile(changed, path)
    assert load_profiles(path)["bybit-test"] == changed
    assert load_profiles(path)["bybit-main"] == new


def test_save_creates_dirs_and_writes_decimals_as_strings(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "profiles.toml"
    save_profile(Profile("x", "bybit"), path)
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    assert raw["profiles"]["x"]["policy"]["hard_desync_ratio"] == "0.10"
    assert "metrics_port" not in raw["profiles"]["x"]  # None is omitted
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["profiles.toml"]  # no temp files left


def test_save_never_writes_secrets(tmp_path: Path) -> None:
    text = render_profiles([Profile("x", "bybit")])
    for word in ("secret", "api_key", "password"):
        assert word not in text.split("\n", 2)[2]  # past the header comment
    assert not {"api_key", "api_secret", "password"} & set(Profile.__dataclass_fields__)


def test_save_refuses_to_clobber_a_broken_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[profiles.p\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        save_profile(Profile("x", "bybit"), path)
    assert path.read_text(encoding="utf-8") == "[profiles.p\n"


def test_save_reports_unwritable_location(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cannot (read|write) the profiles file"):
        save_profile(Profile("x", "bybit"), blocker / "profiles.toml")


def test_control_characters_round_trip(tmp_path: Path) -> None:
    p = Profile("x", "bybit", account="a\x01b\x7fc\né")
    path = tmp_path / "p.toml"
    save_profile(p, path)
    assert load_profiles(path)["x"] == p
