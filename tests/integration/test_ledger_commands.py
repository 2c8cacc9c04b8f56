"""Operator commands through the ledger: a command written by another process's ledger
object is taken and carried out by the engine that holds the account's lease, its outcome
recorded and audited under the operator's name; a non-holder never takes one, and a
command for an account nobody holds stays pending (docs/architecture.md, "Operator
commands through the ledger")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from console.bootstrap import SimSession, build_sim_session
from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.domain.commands import CommandKind, CommandState, OperatorCommand
from console.engine.emergency import HALT_ACTION, RESUME_HALT_ACTION
from console.engine.order_manager import TradingHaltedError
from console.engine.session import EngineSession
from console.errors import LeaseLostError
from console.store import Ledger

PG = [pytest.param("postgres", marks=pytest.mark.postgres)]
TTL_S = 2.0


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.fixture
def sessions(ledger_url: str) -> Iterator[Callable[..., SimSession]]:
    built: list[SimSession] = []

    def build(scenario: str = "clean", **kwargs: object) -> SimSession:
        session = build_sim_session(ledger_url, scenario, reference_prices=True,
                                    pending_grace_ms=2_000, lease_ttl_s=TTL_S,
                                    **kwargs)  # type: ignore[arg-type]
        built.append(session)
        return session

    yield build
    for session in built:
        session.close()


def submit(ledger: Ledger, kind: CommandKind, *, account: str = "main",
           operator: str = "alice", **arguments: str) -> int:
    return ledger.submit_command("sim", account, kind, arguments=arguments,
                                 operator=operator, issued_at=now_ms())


async def outcome(ledger: Ledger, command_id: int, timeout_s: float = 15.0) -> OperatorCommand:
    deadline = time.monotonic() + timeout_s
    while True:
        found = await asyncio.to_thread(ledger.command, command_id)
        assert found is not None
        if found.state.finished:
            return found
        assert time.monotonic() < deadline, f"command {command_id} still {found.state}"
        await asyncio.sleep(0.02)


def engine_of(engine: EngineSession) -> str:
    assert engine.lease is not None
    return engine.lease.engine


async def limit_order(engine: EngineSession) -> Order:
    order = Order(venue="sim", account=engine.venue.account, category=Category.LINEAR,
                  symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("0.01"),
                  price=Decimal("1000"), status=OrderStatus.PENDING_NEW,
                  client_order_id=await engine.next_client_id())
    return await engine.orders.place(order)


def test_a_command_from_another_ledger_is_carried_out_by_the_holder_and_audited(
        sessions: Callable[..., SimSession], open_ledger: Callable[..., Ledger]) -> None:
    a = sessions(worker_id="a")
    console = open_ledger()  # the operator's process: its own ledger object

    async def scenario() -> OperatorCommand:
        await a.engine.start()
        runs = len(a.ledger.list_runs("sim", "main", 100))
        done = await outcome(console, submit(console, CommandKind.RECONCILE_NOW))
        assert len(a.ledger.list_runs("sim", "main", 100)) == runs + 1
        await a.engine.stop()
        return done

    done = asyncio.run(scenario())
    assert done.state is CommandState.DONE and done.result.startswith("run ")
    assert done.taken_by == engine_of(a.engine) and done.taken_epoch is not None
    assert done.done_at is not None and done.operator == "alice"
    entries = [e for e in console.audit_log(200) if e.action == "command:reconcile_now"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry.actor == "operator:alice" and (entry.venue, entry.account) == ("sim", "main")
    details = dict(entry.details)
    assert details["state"] == "done" and details["taken_by"] == engine_of(a.engine)
    assert details["command_id"] == str(done.command_id)


def test_an_approval_through_the_ledger_is_carried_out_on_the_venue(
        sessions: Callable[..., SimSession], open_ledger: Callable[..., Ledger]) -> None:
    a = sessions("crashed-session", worker_id="a")
    console = open_ledger()

    async def scenario() -> None:
        await a.engine.start()
        pending = console.pending_actions("sim", "main")
        assert len(pending) == 2  # two cancels of orders a crashed session left
        (run_id, index, planned), (keep_run, keep_index, _) = pending
        target = planned.action.order
        assert target is not None
        open_before = {o.client_order_id for o in await a.engine.venue.fetch_open_orders()}
        assert target.client_order_id in open_before
        approved = await outcome(console, submit(
            console, CommandKind.APPROVE, operator="carol", run_id=run_id, index=str(index)))
        assert approved.state is CommandState.DONE and approved.result == "applied"
        open_after = {o.client_order_id for o in await a.engine.venue.fetch_open_orders()}
        assert target.client_order_id not in open_after
        rejected = await outcome(console, submit(
            console, CommandKind.REJECT, operator="carol", run_id=keep_run,
            index=str(keep_index), reason="mine"))
        assert rejected.state is CommandState.DONE
        # the same approval again: the action is no longer pending, the engine refuses
        again = await outcome(console, submit(
            console, CommandKind.APPROVE, operator="carol", run_id=run_id, index=str(index)))
        assert again.state is CommandState.REFUSED and "not pending" in again.result
        assert console.pending_actions("sim", "main") == []
        await a.engine.stop()

    asyncio.run(scenario())
    actors = {(e.actor, e.action) for e in console.audit_log(200)}
    assert ("operator:carol", "command:approve") in actors
    assert ("operator:carol", "command:reject") in actors
    # the executor's own entries carry the operator's name too
    assert any(actor == "operator:carol" and not action.startswith("command:")
               for actor, action in actors)


def test_a_halt_a_resume_and_an_emergency_stop_through_the_ledger(
        sessions: Callable[..., SimSession], open_ledger: Callable[..., Ledger]) -> None:
    a = sessions(worker_id="a")
    console = open_ledger()

    async def scenario() -> None:
        await a.engine.start()
        resting = await limit_order(a.engine)
        assert resting.status is OrderStatus.NEW
        halted = await outcome(console, submit(console, CommandKind.HALT, reason="news"))
        assert halted.state is CommandState.DONE and halted.result == "halted"
        assert a.engine.halted and a.engine.risk.halted_by == "operator:alice"
        with pytest.raises(TradingHaltedError):
            await limit_order(a.engine)
        # the halt stopped new risk only: the resting order is still there
        assert resting.client_order_id in {
            o.client_order_id for o in await a.engine.venue.fetch_open_orders()}
        resumed = await outcome(console, submit(console, CommandKind.RESUME, operator="bob"))
        assert resumed.state is CommandState.DONE and "halt cleared" in resumed.result
        assert not a.engine.halted
        stopped = await outcome(console, submit(console, CommandKind.EMERGENCY_STOP,
                                                operator="bob", flatten="yes"))
        assert stopped.state is CommandState.DONE, stopped.result
        assert a.engine.halted and a.engine.risk.halted_by == "emergency:bob"
        assert await a.engine.venue.fetch_open_orders() == []
        await a.engine.stop()

    asyncio.run(scenario())
    trail = [(e.actor, e.action) for e in reversed(console.audit_log(300))
             if e.actor.startswith(("operator:", "emergency:"))]
    assert ("operator:alice", HALT_ACTION) in trail
    assert ("operator:bob", RESUME_HALT_ACTION) in trail
    assert ("emergency:bob", HALT_ACTION) in trail
    kinds = [action for actor, action in trail if action.startswith("command:")]
    assert kinds == ["command:halt", "command:resume", "command:emergency_stop"]


def test_a_command_for_an_account_nobody_holds_stays_pending_until_withdrawn(
        sessions: Callable[..., SimSession], open_ledger: Callable[..., Ledger]) -> None:
    a = sessions(worker_id="a")
    idle = sessions(worker_id="b", account="spare")  # built, never started
    console = open_ledger()

    async def scenario() -> int:
        await a.engine.start()
        ghost = submit(console, CommandKind.HALT, account="spare")
        mine = await outcome(console, submit(console, CommandKind.RECONCILE_NOW))
        assert mine.state is CommandState.DONE
        await asyncio.sleep(4 * (a.engine.commands.poll_s if a.engine.commands else 0.25))
        await a.engine.stop()
        return ghost

    ghost = asyncio.run(scenario())
    found = console.command(ghost)
    assert found is not None and found.state is CommandState.PENDING and found.taken_by == ""
    assert not idle.engine.halted
    assert console.withdraw_command(ghost, now_ms(), "nobody took it")
    found = console.command(ghost)
    assert found is not None and found.state is CommandState.REFUSED
    assert not console.withdraw_command(ghost, now_ms(), "again")


@pytest.mark.parametrize("backend", PG)
def test_a_non_holder_never_takes_a_command(
        sessions: Callable[..., SimSession], open_ledger: Callable[..., Ledger]) -> None:
    a = sessions(worker_id="a")
    b = sessions(worker_id="b", exchange=a.exchange)
    console = open_ledger()

    async def scenario() -> None:
        await a.engine.start()
        watching = asyncio.create_task(b.engine.start())
        deadline = time.monotonic() + 10
        while b.engine.lease is None or b.engine.lease.status().holder is None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        ids = [submit(console, CommandKind.RECONCILE_NOW) for _ in range(5)]
        done = [await outcome(console, i) for i in ids]
        assert {d.taken_by for d in done} == {engine_of(a.engine)}
        assert b.engine.commands is not None and b.engine.commands.executed == 0
        # the ledger itself refuses a take by an engine that is not the holder
        pending = console.command(submit(console, CommandKind.HALT, account="elsewhere"))
        assert pending is not None
        lease = console.lease("sim", "main")
        assert lease is not None
        with pytest.raises(LeaseLostError):
            await asyncio.to_thread(b.ledger.take_command, pending, engine_of(b.engine),
                                    lease.epoch)
        await a.engine.stop()
        await watching  # b takes over and now carries out what comes
        taken = await outcome(console, submit(console, CommandKind.RECONCILE_NOW))
        assert taken.taken_by == engine_of(b.engine)
        assert b.engine.commands.executed == 1
        await b.engine.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("backend", PG)
def test_two_engines_on_two_accounts_each_carry_out_only_their_own_commands(
        sessions: Callable[..., SimSession], open_ledger: Callable[..., Ledger]) -> None:
    main = sessions(worker_id="a")
    spare = sessions(worker_id="b", account="spare")
    console = open_ledger()

    async def scenario() -> None:
        await main.engine.start()
        await spare.engine.start()
        halt_spare = submit(console, CommandKind.HALT, account="spare", operator="dana")
        sync_main = submit(console, CommandKind.RECONCILE_NOW, operator="dana")
        done_spare = await outcome(console, halt_spare)
        done_main = await outcome(console, sync_main)
        assert done_spare.taken_by == engine_of(spare.engine)
        assert done_main.taken_by == engine_of(main.engine)
        assert spare.engine.halted and not main.engine.halted
        # an emergency stop for each: both halt within 2 s
        t0 = time.monotonic()
        stops = [submit(console, CommandKind.EMERGENCY_STOP, account=account,
                        operator="dana") for account in ("main", "spare")]
        while not (main.engine.halted and spare.engine.halted):
            assert time.monotonic() - t0 < 2.0, "both engines halted within 2 s"
            await asyncio.sleep(0.01)
        for command_id in stops:
            assert (await outcome(console, command_id)).state is CommandState.DONE
        await main.engine.stop()
        await spare.engine.stop()

    asyncio.run(scenario())
    for account, engine in (("main", main.engine), ("spare", spare.engine)):
        commands = console.commands("sim", account)
        assert commands and {c.taken_by for c in commands} == {engine_of(engine)}
