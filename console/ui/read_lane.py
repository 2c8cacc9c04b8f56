"""One worker thread for the window's bulk reads of the ledger: every account's orders
table loads through it, one page at a time, in the order asked.

Why one thread: turning ledger rows into records is Python, which holds the interpreter
lock, so reads in parallel threads do not overlap; they take turns at every offer of the
lock and each turn costs a switch. Three accounts loading 30k orders each in three
threads took ~1.1 s, the same reads one after another ~0.7 s (bench/ui_load.py
`--accounts 3`). Every account's first page goes before any account's rest
(`console.ui.first_load`), so every account shows its first rows at once; a re-read asks
one page at a time, so the accounts' re-reads interleave. Small reads
(an order, the inbox, the audit log) stay on the loop's default executor: they must not
wait behind a long page.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


@functools.cache
def _executor() -> ThreadPoolExecutor:
    """The lane, made at its first use (a process without a window never starts it)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-bulk-read")


def submit(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
    """Queue `fn(*args, **kwargs)` in the bulk-read thread now, from any thread (with the
    caller's context variables); its future."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return _executor().submit(call)


async def in_read_lane(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` in the bulk-read thread, as `asyncio.to_thread` runs it in
    the default executor (with the caller's context variables)."""
    return await asyncio.wrap_future(submit(fn, *args, **kwargs))
