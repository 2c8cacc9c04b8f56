"""Fixtures for tests against a real ledger database: SQLite in tmp_path, and PostgreSQL.

PostgreSQL comes from RECON_TEST_PG_URL (start one with `.ci/start-postgres.sh`, whose last
line is the URL). Each PostgreSQL test gets its own schema, dropped afterwards, so tests
never see each other's rows. Without the variable the postgres cases are skipped locally
and fail under CI, where a silently skipped backend would hide a broken ledger.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from canary import COLLECTED, scan_pg_schema
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from console.domain import (
    Balance,
    BracketState,
    Category,
    ExecType,
    Fill,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Origin,
    Position,
    PositionSide,
    RunnerState,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.store import Ledger

PG_ENV = "RECON_TEST_PG_URL"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

OpenLedger = Callable[..., Ledger]


def _pg_base_url() -> str:
    url = os.environ.get(PG_ENV, "").strip()
    if url:
        return url
    hint = (f"set {PG_ENV} to a PostgreSQL URL, e.g. "
            f"export {PG_ENV}=$(bash .ci/start-postgres.sh | tail -n 1)")
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL ledger tests cannot run under CI: {PG_ENV} is not set; {hint}",
                    pytrace=False)
    pytest.skip(f"PostgreSQL ledger tests need {PG_ENV} (skipped locally only); {hint}")


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """A plain engine on the test database, for creating and dropping schemas."""
    engine = create_engine(_pg_base_url(), poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ledger_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL to an empty database of the current backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    admin: Engine = request.getfixturevalue("pg_admin")
    schema = f"recon_test_{uuid.uuid4().hex[:16]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(_pg_base_url()).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            COLLECTED.extend(scan_pg_schema(conn, schema))  # the secrets canary, before the drop
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def open_ledger(ledger_url: str) -> Iterator[OpenLedger]:
    """Open more Ledger instances on the test database; all are closed at teardown."""
    opened: list[Ledger] = []

    def _open(**kwargs: object) -> Ledger:
        ledger = Ledger.open(ledger_url, **kwargs)  # type: ignore[arg-type]
        opened.append(ledger)
        return ledger

    yield _open
    for ledger in opened:
        ledger.close()


@pytest.fixture
def ledger(open_ledger: OpenLedger) -> Ledger:
    """A migrated ledger on an empty database, SQLite and PostgreSQL."""
    return open_ledger()


class Builders:
    """Domain records with every field set, so round trips prove every column."""

    VENUE = "bybit"
    ACCOUNT = "main"

    @staticmethod
    def order(ident: str, *, status: OrderStatus = OrderStatus.NEW, updated_at: int = 1_000,
              venue: str = VENUE, account: str = ACCOUNT, **changes: object) -> Order:
        base = Order(
            venue=venue, account=account, category=Category.LINEAR, symbol="BTCUSDT",
            side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("0.010"), status=status,
            client_order_id=ident, venue_order_id=f"v-{ident}",
            price=Decimal("123456789.123456789"), trigger_price=Decimal("0.00000001"),
            trigger_direction=TriggerDirection.FALL, reduce_only=True,
            time_in_force=TimeInForce.POST_ONLY, filled_qty=Decimal("0.002"),
            avg_price=Decimal("64000.5"), strategy_id="s-1", worker_id="w1",
            role=OrderRole.STOP_LOSS, origin=Origin.ADOPTED_EXTERNAL, label="rc_s-1_w1_sl",
            created_at=500, updated_at=updated_at)
        return base.evolve(**changes) if changes else base

    @staticmethod
    def fill(exec_id: str, *, exec_time: int = 2_000, venue: str = VENUE,
             account: str = ACCOUNT, **changes: object) -> Fill:
        return Fill(**{
            "venue": venue, "account": account, "exec_id": exec_id, "symbol": "BTCUSDT",
            "side": Side.SELL, "price": Decimal("64000.10"), "qty": Decimal("0.00000001"),
            "exec_time": exec_time, "category": Category.INVERSE, "venue_order_id": "v-1",
            "client_order_id": "c-1", "fee": Decimal("-0.0001"), "fee_asset": "USDT",
            "is_maker": True, "exec_type": ExecType.TRADE, **changes})

    @staticmethod
    def position(symbol: str = "BTCUSDT", *, size: str = "-1.5",
                 side: PositionSide = PositionSide.ONE_WAY,
                 venue: str = VENUE, account: str = ACCOUNT) -> Position:
        return Position(venue=venue, account=account, category=Category.LINEAR, symbol=symbol,
                        size=Decimal(size), entry_price=Decimal("123456789.123456789"),
                        position_side=side, mark_price=Decimal("1E+3"),
                        unrealised_pnl=Decimal("-0.00000001"), updated_at=3_000)

    @staticmethod
    def balance(asset: str = "USDT", *, total: str = "1000.00000001", venue: str = VENUE,
                account: str = ACCOUNT) -> Balance:
        return Balance(venue=venue, account=account, asset=asset, total=Decimal(total),
                       free=Decimal("999.5"), locked=Decimal("0.50000001"), updated_at=4_000)

    @staticmethod
    def bracket() -> BracketState:
        return BracketState(
            strategy_id="s-1", category=Category.LINEAR, symbol="BTCUSDT", side=Side.BUY,
            size=Decimal("0.010"), entry_client_id="rc-w1-e-1-1", entry_price=Decimal("64000"),
            entry_order_id="v-e", sl_client_id="rc-w1-s-1-2", sl_order_id="v-s",
            tp_client_id="rc-w1-t-1-3", tp_order_id="v-t", stop_price=Decimal("63000.5"),
            take_profit_price=Decimal("66000.25"), filled_size=Decimal("0.005"),
            oco_ref="oco-1", opened_at=1_234)

    @classmethod
    def runner_state(cls, worker_id: str = "w1", *, user_id: str = "u1", trades: int = 3,
                     venue: str = VENUE, account: str = ACCOUNT) -> RunnerState:
        return RunnerState(
            user_id=user_id, worker_id=worker_id, venue=venue, account=account,
            bracket=cls.bracket(), total_trades=trades, winning_trades=2, losing_trades=1,
            total_pnl=Decimal("-12.34000001"), last_execution_time=5_000, updated_at=6_000,
            extra=(("mode", "grid"), ("a", "1")))


@pytest.fixture
def build() -> type[Builders]:
    return Builders
