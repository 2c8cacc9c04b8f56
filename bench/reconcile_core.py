"""Benchmark: the pure reconciliation core against a one-query-per-record reconciliation.

Builds one (venue, account) with N orders, N fills and M positions on both sides (a
realistic mix: most records agree, a few percent disagree), then times

- pure: `orders_to_query` + `diff` + `plan` over the in-memory snapshots (best of 3);
- naive: the same comparison with one ledger lookup per venue record against a SQLite
  ledger written by `console.store.Ledger` (falls back to a stdlib sqlite3 table keyed
  like the ledger's if the store cannot be imported).

Prints one JSON object. Records counted = ledger orders + venue open orders + by-id
answers + ledger fills + venue fills + ledger positions + venue positions.

    python bench/reconcile_core.py                      # 100k orders, 100k fills, 1k positions
    python bench/reconcile_core.py --orders 5000 --fills 5000 --positions 100   # smoke
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.domain import (
    Balance,
    BracketState,
    Category,
    Fill,
    LedgerChanges,
    LedgerSnapshot,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Origin,
    Position,
    RunnerState,
    Side,
    VenueSnapshot,
)
from console.domain.ids import to_base36
from console.domain.reconciliation import TradingMode
from console.reconcile import ORDER_LEVEL, ReconcileConfig, diff, orders_to_query, plan
from console.reconcile.orders import agrees

VENUE, ACCOUNT = "bybit", "bench"
TAKEN = 1_700_000_000_000
NOW = TAKEN + 500
TARGET_RPS = 1_000_000
TARGET_SPEEDUP = 50
_CODES = {OrderRole.ENTRY: "e", OrderRole.STOP_LOSS: "s", OrderRole.TAKE_PROFIT: "t",
          OrderRole.OTHER: "o"}
_ROLES = (OrderRole.ENTRY, OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT, OrderRole.OTHER)


def build(n_orders: int, n_fills: int, n_positions: int, seed: int, *,
          shuffle: bool = False) -> tuple[LedgerSnapshot, VenueSnapshot]:
    """Two books that mostly agree: ~1% status, ~0.5% fill-quantity, ~1% missing (answered
    by id), ~0.3% unknown venue orders, 1% missing fills, 1% position mismatches."""
    rnd = random.Random(seed)
    prices = [Decimal(p) for p in ("100", "100.5", "99.25", "2500", "0.0123")]
    qtys = [Decimal(q) for q in ("1", "0.5", "2", "0.001")]
    symbols = [f"S{i}USDT" for i in range(max(1, n_positions))]
    stamp = to_base36(TAKEN - 86_400_000)
    # The ledger as the store loads it (ordered by created_at), built first; then the
    # venue's answer, parsed separately (its own strings and Decimals, newest first as
    # venues list them), so nothing is shared between the books by accident.
    specs = sorted((TAKEN - rnd.randrange(1_000, 86_000_000), i) for i in range(n_orders))
    ledger_orders: list[Order] = []
    for created, i in specs:
        role = _ROLES[i % 4]
        worker = f"w{i % 8}"
        qty = qtys[i % len(qtys)]
        terminal = i % 10 == 9
        status = OrderStatus.FILLED if terminal else (
            OrderStatus.UNTRIGGERED if role.is_protection else OrderStatus.NEW)
        ledger_orders.append(Order(
            venue=VENUE, account=ACCOUNT, category=Category.LINEAR,
            symbol=symbols[i % len(symbols)], side=Side.BUY if i % 2 else Side.SELL,
            type=OrderType.LIMIT, qty=qty, status=status,
            client_order_id=f"rc-{worker}-{_CODES[role]}-{stamp}-{to_base36(i)}",
            venue_order_id=str(10_000_000 + i), price=prices[i % len(prices)],
            reduce_only=role.is_protection, filled_qty=qty if terminal else Decimal(0),
            avg_price=prices[i % len(prices)] if terminal else None, strategy_id="ema",
            worker_id=worker, role=role, origin=Origin.OURS, created_at=created,
            updated_at=created))
    open_orders: list[Order] = []
    queried: dict[str, Order] = {}
    for known in reversed(ledger_orders):
        if known.status is OrderStatus.FILLED:
            continue
        price = Decimal(str(known.price))
        qty = Decimal(str(known.qty))
        seen = Order(
            venue=VENUE, account=ACCOUNT, category=known.category,
            symbol="".join(known.symbol), side=known.side, type=known.type, qty=qty,
            status=known.status, client_order_id="".join(known.client_order_id),
            venue_order_id=str(int(known.venue_order_id)), price=price,
            reduce_only=known.reduce_only, created_at=known.created_at,
            updated_at=known.created_at)
        roll = rnd.random()
        if roll < 0.010:
            queried[known.ident] = seen.evolve(
                status=OrderStatus.FILLED if roll < 0.006 else OrderStatus.CANCELLED,
                filled_qty=qty if roll < 0.006 else Decimal(0),
                avg_price=price if roll < 0.006 else None)
            continue
        if roll < 0.020:
            seen = seen.evolve(status=OrderStatus.PARTIALLY_FILLED, filled_qty=qty / 2,
                               avg_price=price)
        elif roll < 0.025:
            seen = seen.evolve(price=price + 1)
        open_orders.append(seen)
    if shuffle:  # adversarial layout: venue order unrelated to the ledger's
        rnd.shuffle(open_orders)
    for j in range(n_orders * 3 // 1000):
        ours = j % 2 == 0
        open_orders.append(Order(
            venue=VENUE, account=ACCOUNT, category=Category.LINEAR,
            symbol=symbols[j % len(symbols)], side=Side.BUY, type=OrderType.LIMIT,
            qty=Decimal(1), status=OrderStatus.NEW,
            client_order_id=(f"rc-w9-o-{stamp}-{to_base36(j)}" if ours else f"manual-{j}"),
            venue_order_id=str(90_000_000 + j), price=Decimal(100),
            created_at=TAKEN - 5_000, updated_at=TAKEN - 5_000))

    low = TAKEN - 3_600_000

    def make_fill(i: int) -> Fill:  # each book parses its own copy
        return Fill(venue=VENUE, account=ACCOUNT, exec_id=f"x{i}",
                    symbol=f"S{i % len(symbols)}USDT", side=Side.BUY,
                    price=Decimal(str(prices[i % len(prices)])),
                    qty=Decimal(str(qtys[i % len(qtys)])), exec_time=low + 1 + i % 3_000_000,
                    venue_order_id=str(10_000_000 + i % max(1, n_orders)),
                    fee=Decimal("0.01"), fee_asset="USDT")

    ledger_fills = [make_fill(i) for i in range(n_fills) if i % 100 != 7]
    venue_fills = [make_fill(i) for i in range(n_fills)]

    def make_position(i: int, extra: int) -> Position:
        return Position(venue=VENUE, account=ACCOUNT, category=Category.LINEAR,
                        symbol=f"S{i}USDT", size=Decimal(1 + i % 5 + extra),
                        entry_price=Decimal(100), updated_at=TAKEN - 10_000)

    ledger_positions = [make_position(i, 1 if i % 100 == 3 else 0) for i in range(n_positions)]
    venue_positions = [make_position(i, 0) for i in range(n_positions)]
    balances = [Balance(VENUE, ACCOUNT, f"A{i}", Decimal(1000 + i), Decimal(900 + i),
                        Decimal(100), updated_at=TAKEN - 10_000) for i in range(20)]

    # Eight workers with a saved, fully matched bracket each.
    runners: list[RunnerState] = []
    for w in range(8):
        symbol = symbols[w % len(symbols)]
        legs = {}
        for role in (OrderRole.ENTRY, OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT):
            status = OrderStatus.FILLED if role is OrderRole.ENTRY else OrderStatus.UNTRIGGERED
            leg = Order(
                venue=VENUE, account=ACCOUNT, category=Category.LINEAR, symbol=symbol,
                side=Side.BUY if role is OrderRole.ENTRY else Side.SELL, type=OrderType.MARKET,
                qty=Decimal(1), status=status,
                client_order_id=f"rc-b{w}-{_CODES[role]}-{stamp}-{to_base36(w)}",
                venue_order_id=f"b{w}{_CODES[role]}", trigger_price=None if role is
                OrderRole.ENTRY else Decimal(90 if role is OrderRole.STOP_LOSS else 110),
                reduce_only=role.is_protection,
                filled_qty=Decimal(1) if role is OrderRole.ENTRY else Decimal(0),
                avg_price=Decimal(100) if role is OrderRole.ENTRY else None,
                strategy_id="ema", worker_id=f"b{w}", role=role, created_at=TAKEN - 60_000,
                updated_at=TAKEN - 60_000)
            legs[role] = leg
            ledger_orders.append(leg)
            if role is not OrderRole.ENTRY:
                open_orders.append(leg.evolve(strategy_id="", worker_id="",
                                              role=OrderRole.OTHER))
        e, s, t = legs[OrderRole.ENTRY], legs[OrderRole.STOP_LOSS], legs[OrderRole.TAKE_PROFIT]
        runners.append(RunnerState(
            user_id="u", worker_id=f"b{w}", venue=VENUE, account=ACCOUNT,
            bracket=BracketState(
                strategy_id="ema", category=Category.LINEAR, symbol=symbol, side=Side.BUY,
                size=Decimal(1), entry_client_id=e.client_order_id,
                entry_order_id=e.venue_order_id, sl_client_id=s.client_order_id,
                sl_order_id=s.venue_order_id, tp_client_id=t.client_order_id,
                tp_order_id=t.venue_order_id, stop_price=Decimal(90),
                take_profit_price=Decimal(110), filled_size=Decimal(1))))

    ledger = LedgerSnapshot(VENUE, ACCOUNT, orders=tuple(ledger_orders),
                            fills=tuple(ledger_fills), fills_from=low,
                            positions=tuple(ledger_positions), balances=tuple(balances),
                            runner_states=tuple(runners),
                            last_exec_time=max((f.exec_time for f in ledger_fills),
                                               default=None))
    venue = VenueSnapshot(VENUE, ACCOUNT, taken_at=TAKEN, open_orders=tuple(open_orders),
                          queried_orders=queried, fills=tuple(venue_fills),
                          fills_window=(low, TAKEN), positions=tuple(venue_positions),
                          balances=tuple(balances))
    return ledger, venue


def count_records(ledger: LedgerSnapshot, venue: VenueSnapshot) -> int:
    return (len(ledger.orders) + len(venue.open_orders or ()) + len(venue.queried_orders)
            + len(ledger.fills) + len(venue.fills or ()) + len(ledger.positions)
            + len(venue.positions or ()))


def time_pure(ledger: LedgerSnapshot, venue: VenueSnapshot, config: ReconcileConfig,
              repeat: int) -> tuple[float, dict[str, Any]]:
    best = float("inf")
    info: dict[str, Any] = {}
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        to_query = orders_to_query(ledger, venue.open_orders or ())
        result = diff(ledger, venue, NOW, config)
        the_plan = plan(result, ledger, venue, NOW, config, TradingMode.TRADING)
        elapsed = time.perf_counter() - t0
        best = min(best, elapsed)
        kinds: dict[str, int] = {}
        for d in result.discrepancies:
            kinds[d.kind.value] = kinds.get(d.kind.value, 0) + 1
        info = {"orders_to_query": len(to_query), "discrepancies": len(result.discrepancies),
                "by_kind": kinds, "actions": len(the_plan.actions),
                "mode": the_plan.mode.value, "unverified": len(result.unverified),
                "order_level": sum(1 for d in result.discrepancies if d.kind in ORDER_LEVEL)}
    return best, info


# -- naive: one ledger query per record ----------------------------------------------------


class _StoreLookups:
    """Per-record lookups on a ledger written by `console.store.Ledger`: one indexed SELECT
    per record on the store's engine (one connection), rows decoded by the store's codec.

    Not `Ledger.order_by_venue_id`: its ORDER BY updated_at makes SQLite walk every order
    of the account (a scan per call), which would flatter the pure path unfairly.
    """

    backend = "console.store.Ledger on SQLite"

    def __init__(self, path: Path, ledger: LedgerSnapshot, *, public_api: bool = False) -> None:
        self.public_api = public_api
        from sqlalchemy import select

        from console.store import Ledger, codec
        from console.store import tables as t

        self.store = Ledger.open(f"sqlite:///{path}")
        self.store.upsert_orders(ledger.orders)
        self.store.apply_changes(VENUE, ACCOUNT, LedgerChanges(
            fills=ledger.fills, positions=ledger.positions, balances=ledger.balances))
        self.conn = self.store.engine.connect()
        o, f, p = t.orders, t.fills, t.positions
        self._decode = codec.order_from_row
        self._orders = select(o).where(o.c.venue == VENUE, o.c.account == ACCOUNT)
        self._vid, self._ident = o.c.venue_order_id, o.c.ident
        self._fill_q = select(f.c.exec_id).where(f.c.venue == VENUE, f.c.account == ACCOUNT)
        self._fill_col = f.c.exec_id
        self._pos_q = select(p.c.size, p.c.entry_price).where(p.c.venue == VENUE,
                                                             p.c.account == ACCOUNT)
        self._pos_col = p.c.key

    def _order(self, column: Any, value: str) -> Order | None:
        row = self.conn.execute(self._orders.where(column == value)).mappings().first()
        return self._decode(row) if row is not None else None

    def order_by_vid(self, vid: str) -> Order | None:
        return self._order(self._vid, vid)

    def order_by_ident(self, ident: str) -> Order | None:
        if self.public_api:
            return self.store.get_order(VENUE, ACCOUNT, ident)
        return self._order(self._ident, ident)

    def active_orders(self) -> list[Order]:
        return self.store.orders(VENUE, ACCOUNT, active_only=True)

    def has_fill(self, exec_id: str) -> bool:
        return self.conn.execute(self._fill_q.where(self._fill_col == exec_id)).first() is not None

    def position(self, key: str) -> tuple[Decimal, Decimal] | None:
        row = self.conn.execute(self._pos_q.where(self._pos_col == key)).first()
        return (row[0], row[1]) if row is not None else None

    def close(self) -> None:
        self.conn.close()
        self.store.close()


class _SqliteLookups:
    """Fallback when the store is unavailable: stdlib sqlite3, tables keyed like the ledger."""

    backend = "stdlib sqlite3 (console.store unavailable)"
    public_api = False

    def __init__(self, path: Path, ledger: LedgerSnapshot) -> None:
        import sqlite3

        self.db = sqlite3.connect(path)
        self.db.executescript("""
            CREATE TABLE orders (venue, account, ident, venue_order_id, status, qty,
                                 filled_qty, avg_price, price, trigger_price, client_order_id,
                                 PRIMARY KEY (venue, account, ident));
            CREATE INDEX ix_vid ON orders (venue, account, venue_order_id);
            CREATE TABLE fills (venue, account, exec_id, PRIMARY KEY (venue, account, exec_id));
            CREATE TABLE positions (venue, account, key, size, entry_price,
                                    PRIMARY KEY (venue, account, key));
        """)
        self.db.executemany("INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?,?)", [
            (VENUE, ACCOUNT, o.ident, o.venue_order_id, o.status.value, str(o.qty),
             str(o.filled_qty), _text(o.avg_price), _text(o.price), _text(o.trigger_price),
             o.client_order_id) for o in ledger.orders])
        self.db.executemany("INSERT INTO fills VALUES (?,?,?)",
                            [(VENUE, ACCOUNT, f.exec_id) for f in ledger.fills])
        self.db.executemany("INSERT INTO positions VALUES (?,?,?,?,?)", [
            (VENUE, ACCOUNT, p.key, str(p.size), str(p.entry_price)) for p in ledger.positions])
        self.db.commit()
        self._by_ident = {o.ident: o for o in ledger.orders}  # row -> Order stand-in

    def _one(self, where: str, value: str) -> Order | None:
        row = self.db.execute(f"SELECT ident FROM orders WHERE venue=? AND account=? AND {where}=?",
                              (VENUE, ACCOUNT, value)).fetchone()
        return self._by_ident.get(row[0]) if row else None

    def order_by_vid(self, vid: str) -> Order | None:
        return self._one("venue_order_id", vid)

    def order_by_ident(self, ident: str) -> Order | None:
        return self._one("ident", ident)

    def active_orders(self) -> list[Order]:
        return [o for o in self._by_ident.values() if o.is_active]

    def has_fill(self, exec_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM fills WHERE venue=? AND account=? AND exec_id=?",
                               (VENUE, ACCOUNT, exec_id)).fetchone() is not None

    def position(self, key: str) -> tuple[Decimal, Decimal] | None:
        row = self.db.execute(
            "SELECT size, entry_price FROM positions WHERE venue=? AND account=? AND key=?",
            (VENUE, ACCOUNT, key)).fetchone()
        return (Decimal(row[0]), Decimal(row[1])) if row else None

    def close(self) -> None:
        self.db.close()


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def naive_reconcile(db: Any, venue: VenueSnapshot, limit: int | None) -> tuple[int, int]:
    """Seed 000's approach: for every venue record, ask the ledger whether it exists.
    Returns (records visited, discrepancies found)."""
    found = 0
    visited = 0
    seen: set[str] = set()
    orders = list(venue.open_orders or ())[:limit]
    for v in orders:
        if db.public_api:
            # The store's per-order read by ident: our client id, else "venue:<id>".
            # (Not Ledger.order_by_venue_id: on SQLite it scans the account's orders.)
            twin = db.order_by_ident(v.client_order_id) if v.client_order_id else None
            if twin is None and v.venue_order_id:
                twin = db.order_by_ident(f"venue:{v.venue_order_id}")
        else:
            twin = db.order_by_vid(v.venue_order_id) if v.venue_order_id else None
            if twin is None and v.client_order_id:
                twin = db.order_by_ident(v.client_order_id)
        visited += 1
        if twin is None:
            found += 1
            continue
        seen.add(twin.ident)
        if not agrees(twin, v):
            found += 1
    if limit is None:
        for twin in db.active_orders():
            visited += 1
            if twin.ident not in seen and twin.ident in venue.queried_orders:
                found += 1
    for fill in list(venue.fills or ())[:limit]:
        visited += 1
        if not db.has_fill(fill.exec_id):
            found += 1
    for p in list(venue.positions or ())[:limit]:
        visited += 1
        row = db.position(p.key)
        if row is None or row != (p.size, p.entry_price):
            found += 1
    return visited, found


def time_naive(ledger: LedgerSnapshot, venue: VenueSnapshot,
               limit: int | None) -> list[dict[str, Any]]:
    """Time the naive pass; with the store, twice on one database: through the store's
    public per-order reads, and through lean indexed SELECTs on its engine."""
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.db"
        try:
            import console.store  # noqa: F401
        except ImportError:
            variants: list[tuple[str, bool]] = [("sqlite3", False)]
            t_load = time.perf_counter()
            db: Any = _SqliteLookups(path, ledger)
        else:
            variants = [("store_api", True), ("lean_sql", False)]
            t_load = time.perf_counter()
            db = _StoreLookups(path, ledger)
        load_s = time.perf_counter() - t_load
        try:
            for name, public_api in variants:
                db.public_api = public_api
                gc.collect()
                t0 = time.perf_counter()
                visited, found = naive_reconcile(db, venue, limit)
                elapsed = time.perf_counter() - t0
                runs.append({"variant": name, "backend": db.backend, "seconds": elapsed,
                             "visited": visited, "discrepancies": found,
                             "load_seconds": round(load_s, 3)})
        finally:
            db.close()
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--fills", type=int, default=100_000)
    parser.add_argument("--positions", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--naive-limit", type=int, default=None,
                        help="time the naive pass on the first N records of each kind and "
                             "extrapolate (default: all records)")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--shuffle", action="store_true",
                        help="list the venue's open orders in random order (worst-case "
                             "memory locality) instead of newest first")
    args = parser.parse_args(argv)

    t_build = time.perf_counter()
    ledger, venue = build(args.orders, args.fills, args.positions, args.seed,
                          shuffle=args.shuffle)
    build_s = time.perf_counter() - t_build
    records = count_records(ledger, venue)
    config = ReconcileConfig()
    pure_s, info = time_pure(ledger, venue, config, args.repeat)
    rps = records / pure_s
    out: dict[str, Any] = {
        "benchmark": "reconcile_core",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "orders": args.orders, "fills": args.fills, "positions": args.positions,
        "records": records,
        "records_counted": ("ledger orders + venue open orders + by-id answers + ledger fills "
                            "+ venue fills + ledger positions + venue positions"),
        "pure_seconds": round(pure_s, 4),
        "pure_timed": f"orders_to_query + diff + plan, best of {args.repeat}, one core",
        "records_per_second": round(rps),
        "target_records_per_second": TARGET_RPS,
        "records_per_second_target_met": rps >= TARGET_RPS,
        "pure": info,
        "layout": ("venue open orders shuffled" if args.shuffle else
                   "ledger by created_at, venue newest first, separate objects per book"),
        "build_seconds": round(build_s, 2),
    }
    if not args.skip_naive:
        pure_visited = (len(venue.open_orders or ()) + sum(1 for o in ledger.orders
                                                           if o.is_active)
                        + len(venue.fills or ()) + len(venue.positions or ()))
        naive_runs = time_naive(ledger, venue, args.naive_limit)
        for run in naive_runs:
            seconds = run["seconds"]
            run["extrapolated"] = args.naive_limit is not None and run["visited"] < pure_visited
            if run["extrapolated"]:
                seconds = seconds * pure_visited / max(1, run["visited"])
            run["seconds"] = round(seconds, 3)
            run["speedup"] = round(seconds / pure_s, 1)
        main_run = naive_runs[0]
        out.update({
            "naive_backend": main_run["backend"],
            "naive_variant": main_run["variant"],
            "naive_seconds": main_run["seconds"],
            "naive_extrapolated": main_run["extrapolated"],
            "naive_records_visited": main_run["visited"],
            "naive_discrepancies": main_run["discrepancies"],
            "naive_load_seconds": main_run["load_seconds"],
            "naive_timed": ("per venue open order one ledger read (store_api: Ledger.get_order "
                            "by client id, else by 'venue:<id>'; lean_sql: one indexed "
                            "SELECT by venue id, else client id, decoded by the store's codec), "
                            "one indexed SELECT per venue fill and per venue position, one "
                            "query for the active orders; counting only: no evidence, "
                            "brackets, balances or plan"),
            "speedup": main_run["speedup"],
            "target_speedup": TARGET_SPEEDUP,
            "speedup_target_met": main_run["speedup"] >= TARGET_SPEEDUP,
            "naive_variants": [{k: r[k] for k in ("variant", "seconds", "speedup")}
                               for r in naive_runs],
        })
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
