"""One ledger book, one account: two profiles with the same venue and account on one
ledger (a Binance spot and a USD-M profile, testnet and mainnet, Bybit linear and inverse)
used to read and write the same (venue, account) book and report each other's orders and
positions as their own. The first session binds the book to its identity; another
identity is refused before anything is read from the keyring, sent or written; symbols
and read_only do not change the book; an older, unbound book is bound on first use."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from console.book_marker import (
    BOOK_BOUND,
    BookMismatchError,
    bind_book,
    book_binding,
    check_book,
    record_binding,
)
from console.bootstrap import build_session, open_profile_ledger
from console.credentials import ApiCredentials
from console.domain import Balance, LedgerChanges
from console.errors import ConfigError
from console.profiles import (
    BookIdentity,
    Network,
    Profile,
    book_identity,
    load_profiles,
    parse_profile,
    render_profiles,
    save_profile,
)
from console.store import Ledger
from console.venues.registry import VENUES

SECRETS = ApiCredentials("k" * 16, "s" * 16)
LOOPBACK = {"network": Network.CUSTOM, "rest_url": "http://127.0.0.1:9",
            "ws_url": "ws://127.0.0.1:9"}


def binance(name: str, market: str, **changes: object) -> Profile:
    settings = VENUES["binance"].parse_settings({"market": market})
    symbols = ("BTCUSDT",) if market == "spot" else ()
    return replace(Profile(name=name, venue="binance", symbols=symbols, settings=settings),
                   **changes)


def bybit(name: str, category: str, settle_coin: str = "USDT") -> Profile:
    settings = VENUES["bybit"].parse_settings({"category": category,
                                               "settle_coin": settle_coin})
    return Profile(name=name, venue="bybit", settings=settings)


def open_and_close(profile: Profile, db: str, **kwargs: object) -> None:
    session = build_session(profile, secrets=SECRETS, db_url=db, **kwargs)  # type: ignore[arg-type]
    asyncio.run(session.aclose())


def audit_count(db: str) -> int:
    with Ledger.open(db) as ledger:
        return len(ledger.audit_log(10_000))


def test_a_usdm_profile_is_refused_on_the_book_a_spot_profile_bound(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    open_and_close(binance("bnspot", "spot"), db)
    with Ledger.open(db) as ledger:
        found = book_binding(ledger, "binance", "main")
    assert found is not None
    identity, by = found
    assert (identity.describe(), by) == ("binance testnet, market=spot", "bnspot")
    before = audit_count(db)

    class Untouchable:  # the refusal comes before the keyring is asked
        def get(self, name: str) -> ApiCredentials:
            raise AssertionError(f"credentials of {name} read")

    with pytest.raises(BookMismatchError) as refused:
        build_session(binance("bn2", "usdm"), db_url=db,
                      credentials=Untouchable())  # type: ignore[arg-type]
    text = str(refused.value)
    assert isinstance(refused.value, ConfigError)
    assert "profile 'bn2' (binance testnet, market=usdm)" in text
    assert "bound to binance testnet, market=spot (first used by profile 'bnspot')" in text
    assert "give this profile its own --account (e.g. main-usdm) or its own --db" \
        in text.lower()
    assert audit_count(db) == before  # nothing written
    with Ledger.open(db) as ledger:
        assert ledger.list_runs("binance", "main") == []

    # its own account (or ledger) is its own book
    open_and_close(binance("bn2", "usdm", account="main-usdm"), db)
    open_and_close(binance("bn2", "usdm"), f"sqlite:///{tmp_path / 'usdm.db'}")


def test_symbols_and_read_only_are_the_same_book(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    open_and_close(binance("bnspot", "spot"), db)
    open_and_close(binance("other-name", "spot", symbols=("BTCUSDT", "ETHUSDT"),
                           read_only=True), db)
    with Ledger.open(db) as ledger:  # bound once
        assert len(ledger.audit_log(10, actions=(BOOK_BOUND,))) == 1


@pytest.mark.parametrize(("first", "second", "named"), [
    (binance("a", "usdm"), binance("b", "usdm", network=Network.MAINNET), "mainnet"),
    (binance("a", "usdm"), binance("b", "usdm", **LOOPBACK), "custom http://127.0.0.1:9"),
    (bybit("a", "linear"), bybit("b", "inverse", "BTC"), "category=inverse"),
    (bybit("a", "linear"), bybit("b", "linear", "USDC"), "settle_coin=USDC"),
])
def test_another_network_endpoint_or_scope_is_another_book(
        tmp_path: Path, first: Profile, second: Profile, named: str) -> None:
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    open_and_close(first, db)
    with pytest.raises(BookMismatchError, match=named):
        open_and_close(second, db)
    with pytest.raises(BookMismatchError):  # listings of the other profile's rows too
        profiles = tmp_path / "profiles.toml"
        profiles.write_text(render_profiles([replace(second, db_url=db)]), encoding="utf-8")
        open_profile_ledger(second.name, config_path=str(profiles))


def test_deribit_currencies_are_separate_books(tmp_path: Path) -> None:
    btc = Profile(name="d1", venue="deribit",
                  settings=VENUES["deribit"].parse_settings({"currency": "BTC"}))
    eth = replace(btc, name="d2", settings=VENUES["deribit"].parse_settings({"currency": "ETH"}))
    a, b = book_identity(btc, VENUES), book_identity(eth, VENUES)
    assert a is not None and b is not None and a != b
    assert b.describe() == "deribit testnet, currency=ETH"


def test_an_unbound_used_book_is_bound_on_first_use_with_an_info_log(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = f"sqlite:///{tmp_path / 'old.db'}"
    with Ledger.open(db) as ledger:  # written before bindings existed
        ledger.apply_changes("binance", "main", LedgerChanges(balances=(Balance(
            venue="binance", account="main", asset="USDT", total=Decimal(5),
            free=Decimal(5), locked=Decimal(0)),)))
    with caplog.at_level(logging.INFO, logger="console.book_marker"):
        open_and_close(binance("bn", "usdm"), db)
    bound = [r for r in caplog.records if "predates book bindings" in r.getMessage()]
    assert bound and bound[0].levelno == logging.INFO
    with pytest.raises(BookMismatchError):
        open_and_close(binance("bnspot", "spot"), db)


def test_the_cli_refuses_with_one_clean_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    config = tmp_path / "profiles.toml"
    config.write_text(render_profiles([binance("bn2", "usdm", db_url=db)]), encoding="utf-8")
    spot = book_identity(binance("bn", "spot"), VENUES)
    assert spot is not None
    with Ledger.open(db) as ledger:
        record_binding(ledger, "main", spot, at=1, profile="bn")
    out = subprocess.run([sys.executable, "-m", "console", "reconcile", "--once", "--profile",
                          "bn2", "--config", str(config)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert "bound to binance testnet, market=spot" in out.stderr
    assert "own --account (e.g. main-usdm) or its own --db" in out.stderr


def test_adding_a_profile_that_shares_a_book_warns(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = tmp_path / "profiles.toml"
    save_profile(parse_profile("bn", {"venue": "binance", "binance": {"market": "usdm"}},
                               venues=VENUES), config, venues=VENUES)
    with caplog.at_level(logging.WARNING, logger="console.profiles"):
        save_profile(parse_profile("bn-ro", {"venue": "binance", "read_only": True},
                                   venues=VENUES), config, venues=VENUES)
        assert not [r for r in caplog.records if "share one ledger book" in r.getMessage()]
        save_profile(parse_profile("bnspot", {"venue": "binance", "symbols": ["BTCUSDT"],
                                              "binance": {"market": "spot"}}, venues=VENUES),
                     config, venues=VENUES)
    warned = [r.getMessage() for r in caplog.records if "share one ledger book" in r.getMessage()]
    assert len(warned) == 2, warned  # bn and bn-ro, both usdm
    assert "profile 'bnspot' (binance testnet, market=spot)" in warned[0]
    assert "its own --account (e.g. main-spot) or its own --db" in warned[0]
    assert set(load_profiles(config, venues=VENUES)) == {"bn", "bn-ro", "bnspot"}  # saved


@pytest.mark.parametrize("server_isolation", [None, "repeatable read"])
def test_two_identities_binding_a_fresh_book_at_once_one_wins(
        ledger_url: str, server_isolation: str | None) -> None:
    """Both sessions read the book unbound, then both bind it: one binding is written
    (on SQLite's write lock or PostgreSQL's transaction lock) and the other session is
    refused, whichever order their transactions take; also on a PostgreSQL server whose
    default isolation is not READ COMMITTED."""
    if server_isolation is not None:
        if not ledger_url.startswith("postgresql"):
            return  # SQLite has no such setting: the first case covers it
        url = make_url(ledger_url)
        setting = "-c default_transaction_isolation=" + server_isolation.replace(" ", "\\ ")
        options = " ".join(filter(None, (url.query.get("options"), setting)))
        ledger_url = url.update_query_dict({"options": options}).render_as_string(
            hide_password=False)
    identities = [BookIdentity(venue="binance", network=network, endpoint="",
                               scope=(("market", "usdm"),))
                  for network in ("testnet", "mainnet")]
    read_unbound = threading.Barrier(2, timeout=10)
    outcome: dict[str, str] = {}

    def session(identity: BookIdentity) -> None:
        with Ledger.open(ledger_url) as ledger:
            assert not check_book(ledger, "main", identity, profile=identity.network)
            read_unbound.wait()  # both past the check before either binds
            try:
                bind_book(ledger, "main", identity, at=1, profile=identity.network)
            except BookMismatchError:
                outcome[identity.network] = "refused"
            else:
                outcome[identity.network] = "bound"

    threads = [threading.Thread(target=session, args=(i,)) for i in identities]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcome.values()) == ["bound", "refused"]
    with Ledger.open(ledger_url) as ledger:
        assert len(ledger.audit_log(10, actions=(BOOK_BOUND,))) == 1
        found = book_binding(ledger, "binance", "main")
        assert found is not None
        winner = next(n for n, o in outcome.items() if o == "bound")
        assert found[0].network == winner
