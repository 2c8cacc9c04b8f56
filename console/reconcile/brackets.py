"""Saved brackets against the venue (seed 003's cold-start outcomes, on every run), and
protection orders that guard nothing.

Each `RunnerState` with a bracket is resolved leg by leg (entry, stop-loss, take-profit):
first by the saved venue order id, then the saved client id, then our label
(``{prefix}_{strategy}_{worker}_{role}``), then our client-id format's worker and role
letter (the stand-in for Deribit's OCO ref, which `Order` does not carry). Only orders of
the runner's own worker qualify for the fuzzy steps, so two workers on one account never
touch each other's orders. A leg that the data cannot settle (asked about, no answer)
makes the whole bracket "not verified": nothing is proposed on half a picture.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Container
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum

from console.domain.enums import (
    Category,
    OrderRole,
    OrderStatus,
    OrderType,
    Origin,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.domain.ids import bracket_label, parse_client_id, to_base36
from console.domain.model import BracketState, Order, RunnerState
from console.domain.reconciliation import (
    Action,
    ActionKind,
    Discrepancy,
    DiscrepancyKind,
    Evidence,
    Severity,
    evidence,
)
from console.domain.values import ZERO, DomainValueError
from console.reconcile.context import Answer, Claim, Context
from console.reconcile.findings import Collector, Step
from console.reconcile.orders import order_title, take_venue, venue_key

_TOKEN = re.compile(r"^[A-Za-z0-9]{1,8}$")
_ROLE_CODE = {OrderRole.ENTRY: "e", OrderRole.STOP_LOSS: "s", OrderRole.TAKE_PROFIT: "t"}
_ROLE_NAME = {OrderRole.ENTRY: "entry", OrderRole.STOP_LOSS: "stop-loss",
              OrderRole.TAKE_PROFIT: "take-profit"}
# Client ids minted here use a counter in [36**6, 36**7): far above any persisted counter,
# so they cannot collide with ids from ClientOrderIdGenerator.
_RESERVED = 36 ** 6
_SPAN = 36 ** 7 - 36 ** 6

Candidate = tuple[Order, Order | None]


class LegState(Enum):
    LIVE = "live"
    GONE = "gone"
    UNRESOLVED = "unresolved"


class EntryState(Enum):
    OPEN = "open"
    DONE = "done"
    UNRESOLVED = "unresolved"


@dataclass(frozen=True, slots=True)
class Leg:
    role: OrderRole
    state: LegState
    venue: Order | None = None  # the venue's live order
    ledger: Order | None = None  # its ledger twin, if any
    note: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    state: EntryState
    filled: Decimal = ZERO
    venue: Order | None = None  # the venue's view (open or answered)
    ledger: Order | None = None
    note: str = ""


def worker_of(order: Order, prefix: str) -> str:
    """The worker an order belongs to: the ledger's word, else our client-id format's."""
    if order.worker_id:
        return order.worker_id
    parsed = parse_client_id(order.client_order_id) if order.client_order_id else None
    if parsed is not None and parsed.prefix == prefix:
        return parsed.worker
    return ""


def role_of(order: Order, prefix: str) -> OrderRole:
    """The ledger's role, else the role letter of our client id."""
    if order.role is not OrderRole.OTHER:
        return order.role
    parsed = parse_client_id(order.client_order_id) if order.client_order_id else None
    if parsed is not None and parsed.prefix == prefix:
        return parsed.role
    return OrderRole.OTHER


class _Book:
    """Per-run lookups that only brackets need, built once over the bracket instruments."""

    def __init__(self, ctx: Context, instruments: set[tuple[Category, str]]) -> None:
        self._ctx = ctx
        # Symbols first (a str set): building an enum-and-str tuple per order costs more.
        self._symbols = {symbol for _, symbol in instruments}
        self._instruments = instruments
        self._candidates: dict[tuple[Category, str], list[Candidate]] | None = None
        self._ledger_legs: dict[tuple[str, OrderRole, Category, str], list[Order]] | None = None

    @property
    def candidates(self) -> dict[tuple[Category, str], list[Candidate]]:
        """Live venue orders on the bracket instruments, with their ledger twins; built
        only when a leg is not found under its saved ids."""
        if self._candidates is None:
            ctx, symbols = self._ctx, self._symbols
            matching = ctx.matching
            pairs: list[Candidate] = [
                (v, twin) for v, twin in zip(matching.venues, matching.twins, strict=True)
                if v.symbol in symbols]
            pairs.extend(pair for pair in ctx.answered_live if pair[0].symbol in symbols)
            pairs.extend((v, None) for v in ctx.unknown if v.symbol in symbols)
            table: dict[tuple[Category, str], list[Candidate]] = {}
            for venue_order, twin in pairs:
                if (venue_order.category, venue_order.symbol) in self._instruments:
                    table.setdefault((venue_order.category, venue_order.symbol),
                                     []).append((venue_order, twin))
            self._candidates = table
        return self._candidates

    @property
    def ledger_legs(self) -> dict[tuple[str, OrderRole, Category, str], list[Order]]:
        """Our active ledger orders on the bracket instruments, by (worker, role,
        category, symbol); built only when a leg is not among the open orders."""
        if self._ledger_legs is None:
            prefix = self._ctx.config.our_prefix
            table: dict[tuple[str, OrderRole, Category, str], list[Order]] = {}
            for order in self._ctx.ledger.orders:
                if (order.symbol in self._symbols and order.is_active
                        and order.origin is Origin.OURS
                        and (order.category, order.symbol) in self._instruments):
                    key = (worker_of(order, prefix), role_of(order, prefix), order.category,
                           order.symbol)
                    table.setdefault(key, []).append(order)
            self._ledger_legs = table
        return self._ledger_legs


def bracket_pass(ctx: Context, out: Collector, *, positions_known: bool) -> None:
    """Resolve every saved bracket; claim its live legs; propose outcomes when positions
    are known (claims are made even without them, so a live stop-loss the ledger lost is
    never cancelled as an unknown order)."""
    runners = [r for r in ctx.ledger.runner_states
               if r.bracket is not None and r.venue == ctx.ledger.venue
               and r.account == ctx.ledger.account]
    if not runners:
        return
    book = _Book(ctx, {(r.bracket.category, r.bracket.symbol) for r in runners if r.bracket})
    for runner in runners:
        bracket = runner.bracket
        assert bracket is not None
        entry = _resolve_entry(ctx, book, runner, bracket)
        legs = [_resolve_protection(ctx, book, runner, bracket, role)
                for role in (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)
                if _expects(bracket, role)]
        _claim(ctx, runner, bracket, entry, legs)
        if not positions_known:
            continue  # reported once by diff(): brackets need positions
        _outcome(ctx, out, runner, bracket, entry=entry, legs=legs)


def _expects(bracket: BracketState, role: OrderRole) -> bool:
    if role is OrderRole.STOP_LOSS:
        return bool(bracket.sl_client_id or bracket.sl_order_id or bracket.stop_price is not None)
    return bool(bracket.tp_client_id or bracket.tp_order_id
                or bracket.take_profit_price is not None)


def _saved_ids(bracket: BracketState, role: OrderRole) -> tuple[str, str]:
    if role is OrderRole.ENTRY:
        return bracket.entry_order_id, bracket.entry_client_id
    if role is OrderRole.STOP_LOSS:
        return bracket.sl_order_id, bracket.sl_client_id
    return bracket.tp_order_id, bracket.tp_client_id


def _label(ctx: Context, runner: RunnerState, bracket: BracketState, role: OrderRole) -> str:
    try:
        return bracket_label(ctx.config.our_prefix, bracket.strategy_id, runner.worker_id, role)
    except DomainValueError:
        return ""  # strategy or worker not label-safe: that matching step does not apply


def _match_open(ctx: Context, book: _Book, runner: RunnerState, bracket: BracketState,
                role: OrderRole, *, side: Side, fuzzy: bool) -> Candidate | None:
    """The leg among the venue's live orders: saved ids, then label, then role letter."""
    saved_vid, saved_cid = _saved_ids(bracket, role)
    hit = _exact_open(ctx, saved_vid, saved_cid)
    if hit is not None or not fuzzy:
        return hit
    candidates = book.candidates.get((bracket.category, bracket.symbol), ())
    label = _label(ctx, runner, bracket, role)
    prefix = ctx.config.our_prefix
    best: tuple[int, int, Candidate] | None = None
    for venue_order, twin in candidates:
        if venue_order.side is not side or venue_key(venue_order) in ctx.claims:
            continue
        if label and venue_order.label == label:
            rank = 2
        elif twin is not None and twin.origin is Origin.OURS:
            if not (worker_of(twin, prefix) == runner.worker_id
                    and role_of(twin, prefix) is role):
                continue
            rank = 1
        else:
            parsed = parse_client_id(venue_order.client_order_id)
            if not (parsed is not None and parsed.prefix == prefix
                    and parsed.worker == runner.worker_id and parsed.role is role):
                continue
            rank = 1
        score = (rank, venue_order.created_at, (venue_order, twin))
        if best is None or score[:2] > best[:2]:
            best = score
    return best[2] if best is not None else None


def _exact_open(ctx: Context, saved_vid: str, saved_cid: str) -> Candidate | None:
    """The open order under a leg's saved ids: venue id first, then client id (only for
    an open order without a venue id, or when no venue id was saved)."""
    matching = ctx.matching
    if saved_vid and saved_vid in matching.open_vids:
        twin = ctx.ledger_index.lookup(saved_vid, "")
        live = ctx.in_open(twin) if twin is not None else None
        if twin is not None and live is not None:
            return live, twin
        for venue_order in ctx.unknown:
            if venue_order.venue_order_id == saved_vid:
                return venue_order, None
    if saved_cid and (not saved_vid or matching.vidless):
        twin = ctx.ledger_index.lookup("", saved_cid)
        live = ctx.in_open(twin) if twin is not None else None
        if twin is not None and live is not None and not (
                saved_vid and live.venue_order_id and live.venue_order_id != saved_vid):
            return live, twin
        for venue_order in ctx.unknown:
            if venue_order.client_order_id == saved_cid and not (
                    saved_vid and venue_order.venue_order_id):
                return venue_order, None
    return None


def _resolve_entry(ctx: Context, book: _Book, runner: RunnerState,
                   bracket: BracketState) -> Entry:
    hit = _match_open(ctx, book, runner, bracket, OrderRole.ENTRY, side=bracket.side,
                      fuzzy=False)
    if hit is not None:
        return Entry(EntryState.OPEN, hit[0].filled_qty, hit[0], hit[1])
    twin = ctx.ledger_index.lookup(bracket.entry_order_id, bracket.entry_client_id)
    if twin is None:
        # The ledger never recorded the entry: look for it by label / role letter, else
        # trust the saved state (seed 003: "entry not found, likely filled").
        hit = _match_open(ctx, book, runner, bracket, OrderRole.ENTRY, side=bracket.side,
                          fuzzy=True)
        if hit is not None:
            return Entry(EntryState.OPEN, hit[0].filled_qty, hit[0], hit[1])
        return Entry(EntryState.DONE, bracket.filled_size,
                     note="entry not in the ledger nor open; saved fill "
                          f"{bracket.filled_size}")
    live = ctx.in_open(twin)
    if live is not None:  # open under ids other than the saved ones
        return Entry(EntryState.OPEN, live.filled_qty, live, twin)
    if not twin.is_active:
        return Entry(EntryState.DONE, twin.filled_qty, None, twin)
    answer, queried = ctx.answer(twin)
    if answer is Answer.ANSWERED and queried is not None:
        if queried.is_active:
            return Entry(EntryState.OPEN, queried.filled_qty, queried, twin)
        return Entry(EntryState.DONE, queried.filled_qty, queried, twin)
    if answer is Answer.NEVER_REACHED:
        return Entry(EntryState.DONE, ZERO, None, twin, note="entry never reached the venue")
    return Entry(EntryState.UNRESOLVED, ledger=twin,
                 note=f"entry {twin.ident} {answer.value.replace('_', ' ')}")


def _resolve_protection(ctx: Context, book: _Book, runner: RunnerState,
                        bracket: BracketState, role: OrderRole) -> Leg:
    hit = _match_open(ctx, book, runner, bracket, role, side=bracket.side.opposite,
                      fuzzy=True)
    if hit is not None:
        return Leg(role, LegState.LIVE, hit[0], hit[1])
    saved_vid, saved_cid = _saved_ids(bracket, role)
    twins: list[Order] = []
    saved = ctx.ledger_index.lookup(saved_vid, saved_cid)
    if saved is not None:
        twins.append(saved)
    twins.extend(o for o in book.ledger_legs.get(
        (runner.worker_id, role, bracket.category, bracket.symbol), ()) if o is not saved)
    unresolved = ""
    best: Leg | None = None
    for twin in twins:
        if not twin.is_active or ctx.in_open(twin) is not None:
            continue
        answer, queried = ctx.answer(twin)
        if answer is Answer.ANSWERED and queried is not None:
            if queried.is_active and (best is None or best.venue is None
                                      or queried.created_at > best.venue.created_at):
                best = Leg(role, LegState.LIVE, queried, twin)
        elif answer in (Answer.IN_FLIGHT, Answer.UNRESOLVED):
            unresolved = f"{_ROLE_NAME[role]} {twin.ident} {answer.value.replace('_', ' ')}"
    if best is not None:
        return best
    if unresolved:
        return Leg(role, LegState.UNRESOLVED, note=unresolved)
    return Leg(role, LegState.GONE, ledger=saved)


def _claim(ctx: Context, runner: RunnerState, bracket: BracketState, entry: Entry,
           legs: list[Leg]) -> None:
    found: list[tuple[Order | None, OrderRole]] = [(entry.venue, OrderRole.ENTRY)]
    found.extend((leg.venue, leg.role) for leg in legs)
    for venue_order, role in found:
        if venue_order is not None:
            ctx.claims.setdefault(venue_key(venue_order), Claim(
                runner.user_id, runner.worker_id, bracket.strategy_id, role))


# -- outcomes ----------------------------------------------------------------------------


def _outcome(ctx: Context, out: Collector, runner: RunnerState, bracket: BracketState, *,
             entry: Entry, legs: list[Leg]) -> None:
    subject = f"{runner.user_id}/{runner.worker_id}"
    unresolved = [entry.note] if entry.state is EntryState.UNRESOLVED else []
    unresolved += [leg.note for leg in legs if leg.state is LegState.UNRESOLVED]
    if unresolved:
        out.skip(f"bracket {subject} {bracket.symbol}: {'; '.join(unresolved)}; "
                 "bracket checks skipped")
        return
    position = ctx.position_on_side(bracket.category, bracket.symbol, bracket.side)
    live = [leg for leg in legs if leg.state is LegState.LIVE]
    report = _Report(ctx, runner, bracket, entry=entry, legs=legs,
                     position_size=position.size if position else None)

    filled = entry.filled
    entry_open = entry.state is EntryState.OPEN
    steps: list[Step]
    worker_gone = (runner.user_id, runner.worker_id) in ctx.config.cold_start_workers or (
        ctx.now - runner.updated_at > ctx.config.worker_idle_ms)
    if entry_open and not worker_gone:
        # A running worker's entry waits to fill; once part of it has, the filled part
        # must be protected like any position (checked below).
        if filled == 0:
            return
    elif entry_open:
        assert entry.venue is not None
        if filled == 0:
            steps = [_cancel(ctx, entry.venue, entry.ledger, runner,
                             DiscrepancyKind.BRACKET_ENTRY_NOT_FILLED, why="entry not filled")]
            steps += [_cancel(ctx, leg.venue, leg.ledger, runner,
                              DiscrepancyKind.BRACKET_ENTRY_NOT_FILLED, why="entry not filled")
                      for leg in live if leg.venue is not None]
            steps.append(_clear(runner, DiscrepancyKind.BRACKET_ENTRY_NOT_FILLED,
                                "entry not filled: the bracket is void", follows=True))
            out.add(report.discrepancy(DiscrepancyKind.BRACKET_ENTRY_NOT_FILLED,
                                       "entry still open, nothing filled"), *steps)
            return
        out.add(report.discrepancy(
            DiscrepancyKind.BRACKET_ENTRY_NOT_FILLED,
            f"entry partially filled ({filled} of {entry.venue.qty}), rest still open"),
            _cancel(ctx, entry.venue, entry.ledger, runner,
                    DiscrepancyKind.BRACKET_ENTRY_NOT_FILLED,
                    why=f"cancel the unfilled rest of the entry ({filled} filled)"))
    elif filled == 0:
        steps = [_cancel(ctx, leg.venue, leg.ledger, runner,
                         DiscrepancyKind.BRACKET_ENTRY_NOT_FILLED,
                         why="entry ended without a fill")
                 for leg in live if leg.venue is not None]
        steps.append(_clear(runner, DiscrepancyKind.BRACKET_ENTRY_NOT_FILLED,
                            "entry ended without a fill", follows=position is not None))
        out.add(report.discrepancy(DiscrepancyKind.BRACKET_ENTRY_NOT_FILLED,
                                   entry.note or "entry ended without a fill"), *steps)
        return

    if position is None:
        steps = [_cancel(ctx, leg.venue, leg.ledger, runner,
                         DiscrepancyKind.BRACKET_CLOSED_OFFLINE, why="position closed")
                 for leg in live if leg.venue is not None]
        # The position is gone whatever happens to the cancels; only a still-open entry
        # keeps the bracket alive until its cancel is allowed.
        steps.append(_clear(runner, DiscrepancyKind.BRACKET_CLOSED_OFFLINE,
                            "position closed while away", follows=entry_open))
        out.add(report.discrepancy(DiscrepancyKind.BRACKET_CLOSED_OFFLINE,
                                   f"entry filled {filled}, venue position flat"), *steps)
        return

    resolved = _resolved(bracket, entry, legs, filled)
    missing = [leg for leg in legs if leg.state is not LegState.LIVE]
    if missing:
        steps = []
        names = ", ".join(_ROLE_NAME[leg.role] for leg in missing)
        text = f"position {position.size} open without {names}"
        for leg in missing:
            order = _protection_order(ctx, runner, bracket, leg.role, filled)
            if order is None:
                text += f"; no saved {_ROLE_NAME[leg.role]} price: place it by hand"
                continue
            steps.append(Step(Action(
                ActionKind.PLACE_PROTECTION, subject=order.ident,
                reason=DiscrepancyKind.BRACKET_MISSING_PROTECTION,
                summary=f"place {_ROLE_NAME[leg.role]} {order_title(order)} reduce-only",
                order=order, user_id=runner.user_id, worker_id=runner.worker_id,
                severity=Severity.CRITICAL)))
        steps.insert(0, Step(Action(
            ActionKind.ALERT, subject=subject, reason=DiscrepancyKind.BRACKET_MISSING_PROTECTION,
            summary=f"{bracket.symbol}: {text}", user_id=runner.user_id,
            worker_id=runner.worker_id, severity=Severity.CRITICAL)))
        if resolved != bracket:
            steps.append(_set_bracket(ActionKind.UPDATE_BRACKET, runner, resolved,
                                      DiscrepancyKind.BRACKET_MISSING_PROTECTION))
        out.add(report.discrepancy(DiscrepancyKind.BRACKET_MISSING_PROTECTION, text), *steps)
    elif resolved != bracket:
        kind = ActionKind.UPDATE_BRACKET if entry_open else ActionKind.RESTORE_BRACKET
        out.add(None, _set_bracket(kind, runner, resolved, None))


def _resolved(bracket: BracketState, entry: Entry, legs: list[Leg],
              filled: Decimal) -> BracketState:
    """The saved bracket with the ids the venue actually shows and the filled size."""
    changes: dict[str, object] = {"filled_size": filled}
    source = entry.venue or entry.ledger
    if source is not None and source.venue_order_id:
        changes["entry_order_id"] = source.venue_order_id
    for leg in legs:
        if leg.state is LegState.LIVE and leg.venue is not None:
            name = "sl" if leg.role is OrderRole.STOP_LOSS else "tp"
            vid = leg.venue.venue_order_id or (leg.ledger.venue_order_id if leg.ledger else "")
            cid = (leg.ledger.client_order_id if leg.ledger else "") or \
                leg.venue.client_order_id
            if vid:
                changes[f"{name}_order_id"] = vid
            if cid:
                changes[f"{name}_client_id"] = cid
    return replace(bracket, **changes)  # type: ignore[arg-type]


def _cancel(ctx: Context, venue_order: Order | None, twin: Order | None, runner: RunnerState,
            reason: DiscrepancyKind, *, why: str) -> Step:
    assert venue_order is not None
    ctx.covered.add(venue_key(venue_order))
    order = take_venue(twin, venue_order, ctx.venue.taken_at) if twin is not None \
        else venue_order
    return Step(Action(ActionKind.CANCEL_ORDER, subject=order.ident, reason=reason,
                       summary=f"cancel {order_title(order)} ({why})", order=order,
                       user_id=runner.user_id, worker_id=runner.worker_id,
                       severity=Severity.WARNING))


def _clear(runner: RunnerState, reason: DiscrepancyKind, why: str, *, follows: bool) -> Step:
    return Step(Action(ActionKind.CLEAR_BRACKET, subject=f"{runner.user_id}/{runner.worker_id}",
                       reason=reason, summary=f"clear the saved bracket ({why})",
                       user_id=runner.user_id, worker_id=runner.worker_id), follows_venue=follows)


def _set_bracket(kind: ActionKind, runner: RunnerState, bracket: BracketState,
                 reason: DiscrepancyKind | None) -> Step:
    verb = "restore" if kind is ActionKind.RESTORE_BRACKET else "update"
    return Step(Action(kind, subject=f"{runner.user_id}/{runner.worker_id}", reason=reason,
                       summary=f"{verb} the saved bracket {bracket.symbol} with the ids the "
                               f"venue shows (filled {bracket.filled_size})",
                       bracket=bracket, user_id=runner.user_id, worker_id=runner.worker_id))


def mint_protection_id(prefix: str, worker: str, role: OrderRole, *, at: int, seed: str,
                       taken: Container[str]) -> str:
    """A client id for a protection order, stable for one bracket leg across runs.

    Approving the same proposal from two runs then sends one id twice, and the venue
    refuses the duplicate instead of placing two stops. `taken` (the ledger's client ids)
    moves to the next id once an earlier one has been used and ended.
    """
    token = worker if _TOKEN.match(worker) else "x" + to_base36(zlib.crc32(worker.encode()))[:7]
    code = _ROLE_CODE[role]
    attempt = 0
    while True:
        digest = zlib.crc32(f"{seed}|{code}|{attempt}".encode())
        value = "-".join((prefix, token, code, to_base36(at),
                          to_base36(_RESERVED + digest % _SPAN)))
        if value not in taken:
            return value
        attempt += 1


def _protection_order(ctx: Context, runner: RunnerState, bracket: BracketState,
                      role: OrderRole, qty: Decimal) -> Order | None:
    """The reduce-only conditional order that re-arms a missing leg, sized to the fill."""
    trigger = bracket.stop_price if role is OrderRole.STOP_LOSS else bracket.take_profit_price
    if trigger is None or qty <= 0:
        return None
    long = bracket.side is Side.BUY
    falls = long if role is OrderRole.STOP_LOSS else not long
    taken_at = ctx.venue.taken_at
    client_id = mint_protection_id(ctx.config.our_prefix, runner.worker_id, role,
                                   at=bracket.opened_at or taken_at,
                                   seed=bracket.entry_client_id, taken=ctx.ledger_index.by_cid)
    return Order(
        venue=ctx.ledger.venue, account=ctx.ledger.account, category=bracket.category,
        symbol=bracket.symbol, side=bracket.side.opposite, type=OrderType.MARKET, qty=qty,
        status=OrderStatus.PENDING_NEW, client_order_id=client_id, trigger_price=trigger,
        trigger_direction=TriggerDirection.FALL if falls else TriggerDirection.RISE,
        reduce_only=True, time_in_force=TimeInForce.GTC, strategy_id=bracket.strategy_id,
        worker_id=runner.worker_id, role=role, origin=Origin.OURS,
        label=_label(ctx, runner, bracket, role), created_at=taken_at, updated_at=taken_at)


class _Report:
    """Evidence and summary for one bracket's discrepancy."""

    def __init__(self, ctx: Context, runner: RunnerState, bracket: BracketState, *,
                 entry: Entry, legs: list[Leg], position_size: Decimal | None) -> None:
        self.ctx = ctx
        self.runner = runner
        self.bracket = bracket
        self.legs = legs
        self.entry = entry
        self.position_size = position_size

    def _ledger(self) -> Evidence:
        b = self.bracket
        return evidence(
            strategy_id=b.strategy_id, side=b.side.value, size=b.size, filled_size=b.filled_size,
            entry=b.entry_client_id, entry_order_id=b.entry_order_id or None,
            sl=b.sl_client_id or b.sl_order_id or None,
            tp=b.tp_client_id or b.tp_order_id or None, stop_price=b.stop_price,
            take_profit_price=b.take_profit_price, opened_at=b.opened_at or None)

    def _venue(self) -> Evidence:
        entry = self.entry
        fields: dict[str, object] = {
            "entry": entry.state.value if entry.venue is None
            else f"{entry.venue.status.value} {entry.venue.filled_qty}",
            "entry_filled": entry.filled,
            "position": "flat" if self.position_size is None else self.position_size,
        }
        for leg in self.legs:
            name = "sl" if leg.role is OrderRole.STOP_LOSS else "tp"
            fields[name] = (f"live {leg.venue.venue_order_id or leg.venue.client_order_id}"
                            if leg.state is LegState.LIVE and leg.venue is not None
                            else leg.state.value)
        return evidence(**fields)

    def discrepancy(self, kind: DiscrepancyKind, text: str) -> Discrepancy:
        b = self.bracket
        direction = "long" if b.side is Side.BUY else "short"
        return Discrepancy(
            kind=kind, subject=f"{self.runner.user_id}/{self.runner.worker_id}",
            summary=f"{b.symbol} {direction} {b.size} ({self.runner.user_id}/"
                    f"{self.runner.worker_id}): {text}",
            symbol=b.symbol, ledger=self._ledger(), venue=self._venue(),
            ledger_seen_at=self.runner.updated_at or None,
            venue_seen_at=self.ctx.venue.taken_at)


# -- orphaned protection -----------------------------------------------------------------


def orphan_pass(ctx: Context, out: Collector) -> None:
    """Our protection orders on a flat instrument with no live entry of their worker."""
    prefix = ctx.config.our_prefix
    entries: set[tuple[str, Category, str]] | None = None
    stop, take = OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT
    # symbol -> categories with a non-flat position; `in` on a tuple of enum members is
    # an identity test (a set would hash the enum in Python, per order)
    open_categories: dict[str, tuple[Category, ...]] = {}
    for p in ctx.venue.positions or ():
        if not p.is_flat:
            open_categories[p.symbol] = (*open_categories.get(p.symbol, ()), p.category)
    for venue_order, twin in ctx.live():
        role = twin.role
        if not (role is stop or role is take or venue_order.reduce_only or twin.reduce_only):
            continue
        categories = open_categories.get(venue_order.symbol)
        if categories is not None and venue_order.category in categories:
            continue
        if not (role is stop or role is take) and not role_of(twin, prefix).is_protection:
            continue
        if twin.origin is not Origin.OURS:
            continue
        key = venue_key(venue_order)
        if key in ctx.covered or key in ctx.claims:
            continue
        worker = worker_of(twin, prefix)
        if entries is None:
            entries = _live_entries(ctx)
        if (worker, venue_order.category, venue_order.symbol) in entries:
            continue
        order = take_venue(twin, venue_order, ctx.venue.taken_at)
        ctx.covered.add(key)
        text = (f"{order_title(order)}: {role_of(twin, prefix).value} order of worker "
                f"{worker or '?'} guards a flat position and no entry is live")
        out.add(Discrepancy(
            kind=DiscrepancyKind.ORPHANED_PROTECTION, subject=order.ident, summary=text,
            symbol=order.symbol,
            ledger=evidence(role=twin.role.value, worker_id=worker or None,
                            status=twin.status.value, reduce_only=twin.reduce_only),
            venue=evidence(status=venue_order.status.value, position="flat",
                           venue_order_id=venue_order.venue_order_id or None),
            ledger_seen_at=twin.updated_at or None, venue_seen_at=ctx.venue.taken_at),
            Step(Action(ActionKind.CANCEL_ORDER, subject=order.ident,
                        reason=DiscrepancyKind.ORPHANED_PROTECTION,
                        summary=f"cancel orphaned {order_title(order)}", order=order,
                        worker_id=worker, severity=Severity.WARNING)))


def _live_entries(ctx: Context) -> set[tuple[str, Category, str]]:
    """(worker, category, symbol) of entries that are, or may still be, live."""
    prefix = ctx.config.our_prefix
    found: set[tuple[str, Category, str]] = set()
    for venue_order, twin in ctx.live():
        if role_of(twin, prefix) is OrderRole.ENTRY:
            found.add((worker_of(twin, prefix), venue_order.category, venue_order.symbol))
    for venue_order in ctx.unknown:
        if role_of(venue_order, prefix) is OrderRole.ENTRY:
            found.add((worker_of(venue_order, prefix), venue_order.category, venue_order.symbol))
    for order in ctx.ledger.orders:
        if order.role is not OrderRole.ENTRY or not order.is_active:
            continue
        if ctx.in_open(order) is not None:
            continue
        answer, _ = ctx.answer(order)
        if answer in (Answer.IN_FLIGHT, Answer.UNRESOLVED, Answer.LOST):
            found.add((worker_of(order, prefix), order.category, order.symbol))
    return found
