"""A reconcile-now command's outcome reads as the CLI's texts do: counts with the word
that goes with them ("1 discrepancy, 1 action", `console.domain.text.plural`)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from console.domain.commands import CommandKind, CommandState, OperatorCommand
from console.domain.reconciliation import RunStatus
from console.engine.commands import _HANDLERS


def session_with_run(discrepancies: int, actions: int) -> SimpleNamespace:
    run = SimpleNamespace(run_id="r1", status=RunStatus.OK,
                          discrepancies=(object(),) * discrepancies, actions=(object(),) * actions)

    async def run_once(_trigger: object) -> SimpleNamespace:
        return SimpleNamespace(run=run)

    return SimpleNamespace(reconciler=SimpleNamespace(run_once=run_once))


@pytest.mark.parametrize(("discrepancies", "actions", "text"), [
    (1, 1, "run r1 ok: 1 discrepancy, 1 action"),
    (0, 2, "run r1 ok: 0 discrepancies, 2 actions"),
])
def test_reconcile_now_counts_in_words(discrepancies: int, actions: int, text: str) -> None:
    command = OperatorCommand(1, "sim", "main", CommandKind.RECONCILE_NOW, (), "dana", 0)
    handler = _HANDLERS[CommandKind.RECONCILE_NOW]
    outcome = asyncio.run(handler(session_with_run(discrepancies, actions),  # type: ignore[arg-type]
                                  command))
    assert outcome.state is CommandState.DONE and outcome.result == text
