"""The chaos benchmark's exchange: one sim Bybit front-end in its own process, with a market.

Started by bench/chaos.py once per schedule, like `recon-console sim --venue bybit` (the
same `build_sim` and front-end, one JSON line on stdout with the URLs and the key), plus
what a chaos schedule needs of the market that the CLI's sim does not do: the marks of
BTCUSDT and ETHUSDT move by a seeded, bounded random walk around their reference prices,
so resting orders fill while they are being amended and cancelled, and the books are thin
(`LEVEL_QTY` per level), so that orders fill in parts.

Signals: SIGUSR1 freezes the market (no more moves, so no more fills: the reconcile
phase needs a venue that stands still); SIGTERM or SIGINT stops the server, and so does
the end of stdin with --watch-stdin (the orchestrator holds the pipe: if it dies, its
sims do not outlive it). Faults are added at run time through the front-end's control
endpoint (`control_url`).

    python bench/chaos_sim.py --seed 7 [--api-key K --api-secret S] [--watch-stdin]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Final

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SYMBOLS: Final = ("BTCUSDT", "ETHUSDT")
LEVEL_QTY: Final = {"BTCUSDT": Decimal("0.02"), "ETHUSDT": Decimal("0.2")}
WALK_EVERY_S: Final = 0.1
WALK_MAX_TICKS: Final = 3
WALK_BOUND_TICKS: Final = 40
"""The mark stays within this many ticks of the reference price (reflected at the bounds),
so that orders the worker prices around the reference keep meeting it."""
OPENING_USDT: Final = Decimal(1_000_000)


async def walk(exchange, rng: random.Random, frozen: asyncio.Event) -> None:  # type: ignore[no-untyped-def]
    """Move each mark by up to WALK_MAX_TICKS ticks every WALK_EVERY_S until frozen."""
    from console.domain import Category

    instruments = [exchange.instrument(Category.LINEAR, symbol) for symbol in SYMBOLS]
    while not frozen.is_set():
        await asyncio.sleep(WALK_EVERY_S)
        if frozen.is_set():
            return
        for instr in instruments:
            reference = instr.reference_price
            mark = exchange.mark_price(Category.LINEAR, instr.symbol)
            ticks = round((mark - reference) / instr.tick_size)
            ticks += rng.randint(-WALK_MAX_TICKS, WALK_MAX_TICKS)
            ticks = max(-WALK_BOUND_TICKS, min(WALK_BOUND_TICKS, ticks))
            exchange.set_price(Category.LINEAR, instr.symbol,
                               reference + instr.tick_size * ticks)


def stop_at_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set `stop` when stdin ends (the parent closed the pipe, or died)."""
    def watch() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)
    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


async def serve(seed: int, api_key: str | None, api_secret: str | None,
                watch_stdin: bool = False) -> None:
    from console.domain import Category
    from console.sim.core import SimExchange
    from console.sim.server import ACCOUNT, build_sim

    exchange = SimExchange(seed=seed, venue="bybit")
    exchange.create_account(ACCOUNT, {"USDT": OPENING_USDT})
    for symbol, qty in LEVEL_QTY.items():
        exchange.configure_book(Category.LINEAR, symbol, level_qty=qty)
    setup = build_sim(venue="bybit", exchange=exchange, api_key=api_key,
                      api_secret=api_secret, seed=seed)
    loop = asyncio.get_running_loop()
    stop, frozen = asyncio.Event(), asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, frozen.set)
    if watch_stdin:
        stop_at_eof(loop, stop)
    front = setup.front_end
    await front.start("127.0.0.1", 0)
    walker = asyncio.create_task(walk(exchange, random.Random(seed), frozen))
    try:
        market = {symbol: {"tick": str(instr.tick_size), "step": str(instr.qty_step),
                           "reference": str(instr.reference_price)}
                  for symbol in SYMBOLS
                  for instr in [exchange.instrument(Category.LINEAR, symbol)]}
        print(json.dumps({**setup.info(), "control_url": front.control_url,
                          "market": market}), flush=True)
        await stop.wait()
    finally:
        frozen.set()
        walker.cancel()
        await asyncio.gather(walker, return_exceptions=True)
        await front.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--api-key")
    parser.add_argument("--api-secret")
    parser.add_argument("--watch-stdin", action="store_true",
                        help="stop when stdin ends (the parent's pipe closes)")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.seed, args.api_key, args.api_secret, args.watch_stdin))
    return 0


if __name__ == "__main__":
    sys.exit(main())
