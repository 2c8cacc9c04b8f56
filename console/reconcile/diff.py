"""The diff: ledger snapshot against venue snapshot, one pass over hash maps.

`diff` returns the discrepancies, what could not be verified, and for each discrepancy the
steps that would fix it (policy comes later, in `plan`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from operator import attrgetter

from console.domain.enums import OrderRole, OrderStatus, Origin
from console.domain.ids import has_our_prefix
from console.domain.model import Balance, Fill, Order, Position
from console.domain.reconciliation import (
    Action,
    ActionKind,
    Discrepancy,
    DiscrepancyKind,
    Severity,
    evidence,
)
from console.domain.snapshot import LedgerSnapshot, VenueSnapshot
from console.domain.text import iso_utc
from console.domain.values import ZERO
from console.reconcile.brackets import bracket_pass, orphan_pass, role_of, worker_of
from console.reconcile.config import ReconcileConfig
from console.reconcile.context import Answer, Context
from console.reconcile.findings import Collector, Finding, Step
from console.reconcile.orders import (
    OrderIndex,
    action_for_status,
    agrees,
    contradicted,
    disagreeing,
    fills_differ,
    match_open,
    order_evidence,
    order_state,
    order_title,
    seen_time,
    status_differs,
    take_venue,
    unmatched_active,
    venue_key,
)

SKIP_ORDERS = ("open orders not fetched: order status, fill-quantity, unknown-order, stale, "
               "bracket and orphaned-protection checks skipped")
SKIP_POSITIONS = ("positions not fetched: position, bracket and orphaned-protection checks "
                  "skipped")
SKIP_FILLS = "fills not fetched: missing-fill check skipped"
SKIP_BALANCES = "balances not fetched: balance check skipped"

_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED})
_EXEC_ID = attrgetter("exec_id")


@dataclass(frozen=True, slots=True)
class DiffResult:
    """What disagrees, what could not be checked, and the proposed fixes.

    `tracked_orders` is |ledger-active ∪ venue-open|, the base of the hard-desync ratio.
    `findings` pairs each discrepancy with its fix, in discovery order (plus bookkeeping
    steps that fix no disagreement, with no discrepancy).
    """

    venue: str
    account: str
    taken_at: int
    discrepancies: tuple[Discrepancy, ...]
    unverified: tuple[str, ...]
    tracked_orders: int
    findings: tuple[Finding, ...] = ()
    deferred: tuple[str, ...] = ()
    """Ledger records newer than the venue snapshot: compared next run, not a failure."""


def orders_to_query(ledger: LedgerSnapshot, open_orders: Sequence[Order],
                    fills: Sequence[Fill] = ()) -> list[Order]:
    """The ledger orders to ask the venue about by id before diffing.

    Ledger-active orders absent from the venue's open list (absent is not cancelled: only
    the venue's answer says what it is), then terminal ones that fills contradict: the
    venue's fills in the window (`fills`) or the ledger's own (`ledger.fill_totals`) name
    a REJECTED order, or more than its filled quantity (see `orders.contradicted`). A
    terminal record is the ledger's last word, not the venue's: a fill re-opens it.
    """
    missing = unmatched_active(ledger.orders, open_orders)
    missing.extend(contradicted(ledger.orders, open_orders, fills, ledger.fill_totals))
    return missing


def diff(ledger: LedgerSnapshot, venue: VenueSnapshot, now: int,
         config: ReconcileConfig) -> DiffResult:
    """Compare the books. Pure: no I/O, no clock but `now`."""
    if (ledger.venue, ledger.account) != (venue.venue, venue.account):
        raise ValueError(f"ledger {ledger.venue}/{ledger.account} and venue "
                         f"{venue.venue}/{venue.account} are different books")
    ctx = Context(ledger, venue, now, config, OrderIndex(ledger.orders))
    out = Collector()
    if venue.open_orders is None:
        out.skip(SKIP_ORDERS)
        tracked = sum(1 for o in ledger.orders if o.status not in _TERMINAL)
    else:
        tracked = _order_pass(ctx, venue.open_orders, out)
        bracket_pass(ctx, out, positions_known=venue.positions is not None)
        _unknown_pass(ctx, out)
        _stale_pass(ctx, out)
        if venue.positions is not None:
            orphan_pass(ctx, out)
    if venue.fills is None:
        out.skip(SKIP_FILLS)
    else:
        _fill_pass(ctx, venue.fills, out)
    if venue.positions is None:
        out.skip(SKIP_POSITIONS)
    else:
        _position_pass(ctx, venue.positions, out)
    if venue.balances is None:
        out.skip(SKIP_BALANCES)
    else:
        _balance_pass(ctx, venue.balances, out)
    findings = tuple(out.findings)
    return DiffResult(
        venue=venue.venue, account=venue.account, taken_at=venue.taken_at,
        discrepancies=tuple(f.discrepancy for f in findings if f.discrepancy is not None),
        unverified=tuple(out.unverified), tracked_orders=tracked, findings=findings,
        deferred=tuple(out.deferred))


# -- orders ------------------------------------------------------------------------------


def _order_pass(ctx: Context, open_orders: Sequence[Order], out: Collector) -> int:
    """Match open orders to the ledger, compare the pairs, resolve the ledger-active orders
    the venue did not list. Returns the number of tracked orders."""
    taken = ctx.venue.taken_at
    matching = match_open(ctx.ledger_index, open_orders)
    ctx.matching = matching
    twins, venues = matching.twins, matching.venues
    for i in disagreeing(twins, venues):
        twin, v = twins[i], venues[i]
        if _in_flight(ctx, twin, v):
            out.defer(f"order {twin.ident}: in flight (venue {order_state(v)}); its sender "
                      "records the answer")
            continue
        if twin.updated_at > taken:
            out.defer(f"order {twin.ident}: ledger changed at "
                     f"{iso_utc(twin.updated_at)}, after the venue snapshot "
                     f"({iso_utc(taken)}); compared next run")
            continue
        _order_finding(ctx, out, twin, v, in_open_list=True)
    asked: set[str] = set()
    for twin in unmatched_active(ctx.ledger.orders, open_orders, matching=matching,
                                 ledger_vids=ctx.ledger_index.by_vid):
        asked.add(twin.ident)
        _missing_order(ctx, out, twin)
    _reopened_pass(ctx, out, asked)
    # tracked = ledger-active ∪ venue-open: the open orders that are not ledger-active
    # (unknown, or terminal in the ledger) come on top of the active count
    active = len(ctx.ledger.orders) - sum(1 for o in ctx.ledger.orders if o.status in _TERMINAL)
    matched_active = len(twins) - sum(1 for t in twins if t.status in _TERMINAL)
    return active + len(venues) + len(matching.unknown) - matched_active


def _order_finding(ctx: Context, out: Collector, twin: Order, v: Order, *,
                   in_open_list: bool, via: str = "") -> None:
    """Both sides know the order and disagree: the ledger takes the venue's facts."""
    taken = ctx.venue.taken_at
    ident = twin.ident
    title = order_title(twin)
    venue_state = order_state(v)
    if not in_open_list:
        kind = DiscrepancyKind.ORDER_MISSING_ON_VENUE
        venue_side = f"venue {venue_state} (not in open orders; by-id lookup)"
    elif status_differs(twin, v):
        kind = DiscrepancyKind.STATUS_MISMATCH
        venue_side = f"venue {venue_state}"
    elif fills_differ(twin, v):
        kind = DiscrepancyKind.FILL_QTY_MISMATCH
        venue_side = f"venue {venue_state}"
        if v.avg_price != twin.avg_price:
            venue_side += f" avg {v.avg_price}"
    else:
        kind = DiscrepancyKind.STATUS_MISMATCH  # terms (qty, price, venue id) differ
        venue_side = f"venue {order_title(v)}" + (
            f" id {v.venue_order_id}" if v.venue_order_id != twin.venue_order_id else "")
    if via:
        venue_side += f" ({via})"
    action_kind = action_for_status(v.status)
    out.add(
        Discrepancy(kind=kind, subject=ident, symbol=twin.symbol,
                    summary=f"{title}: ledger {order_state(twin)}, {venue_side}",
                    ledger=order_evidence(twin), venue=order_evidence(v, venue_side=True),
                    ledger_seen_at=twin.updated_at, venue_seen_at=taken),
        Step(Action(action_kind, subject=ident, reason=kind,
                    summary=f"{action_kind}: {title} -> {venue_state}",
                    order=take_venue(twin, v, taken), worker_id=twin.worker_id)))


def _in_flight(ctx: Context, twin: Order, venue_view: Order) -> bool:
    """Being sent right now by this session, and already live on the venue: the sender
    records the answer as it arrives. Not a disagreement."""
    return (twin.status is OrderStatus.PENDING_NEW and twin.ident in ctx.config.in_flight
            and venue_view.status not in _TERMINAL)


def _missing_order(ctx: Context, out: Collector, twin: Order) -> None:
    """A ledger-active order the open list did not show: take the by-id answer."""
    answer, queried = ctx.answer(twin)
    taken = ctx.venue.taken_at
    if answer is Answer.ANSWERED and queried is not None:
        if queried.status not in _TERMINAL:
            ctx.answered_live.append((queried, twin))
        if agrees(twin, queried):
            return  # live elsewhere (e.g. untriggered) and the ledger already knows it
        if _in_flight(ctx, twin, queried):
            out.defer(f"order {twin.ident}: in flight (venue {order_state(queried)}); "
                      "its sender records the answer")
            return
        _order_finding(ctx, out, twin, queried, in_open_list=False)
        return
    title = order_title(twin)
    if answer is Answer.IN_FLIGHT:
        age = ctx.now - (twin.created_at or twin.updated_at)
        out.skip(f"order {twin.ident}: PENDING_NEW for {age} ms, unknown to the venue yet: "
                 "in flight")
        return
    if answer is Answer.UNRESOLVED:
        out.skip(f"order {twin.ident} ({title}): not in open orders and not resolved by a "
                 "by-id lookup")
        return
    ledger_ev = order_evidence(twin)
    if answer is Answer.NEVER_REACHED:
        target = twin.evolve(status=OrderStatus.REJECTED, updated_at=max(twin.updated_at, taken))
        summary = f"{title}: ledger PENDING_NEW, venue never received it"
        out.add(
            Discrepancy(kind=DiscrepancyKind.ORDER_MISSING_ON_VENUE, subject=twin.ident,
                        summary=summary, symbol=twin.symbol, ledger=ledger_ev,
                        venue=evidence(open_orders="absent", lookup="not found"),
                        ledger_seen_at=twin.updated_at, venue_seen_at=taken),
            Step(Action(ActionKind.MARK_CANCELLED, subject=twin.ident,
                        reason=DiscrepancyKind.ORDER_MISSING_ON_VENUE,
                        summary=f"mark {title} REJECTED (never reached the venue)",
                        order=target, worker_id=twin.worker_id)))
        return
    # LOST: the ledger had it live and the venue has never heard of it. Never cancelled.
    summary = f"{title}: ledger {order_state(twin)}, venue does not know the order"
    steps = [Step(Action(ActionKind.ALERT, subject=twin.ident,
                         reason=DiscrepancyKind.ORDER_MISSING_ON_VENUE,
                         summary=f"{summary}: check it by hand", worker_id=twin.worker_id,
                         severity=Severity.CRITICAL))]
    if twin.status is not OrderStatus.UNKNOWN:
        steps.append(Step(Action(
            ActionKind.UPDATE_ORDER, subject=twin.ident,
            reason=DiscrepancyKind.ORDER_MISSING_ON_VENUE,
            summary=f"mark {title} UNKNOWN until someone verifies it",
            order=twin.evolve(status=OrderStatus.UNKNOWN, updated_at=max(twin.updated_at, taken)),
            worker_id=twin.worker_id)))
    out.add(Discrepancy(kind=DiscrepancyKind.ORDER_MISSING_ON_VENUE, subject=twin.ident,
                        summary=summary, symbol=twin.symbol, ledger=ledger_ev,
                        venue=evidence(open_orders="absent", lookup="not found"),
                        ledger_seen_at=twin.updated_at, venue_seen_at=taken), *steps)


def _reopened_pass(ctx: Context, out: Collector, asked: set[str]) -> None:
    """Terminal ledger orders the engine asked about because fills contradict them
    (`orders_to_query`): the venue's answer wins, whatever the ledger concluded (a
    REJECTED order the venue filled becomes FILLED). Only the few answers no active order
    claimed are looked at, so a run without such fills pays nothing here."""
    venue = ctx.venue
    rest = [i for i in (*venue.queried_orders, *venue.not_found) if i not in asked]
    if not rest:
        return
    taken = venue.taken_at
    index = ctx.ledger_index
    for ident in rest:
        if ident.startswith("venue:"):
            position = index.by_vid.get(ident.removeprefix("venue:"))
        else:
            position = index.by_cid.get(ident)
        if position is None:
            continue
        twin = index.orders[position]
        if twin.ident != ident or twin.status not in _TERMINAL or ctx.in_open(twin) is not None:
            continue
        queried = venue.queried_orders.get(ident)
        if queried is None:
            out.skip(f"order {ident} ({order_title(twin)}): fills name it, the ledger has it "
                     f"{order_state(twin)}, and the venue does not know it")
            continue
        if agrees(twin, queried):
            continue
        if twin.updated_at > taken:
            out.defer(f"order {ident}: ledger changed at "
                      f"{iso_utc(twin.updated_at)}, after the venue snapshot "
                      f"({iso_utc(taken)}); compared next run")
            continue
        _order_finding(ctx, out, twin, queried, in_open_list=True,
                       via="by-id lookup: fills contradict the ledger")


def _unknown_pass(ctx: Context, out: Collector) -> None:
    """Open orders the ledger has no record of: adopt, or (ours, unclaimed) cancel."""
    prefix = ctx.config.our_prefix
    taken = ctx.venue.taken_at
    for v in ctx.unknown:
        seen = seen_time(v.updated_at, taken)
        claim = ctx.claims.get(venue_key(v))
        title = order_title(v)
        if claim is not None:
            adopted = v.evolve(origin=Origin.OURS, role=claim.role, worker_id=claim.worker_id,
                               strategy_id=claim.strategy_id, updated_at=seen)
            summary = (f"{title}: not in the ledger, venue {order_state(v)}; leg "
                       f"{claim.role.value} of bracket {claim.user_id}/{claim.worker_id}")
            severity = Severity.WARNING
        elif has_our_prefix(v.client_order_id, prefix):
            summary = f"{title}: ours ({v.client_order_id}) but unknown to the ledger"
            out.add(
                Discrepancy(kind=DiscrepancyKind.UNKNOWN_OURS, subject=v.ident, summary=summary,
                            symbol=v.symbol, ledger=evidence(order="absent"),
                            venue=order_evidence(v, venue_side=True), venue_seen_at=taken),
                Step(Action(ActionKind.CANCEL_ORDER, subject=v.ident,
                            reason=DiscrepancyKind.UNKNOWN_OURS,
                            summary=f"cancel {title} (ours, left by a lost session)", order=v,
                            worker_id=worker_of(v, prefix), severity=Severity.WARNING)),
                Step(Action(ActionKind.ALERT, subject=v.ident,
                            reason=DiscrepancyKind.UNKNOWN_OURS, summary=summary,
                            severity=Severity.WARNING)))
            continue
        else:
            adopted = v.evolve(origin=Origin.ADOPTED_EXTERNAL, role=OrderRole.OTHER,
                               strategy_id="", worker_id="", updated_at=seen)
            summary = f"{title}: not placed by us, venue {order_state(v)}"
            severity = Severity.INFO
        out.add(
            Discrepancy(kind=DiscrepancyKind.ORDER_UNKNOWN_LOCALLY, subject=adopted.ident,
                        summary=summary, symbol=v.symbol, ledger=evidence(order="absent"),
                        venue=order_evidence(v, venue_side=True), venue_seen_at=taken),
            Step(Action(ActionKind.ADOPT_ORDER, subject=adopted.ident,
                        reason=DiscrepancyKind.ORDER_UNKNOWN_LOCALLY,
                        summary=f"adopt {title} as {adopted.origin.value}", order=adopted,
                        worker_id=adopted.worker_id)),
            Step(Action(ActionKind.ALERT, subject=adopted.ident,
                        reason=DiscrepancyKind.ORDER_UNKNOWN_LOCALLY, summary=summary,
                        severity=severity)))


def _stale_pass(ctx: Context, out: Collector) -> None:
    """Our resting orders past the timeout (never protection legs, never bracket legs)."""
    timeout = ctx.config.stale_order_timeout_ms
    if timeout is None:
        return
    prefix = ctx.config.our_prefix
    taken = ctx.venue.taken_at
    for v, twin in ctx.live():
        if twin.origin is not Origin.OURS or twin.role.is_protection:
            continue
        born = twin.created_at or v.created_at
        if born <= 0 or ctx.now - born <= timeout:
            continue
        key = venue_key(v)
        if key in ctx.claims or key in ctx.covered:
            continue
        if (v.reduce_only or twin.reduce_only) and role_of(twin, prefix).is_protection:
            continue
        order = take_venue(twin, v, taken)
        age_s = (ctx.now - born) // 1000
        summary = (f"{order_title(order)}: open for {age_s} s, past the "
                   f"{timeout // 1000} s timeout")
        out.add(
            Discrepancy(kind=DiscrepancyKind.STALE_ORDER, subject=twin.ident, summary=summary,
                        symbol=twin.symbol, ledger=order_evidence(twin),
                        venue=order_evidence(v, venue_side=True), ledger_seen_at=twin.updated_at,
                        venue_seen_at=taken),
            Step(Action(ActionKind.CANCEL_ORDER, subject=twin.ident,
                        reason=DiscrepancyKind.STALE_ORDER, summary=f"cancel stale {summary}",
                        order=order, worker_id=twin.worker_id, severity=Severity.WARNING)))


# -- fills -------------------------------------------------------------------------------


def _fill_pass(ctx: Context, fills: Sequence[Fill], out: Collector) -> None:
    """Every venue fill in the covered window must be in the ledger, exactly once."""
    venue = ctx.venue
    ledger = ctx.ledger
    if venue.fills_window is not None:
        low, high = venue.fills_window
    else:
        low, high = 0, None
    start = max(low, ledger.fills_from)
    have = set(map(_EXEC_ID, ledger.fills))
    taken = venue.taken_at
    # Only fills the ledger lacks need their window checked (the list is short).
    for fill in [f for f in fills if f.exec_id not in have]:
        t = fill.exec_time
        if t < start or (high is not None and t > high) or fill.exec_id in have:
            continue
        have.add(fill.exec_id)
        order = fill.order_ident
        summary = (f"{fill.symbol} {fill.side.value} {fill.qty} @ {fill.price}: fill "
                   f"{fill.exec_id} of {order} at {iso_utc(t)} is not in the ledger")
        out.add(
            Discrepancy(kind=DiscrepancyKind.MISSING_FILL, subject=fill.exec_id, summary=summary,
                        symbol=fill.symbol,
                        ledger=evidence(exec_id="absent", fills_from=ledger.fills_from),
                        venue=evidence(exec_id=fill.exec_id, order=order, side=fill.side.value,
                                       qty=fill.qty, price=fill.price, fee=fill.fee,
                                       fee_asset=fill.fee_asset or None, exec_time=t,
                                       exec_type=fill.exec_type.value),
                        venue_seen_at=taken),
            Step(Action(ActionKind.ADD_FILL, subject=fill.exec_id,
                        reason=DiscrepancyKind.MISSING_FILL,
                        summary=(f"add fill {fill.exec_id} ({fill.symbol} {fill.side.value} "
                                 f"{fill.qty} @ {fill.price})"),
                        fill=fill)))
    if start > low:
        before = sum(1 for f in fills if low <= f.exec_time < start)
        if before:
            out.skip(f"{before} venue fills between {low} and {start} not compared: the "
                     f"ledger snapshot holds fills from {start} only")


# -- positions ---------------------------------------------------------------------------


def _position_pass(ctx: Context, positions: Sequence[Position], out: Collector) -> None:
    """Venue positions are the truth; a flat position is no position."""
    cfg = ctx.config
    taken = ctx.venue.taken_at
    ledger_all = {p.key: p for p in ctx.ledger.positions}
    venue_open: dict[str, Position] = {}
    for p in positions:
        if not p.is_flat:
            venue_open.setdefault(p.key, p)
    for key, v in venue_open.items():
        mine = ledger_all.get(key)
        if mine is not None and mine.updated_at > taken:
            out.defer(f"position {key}: ledger changed after the venue snapshot; compared "
                     "next run")
            continue
        target = v if v.updated_at <= taken else _evolve_position(v, taken)
        if mine is None or mine.is_flat:
            kind = DiscrepancyKind.POSITION_MISSING_LOCALLY
            summary = f"{_pos_title(v)}: ledger flat, venue {v.size} @ {v.entry_price}"
        elif (abs(mine.size - v.size) > cfg.position_size_tolerance
              or abs(mine.entry_price - v.entry_price) > cfg.position_price_tolerance):
            kind = DiscrepancyKind.POSITION_MISMATCH
            summary = (f"{_pos_title(v)}: ledger {mine.size} @ {mine.entry_price}, "
                       f"venue {v.size} @ {v.entry_price}")
        else:
            continue
        out.add(
            Discrepancy(kind=kind, subject=key, summary=summary, symbol=v.symbol,
                        ledger=_pos_evidence(mine) if mine is not None else
                        evidence(position="absent"),
                        venue=_pos_evidence(v),
                        ledger_seen_at=mine.updated_at if mine is not None else None,
                        venue_seen_at=taken),
            Step(Action(ActionKind.UPSERT_POSITION, subject=key, reason=kind,
                        summary=f"set {_pos_title(v)} to {v.size} @ {v.entry_price}",
                        position=target)))
    for key, mine in ledger_all.items():
        if mine.is_flat or key in venue_open:
            continue
        if mine.updated_at > taken:
            out.defer(f"position {key}: ledger changed after the venue snapshot; compared "
                     "next run")
            continue
        summary = f"{_pos_title(mine)}: ledger {mine.size} @ {mine.entry_price}, venue flat"
        out.add(
            Discrepancy(kind=DiscrepancyKind.POSITION_MISSING_ON_VENUE, subject=key,
                        summary=summary, symbol=mine.symbol, ledger=_pos_evidence(mine),
                        venue=evidence(position="flat"), ledger_seen_at=mine.updated_at,
                        venue_seen_at=taken),
            Step(Action(ActionKind.CLOSE_LOCAL_POSITION, subject=key,
                        reason=DiscrepancyKind.POSITION_MISSING_ON_VENUE,
                        summary=f"remove {_pos_title(mine)} from the ledger", position=mine)))


def _evolve_position(p: Position, taken: int) -> Position:
    return replace(p, updated_at=taken)


def _pos_title(p: Position) -> str:
    return f"{p.symbol} {p.category.value} {p.position_side.value}"


def _pos_evidence(p: Position) -> tuple[tuple[str, str], ...]:
    return evidence(size=p.size, entry_price=p.entry_price, mark_price=p.mark_price,
                    unrealised_pnl=p.unrealised_pnl, updated_at=p.updated_at or None)


# -- balances ----------------------------------------------------------------------------


def _beyond(ledger_value: Decimal, venue_value: Decimal, cfg: ReconcileConfig) -> bool:
    """Mismatch only past max(absolute tolerance, relative tolerance x |venue value|)."""
    allowed = max(cfg.balance_abs_tolerance, cfg.balance_rel_tolerance * abs(venue_value))
    return abs(ledger_value - venue_value) > allowed


def _balance_pass(ctx: Context, balances: Sequence[Balance], out: Collector) -> None:
    """Total, free and locked per asset; an asset the venue does not list holds zero."""
    cfg = ctx.config
    taken = ctx.venue.taken_at
    ledger = ctx.ledger
    mine = {b.asset: b for b in ledger.balances}
    theirs: dict[str, Balance] = {}
    for b in balances:
        theirs.setdefault(b.asset, b)
    assets = list(theirs) + [a for a in mine if a not in theirs]
    for asset in assets:
        have = mine.get(asset)
        venue_b = theirs.get(asset)
        if have is not None and have.updated_at > taken:
            out.defer(f"balance {asset}: ledger changed after the venue snapshot; compared "
                     "next run")
            continue
        if venue_b is None:
            venue_b = Balance(ledger.venue, ledger.account, asset, ZERO, ZERO, ZERO, taken)
        elif venue_b.updated_at > taken:
            venue_b = Balance(venue_b.venue, venue_b.account, asset, venue_b.total,
                              venue_b.free, venue_b.locked, taken)
        l_total = have.total if have is not None else ZERO
        l_free = have.free if have is not None else ZERO
        l_locked = have.locked if have is not None else ZERO
        off = [name for name, a, b in (("total", l_total, venue_b.total),
                                       ("free", l_free, venue_b.free),
                                       ("locked", l_locked, venue_b.locked))
               if _beyond(a, b, cfg)]
        if not off:
            continue
        summary = (f"{asset}: ledger total {l_total} free {l_free} locked {l_locked}, venue "
                   f"total {venue_b.total} free {venue_b.free} locked {venue_b.locked} "
                   f"({', '.join(off)} differ)")
        out.add(
            Discrepancy(kind=DiscrepancyKind.BALANCE_MISMATCH, subject=asset, summary=summary,
                        ledger=evidence(total=l_total, free=l_free, locked=l_locked,
                                        updated_at=have.updated_at if have else None),
                        venue=evidence(total=venue_b.total, free=venue_b.free,
                                       locked=venue_b.locked,
                                       listed=None if asset in theirs else "no"),
                        ledger_seen_at=have.updated_at if have is not None else None,
                        venue_seen_at=taken),
            Step(Action(ActionKind.UPDATE_BALANCE, subject=asset,
                        reason=DiscrepancyKind.BALANCE_MISMATCH,
                        summary=f"set {asset} to total {venue_b.total} free {venue_b.free}",
                        balance=venue_b)),
            Step(Action(ActionKind.ALERT, subject=asset, reason=DiscrepancyKind.BALANCE_MISMATCH,
                        summary=summary, severity=Severity.WARNING)))
