"""The reconciliation core: pure functions from two snapshots to a plan.

THEORY OF OPERATION
===================

What is true
------------
Two books describe one account. The *venue* is the truth for what exists and what
happened: which orders are live and in what status, how much filled and at what price,
which fills took place, what positions and balances are held. The *ledger* is the truth
for intent and ownership: which strategy and worker an order belongs to, its role in a
bracket (entry, stop-loss, take-profit), whether we placed it or adopted it, its label,
and the operator's decisions. So when the books disagree, the ledger takes the venue's
facts and keeps its own metadata: `take_venue` and `apply.keep_ledger_metadata` are the
only places where an order is rewritten, and neither ever touches strategy, worker, role,
origin or label of an order the ledger knew.

The pipeline
------------
The engine does the I/O around four pure steps::

    fills_since(ledger)          where the fill back-fill starts (coverage mark - margin)
    underfilled(ledger), reach_back(...)
                                 orders filled beyond their ledger fills, and how far
                                 back the fill fetch must reach for them
    orders_to_query(ledger, open_orders, fills)
                                 ledger-active orders the open list does not show, and
                                 terminal ones that fills contradict; the engine asks
                                 the venue about each by id
    diff(ledger, venue)          -> DiffResult: discrepancies, unverified, proposed steps
    plan(diff, ...)              -> Plan: policy decisions, pause/resume
    apply_actions(ledger, plan.auto)
                                 -> LedgerChanges: set-based writes for the store
    verified_fills(ledger, venue, plan)
                                 -> FillCoverage: the window whose fills are now all in
                                 the ledger; the store moves the coverage mark over it
                                 in the run's own transaction

`reconcile()` chains diff, plan and apply_actions. Nothing here reads a clock, a socket
or a database: `now` is an argument, and the same inputs give the same plan, which is
what lets the property tests replay random books and the benchmark time the core alone.

Matching
--------
A venue order is the ledger order with the same venue order id, else the same client
order id (refused when both carry different venue ids). Everything is done in one pass
over hash maps built once per run: no record is looked up in a loop over another list,
so 100k orders cost a fraction of a second, not an hour of per-record queries
(`bench/reconcile_core.py`). `orders_to_query` applies the same rules by set membership
from the ledger's side, so asking and diffing agree on what is missing. A venue order
whose client id already names another ledger order (a reused label) is adopted under
its venue id, never over the other record. The ledger snapshot is the working set
(active orders plus terminal ones within the retention window), so a venue still
showing open an order the ledger thought finished is caught, and the venue wins. A
ledger record written *after* the venue snapshot was taken is newer than the evidence:
it is not compared this run, and says so.

Saved brackets (per-worker `RunnerState`) resolve each leg by saved venue id, saved
client id, our label, then our client-id format's worker and role letter; only orders
of that worker qualify, so two workers on one account never act on each other's orders.
The outcomes of seed 003 follow: fully matched (restore, only if ids moved), missing
protection (critical alert, place a reduce-only stop sized to the filled quantity),
entry still open (cancel it, clear the bracket once the cancel is allowed), closed while
away (cancel its stops, clear), and orders with our prefix that nothing claims (cancel).

No fill lost for good
---------------------
The private stream is a hint: it drops, repeats and reorders. So the ledger keeps a
*coverage mark* per (venue, account): the time up to which its fill history was verified
complete by the venue. Every run asks the venue for fills from the mark minus
`fill_margin_ms` (late prints, clock skew) to now, every page, and compares them with the
ledger's fills of the same window; a fill the ledger lacks is added, once, by exec id.
Only a run whose fill fetch succeeded moves the mark, and only over the window it read:
the window must start at or before the old mark (contiguity), and it ends before the
earliest missing fill left for an operator's approval. A fill that arrives by the stream
never moves the mark, because it says nothing about the ones dropped before it. With no
mark yet (a new or upgraded ledger) the run asks `fill_default_lookback_ms` back.

A window can still miss a fill that is older than the mark (a ledger upgraded after the
fact, a venue that listed it late). The ledger snapshot therefore carries, per
working-set order, the sum of the fills the ledger holds for it (one set-based query):
an order that filled more than that makes the run reach back to its creation (at most
`fill_order_lookback_ms`) and compare that older window too.

Never assume cancelled
----------------------
"Not in the open-orders list" means "ask". The open list is paginated, filtered,
eventually consistent, and on some venues leaves out untriggered conditional orders. An
order absent from it is resolved only by the venue's by-id answer: FILLED (with its
fill quantity and average price) or CANCELLED/REJECTED (keeping a partial fill) or still
live elsewhere. If the venue says it never saw the order, a PENDING_NEW younger than
`pending_grace_ms` is in flight (a create that timed out may still land: the order
manager leaves it PENDING_NEW too), an older one never arrived (REJECTED), and anything
else is a critical alert and UNKNOWN, never CANCELLED: marking a live order cancelled is
how a bot doubles a position. If nobody answered, nothing is changed and the order is
reported not verified.

A terminal record is the ledger's conclusion, not the venue's word. A fill that names a
REJECTED order, or more than a terminal order's filled quantity, re-opens it: the order
is asked about by id like an active one, and the venue's answer wins (a REJECTED order
the venue filled becomes FILLED, with its venue id).

Partial failure
---------------
Every field of the venue snapshot may be None: "not fetched", never "nothing there".
No open orders: every order, bracket, stale and orphan check is skipped. No positions:
position, bracket and orphan checks are skipped (a missing position list is not a flat
book). No fills: no missing-fill check. No balances: no balance check. Each skipped
check is listed in `unverified`, and a paused account resumes only after a run with no
discrepancies and nothing unverified.

Idempotency
-----------
The plan is a fixpoint: applying its automatic ledger changes and diffing again finds no
discrepancy that a ledger action would fix. `apply_actions` compares every write with
what the ledger already holds and emits only real changes, fills are keyed by exec id
(added once, never dropped), orders by ident, positions by key, balances by asset,
runner states by (user, worker); applying a plan twice is applying it once. A protection
order proposed in two runs carries the same client id, so approving both places one.

Policy
------
Ledger-only actions apply automatically (configurable); venue-changing actions
(cancel, flatten, place protection) wait for an operator unless `venue_actions_auto`.
Order disagreements above `hard_desync_ratio` of the tracked orders, or any position
disagreement, pause new risk (reduce-only orders still pass).
"""

from __future__ import annotations

from console.reconcile.apply import apply_actions, apply_changes, keep_ledger_metadata
from console.reconcile.brackets import mint_protection_id
from console.reconcile.config import ReconcileConfig
from console.reconcile.coverage import fills_since, reach_back, underfilled, verified_fills
from console.reconcile.diff import DiffResult, diff, orders_to_query
from console.reconcile.findings import Finding, Step
from console.reconcile.orders import take_venue
from console.reconcile.plan import Reconciliation, plan, reconcile
from console.reconcile.policy import ORDER_LEVEL, decide, hard_desync
from console.reconcile.working_set import working_set

__all__ = [
    "ORDER_LEVEL",
    "DiffResult",
    "Finding",
    "ReconcileConfig",
    "Reconciliation",
    "Step",
    "apply_actions",
    "apply_changes",
    "decide",
    "diff",
    "fills_since",
    "hard_desync",
    "keep_ledger_metadata",
    "mint_protection_id",
    "orders_to_query",
    "plan",
    "reach_back",
    "reconcile",
    "take_venue",
    "underfilled",
    "verified_fills",
    "working_set",
]
