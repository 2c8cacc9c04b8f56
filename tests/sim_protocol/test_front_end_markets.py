"""`--market`: a front-end whose markets live on separate hosts names them; one that serves
every category from one set of URLs refuses the option instead of ignoring it."""

from __future__ import annotations

import pytest

from console.domain.enums import Category
from console.errors import ConfigError
from console.sim.bybit.spec import SPEC as BYBIT
from console.sim.protocol.spec import FrontEndSpec
from console.sim.server import build_sim


def test_a_single_host_front_end_refuses_a_market() -> None:
    assert BYBIT.market(None) is None
    with pytest.raises(ConfigError, match="takes no --market"):
        BYBIT.market("spot")
    with pytest.raises(ConfigError, match="takes no --market"):
        build_sim(venue="bybit", market="spot")


def test_markets_name_categories_the_front_end_serves() -> None:
    spec = FrontEndSpec(name="two_hosts", title="two hosts", build=BYBIT.build,
                        categories=frozenset({Category.SPOT, Category.LINEAR}),
                        markets={"usdm": Category.LINEAR, "spot": Category.SPOT})
    assert spec.market("spot") is Category.SPOT
    with pytest.raises(ConfigError, match="markets: usdm, spot"):
        spec.market("coinm")
    with pytest.raises(ValueError, match="outside its categories"):
        FrontEndSpec(name="bad", title="bad", build=BYBIT.build,
                     categories=frozenset({Category.LINEAR}),
                     markets={"spot": Category.SPOT})
