"""The orders table's paged read (`Ledger.orders_page`), on SQLite and PostgreSQL: newest
first by last update, ties by identity, each page after the previous one's last order,
every order exactly once, only the account's, active ones only when asked."""

from __future__ import annotations

from console.domain import Order, OrderStatus

V, A = "bybit", "main"


def read_all(ledger, *, active_only: bool, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    before = None
    while True:
        page: list[Order] = ledger.orders_page(V, A, active_only, before=before, limit=limit)
        pages.append([o.ident for o in page])
        if len(page) < limit:
            return pages
        before = (page[-1].updated_at, page[-1].ident)


def test_pages_are_newest_first_each_after_the_last_and_cover_every_order(
        ledger, build) -> None:
    orders = [build.order(f"o{i:02d}", updated_at=1_000 + (i // 3) * 10) for i in range(20)]
    orders.append(build.order("done", status=OrderStatus.FILLED, updated_at=5_000))
    orders.append(build.order("elsewhere", updated_at=9_000, account="other"))
    ledger.upsert_orders(orders)

    pages = read_all(ledger, active_only=True, limit=6)
    assert [len(p) for p in pages] == [6, 6, 6, 2]
    flat = [ident for page in pages for ident in page]
    expected = sorted((o for o in orders[:20]), key=lambda o: (o.updated_at, o.ident),
                      reverse=True)
    assert flat == [o.ident for o in expected]
    assert flat[:3] == ["o19", "o18", "o17"]  # same updated_at: identity descending

    everything = [i for page in read_all(ledger, active_only=False, limit=7) for i in page]
    assert everything[0] == "done" and len(everything) == 21
    assert "elsewhere" not in everything


def test_a_page_after_the_last_order_is_empty_and_records_round_trip(ledger, build) -> None:
    order = build.order("only", updated_at=2_000)
    ledger.upsert_orders([order])
    assert ledger.orders_page(V, A, True, limit=10) == [order]
    assert ledger.orders_page(V, A, True, before=(2_000, "only"), limit=10) == []
    assert ledger.orders_page(V, A, True, before=(2_000, "zzz"), limit=10) == [order]
    assert ledger.orders_page(V, A, True, before=(2_001, ""), limit=10) == [order]


def test_a_long_page_offers_the_interpreter_lock_only_where_the_driver_does_not(
        ledger, build, monkeypatch) -> None:
    """Rows are decoded in batches, and another thread (the window's) must get the
    interpreter lock between them: Python's SQLite driver lets it go at every row it steps
    to, so a SQLite read sleeps never; PostgreSQL's reads from its own buffer holding it,
    so the read offers it (`time.sleep(0)`) after each batch."""
    import console.store.ledger as ledger_module

    orders = [build.order(f"o{i:04d}", updated_at=1_000 + i) for i in range(450)]
    ledger.upsert_orders(orders)
    import threading
    import types

    sleeps: list[float] = []
    reader = threading.get_ident()
    real_sleep = ledger_module.time.sleep

    def sleep(seconds: float) -> None:
        if threading.get_ident() == reader:
            sleeps.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(ledger_module, "time", types.SimpleNamespace(sleep=sleep))
    page = ledger.orders_page(V, A, True, limit=1_000)
    assert [o.ident for o in page] == [o.ident for o in reversed(orders)]
    batches = -(-len(orders) // ledger_module._CEDE_EVERY)
    sqlite = ledger.engine.dialect.name == "sqlite"
    assert sleeps == ([] if sqlite else [0] * batches)
