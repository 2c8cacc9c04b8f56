"""Bybit's wire values for the domain's enums: explicit tables both ways, complete."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

import pytest

from console.domain.enums import (
    Category,
    ExecType,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.sim.bybit import shapes

TABLES: list[tuple[type[Enum], Mapping[Any, Any], Mapping[Any, Any] | None]] = [
    (Category, shapes.CATEGORY, shapes.CATEGORY_OF),
    (Side, shapes.SIDE, shapes.SIDE_OF),
    (OrderType, shapes.ORDER_TYPE, shapes.ORDER_TYPE_OF),
    (TimeInForce, shapes.TIME_IN_FORCE, shapes.TIME_IN_FORCE_OF),
    (ExecType, shapes.EXEC_TYPE, shapes.EXEC_TYPE_OF),
    (TriggerDirection, shapes.TRIGGER_DIRECTION, shapes.TRIGGER_DIRECTION_OF),
    (PositionSide, shapes.POSITION_IDX, None),
]


@pytest.mark.parametrize(("enum", "to_wire", "from_wire"), TABLES,
                         ids=[t[0].__name__ for t in TABLES])
def test_every_member_has_a_wire_value_and_reads_back(
        enum: type[Enum], to_wire: Mapping[Any, Any],
        from_wire: Mapping[Any, Any] | None) -> None:
    assert set(to_wire) == set(enum)
    if from_wire is not None:
        assert {from_wire[to_wire[m]] for m in enum} == set(enum)


def test_bybit_spellings_that_differ_from_the_domain() -> None:
    assert shapes.EXEC_TYPE[ExecType.LIQUIDATION] == "BustTrade"
    assert shapes.TIME_IN_FORCE[TimeInForce.POST_ONLY] == "PostOnly"
    assert shapes.TRIGGER_DIRECTION_OF[2] is TriggerDirection.FALL
    assert shapes.POSITION_IDX == {PositionSide.ONE_WAY: 0, PositionSide.LONG: 1,
                                   PositionSide.SHORT: 2}
