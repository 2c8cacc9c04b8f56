"""A bot that embeds the engine: build a session, start it, trade, wait until settled, read
the ledger, stop cleanly, restart, and find the ledger kept everything.

It runs against the embedded simulated exchange (no network, no keys):

    python examples/embed_bot.py [LEDGER_URL]

Without a URL the ledger is a SQLite file in a temporary directory. Against a real venue
the session comes from `console.bootstrap.build_session(profile, secrets=..., db_url=...,
worker_id=..., pending_grace_ms=...)` with a `Profile` object built in code; the rest of
this script is the same. Every line it prints is stable from run to run (no ids, no
times): tests/integration/test_embed_example.py asserts them.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from console.bootstrap import build_sim_session
from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.engine.ledger_reads import LedgerReads
from console.sim import SimExchange

WORKER = "bot1"
"""This process's worker id: it is in every client order id the bot sends (rc-bot1-...)."""
GRACE_MS = 2_000
"""The grace of an order the venue does not know yet: the sim is local, 30 s is for WANs."""
SYMBOL = "BTCUSDT"
QTY = Decimal("0.01")


def say(line: str) -> None:
    print(line, flush=True)  # noqa: T201 - the example's output is its interface


async def trade(db_url: str) -> SimExchange:
    """First life: start, buy at market, wait until settled, read, stop cleanly."""
    sim = build_sim_session(db_url, "clean", reference_prices=True, worker_id=WORKER,
                            pending_grace_ms=GRACE_MS)
    session = sim.engine
    try:
        startup = await session.start(require_stream=True)  # returns once subscribed
        say(f"started: stream connected={session.stream_connected}, "
            f"startup reconciliation {startup.run.status.value}")
        order = Order(venue=session.venue.venue, account=session.venue.account,
                      category=Category.LINEAR, symbol=SYMBOL, side=Side.BUY,
                      type=OrderType.MARKET, qty=QTY, status=OrderStatus.PENDING_NEW,
                      client_order_id=await session.next_client_id(), strategy_id="embed",
                      worker_id=WORKER)
        placed = await session.orders.place(order)
        say(f"placed: {placed.side.value} {placed.qty} {placed.symbol} -> "
            f"{placed.status.value}, client id rc-{WORKER}-...: "
            f"{placed.client_order_id.startswith(f'rc-{WORKER}-')}")
        await session.settled(timeout_s=10)
        pending = await session.pending()
        say(f"settled: pending {pending.describe()}")
        await report("read", session.reads)
    finally:
        await sim.aclose()  # drains the stream into the ledger, audits the stop
    say("stopped cleanly")
    return sim.exchange


async def restart(db_url: str, exchange: SimExchange) -> None:
    """Second life on the same ledger and the same venue: nothing was lost."""
    sim = build_sim_session(db_url, "clean", reference_prices=True, worker_id=WORKER,
                            pending_grace_ms=GRACE_MS, exchange=exchange)
    session = sim.engine
    try:
        stops = [e for e in await asyncio.to_thread(sim.ledger.audit_log)
                 if e.action == "session_stopped"]
        say(f"restarted: the ledger recorded {len(stops)} clean stop(s), stream drained: "
            f"{dict(stops[0].details)['stream_drained'] if stops else 'n/a'}")
        await report("kept", session.reads)  # before any reconciliation: the ledger alone
        startup = await session.start(require_stream=True)
        await session.settled(timeout_s=10)
        say(f"startup reconciliation after restart: {startup.run.status.value}, "
            f"{len(startup.run.discrepancies)} discrepancies")
    finally:
        await sim.aclose()


async def report(label: str, reads: LedgerReads) -> None:
    """What the bot reads from the ledger, off the loop (`session.reads`)."""
    ours = [o for o in await reads.orders() if o.client_order_id.startswith(f"rc-{WORKER}-")]
    positions = {p.symbol: p.size for p in await reads.positions()}
    fills = [f for f in await reads.fills() if f.symbol == SYMBOL]
    summary = [(o.symbol, o.status.value, str(o.filled_qty)) for o in ours]
    say(f"{label}: orders of {WORKER}: {summary}")
    say(f"{label}: position {SYMBOL} {positions.get(SYMBOL)}, fills on {SYMBOL}: {len(fills)}")
    if ours:
        again = await reads.get_order(ours[0].ident)
        say(f"{label}: get_order finds it: {again is not None and again.status is ours[0].status}")


async def main(db_url: str) -> None:
    exchange = await trade(db_url)
    await restart(db_url, exchange)
    say("done")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main(f"sqlite:///{Path(tmp) / 'ledger.db'}"))
