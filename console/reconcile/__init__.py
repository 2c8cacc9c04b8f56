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

    fills_since(ledger)          where the fill back-fill starts (last fill - margin)
    orders_to_query(ledger, open_orders)
                                 ledger-active orders the open list does not show;
                                 the engine asks the venue about each by id
    diff(ledger, venue)          -> DiffResult: discrepancies, unverified, proposed steps
    plan(diff, ...)              -> Plan: policy decisions, pause/resume
    apply_actions(ledger, plan.auto)
                                 -> LedgerChanges: set-based writes for the store

`reconcile()` chains the last three. Nothing here reads a clock, a socket or a database:
`now` is an argument, and the same inputs give the same plan, which is what lets the
property tests replay random books and the benchmark time the core alone.

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

Never assume cancelled
----------------------
"Not in the open-orders list" means "ask". The open list is paginated, filtered,
eventually consistent, and on some venues leaves out untriggered conditional orders. An
order absent from it is resolved only by the venue's by-id answer: FILLED (with its
fill quantity and average price) or CANCELLED/REJECTED (keeping a partial fill) or still
live elsewhere. If the venue says it never saw the order, a young PENDING_NEW is in
flight, an old one never arrived (REJECTED), and anything else is a critical alert and
UNKNOWN, never CANCELLED: marking a live order cancelled is how a bot doubles a
position. If nobody answered, nothing is changed and the order is reported not verified.

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
from console.reconcile.diff import DiffResult, diff, fills_since, orders_to_query
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
    "reconcile",
    "take_venue",
    "working_set",
]
