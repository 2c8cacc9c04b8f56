"""Structured hostile inputs for the venue parsers (imported by name: tests/fuzz is on
sys.path): start from a valid Bybit payload (tests/venues/bybit_payloads.py) and mutate
a few of its fields into what a broken or hostile venue could send: strings, numbers,
None, objects, lists, huge exponents and magnitudes, Unicode digits, lone surrogates,
control characters, missing keys, or replace the whole thing. Only values json.loads can
produce (plus the infinities and NaN it produces from 1e999 and NaN).

How many examples: `RECON_FUZZ_EXAMPLES` (default 1,000 per parser, what CI runs);
`RECON_FUZZ_LEDGER_EXAMPLES` for the ledger round trip (default 150). With
`RECON_FUZZ_REPORT=path`, each test appends one JSON line of figures (examples, accepted,
refused) to that file.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES: Final = int(os.environ.get("RECON_FUZZ_EXAMPLES", "1000"))
LEDGER_EXAMPLES: Final = int(os.environ.get("RECON_FUZZ_LEDGER_EXAMPLES", "150"))


def fuzz_settings(examples: int = EXAMPLES) -> settings:
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


UNICODE_DIGITS: Final = "٠١٢٣٤٥٦٧٨٩０１２３４５６７８９²³¹߀᠐𝟘"
NASTY: Final = (
    "", " ", "0", "-0", "+0", "1", "-1", "--1", "+-1", "1e999999999", "1e-999999999",
    "-1e999999999", "1E+24", "1e23", "1e-30", "1e-31", "NaN", "nan", "sNaN", "inf",
    "-Infinity", "Infinity", "1_000", " 12", "12 ", "0x10", "1.2.3", ".", "-.", "e5",
    "1e", "١٢", "²", "٣.٥", "１２", "9" * 60, "9" * 5000, "0." + "0" * 60 + "1",
    str(2 ** 63), str(2 ** 63 - 1), str(2 ** 64), "253402300799999", "253402300800000",
    "1700000000000", "-1700000000000", "1.5", "true", "false", "null", "None",
    "Buy", "Sell", "None", "New", "Filled", "linear", "spot", "Trade", "Funding",
    "\ud800", "a\udfffb", "x\x00y", "\x1b[31m", "\u202e", "\ufeff1", "ETH\nUSDT",
    "𝟙", "𝟘", "A" * 2000,
)


def _number_like() -> st.SearchStrategy[str]:
    """Strings that look like numbers to a lenient reader: digits from every script,
    underscores, spaces, signs, dots and exponents."""
    chars = st.sampled_from("0123456789" + UNICODE_DIGITS + "_ .+-eE")
    return st.text(chars, min_size=1, max_size=25)


def _valid_number() -> st.SearchStrategy[str]:
    """Numbers a venue may really send, across the whole accepted range."""
    decimals = st.decimals(min_value=Decimal("-1e23"), max_value=Decimal("1e23"),
                           allow_nan=False, allow_infinity=False, places=None)
    return st.one_of(decimals.map(str), decimals.map(lambda d: format(d, "f")),
                     st.integers(min_value=0, max_value=10 ** 23).map(str))


def _text() -> st.SearchStrategy[str]:
    # every code point, lone surrogates and control characters included
    return st.text(st.characters(exclude_categories=()), max_size=30)


SCALARS: Final[st.SearchStrategy[Any]] = st.one_of(
    st.none(), st.booleans(), st.integers(),
    st.integers(min_value=2 ** 62, max_value=2 ** 80),
    st.integers(min_value=-(2 ** 80), max_value=-1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NASTY), _text(), _number_like(),
)

HOSTILE: Final[st.SearchStrategy[Any]] = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.text(max_size=8), children, max_size=3)),
    max_leaves=4)


@st.composite
def mutated(draw: st.DrawFn, base: Mapping[str, Any],
            fields: Mapping[str, st.SearchStrategy[Any]] | None = None) -> Any:
    """`base` with 1-4 fields replaced by hostile values or removed, an unknown field
    added now and then, or (rarely) the whole payload replaced. `fields` gives
    field-specific plausible values (a wider valid range, neighbouring enum values),
    so that accepted payloads vary too."""
    mode = draw(st.sampled_from(("fields", "fields", "fields", "plausible", "whole")))
    if mode == "whole":
        return draw(HOSTILE)
    raw = dict(base)
    keys = sorted(raw)
    chosen = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=4, unique=True))
    for key in chosen:
        if mode == "plausible" and fields and key in fields:
            raw[key] = draw(fields[key])
        elif draw(st.integers(0, 5)) == 0:
            del raw[key]
        else:
            raw[key] = draw(HOSTILE)
    if draw(st.integers(0, 9)) == 0:
        raw[draw(st.text(max_size=8))] = draw(HOSTILE)
    return raw


@st.composite
def plausible(draw: st.DrawFn, base: Mapping[str, Any],
              fields: Mapping[str, st.SearchStrategy[Any]]) -> Any:
    """`base` with 1-6 of its fields given plausible values: mostly accepted, so that
    what is accepted varies widely (for the ledger round trip)."""
    raw = dict(base)
    keys = sorted(k for k in raw if k in fields)
    for key in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=6, unique=True)):
        raw[key] = draw(fields[key])
    return raw


def plausible_fields() -> dict[str, st.SearchStrategy[Any]]:
    """Valid-looking alternatives per Bybit field name (shared across record kinds)."""
    number = _valid_number()
    ms = st.one_of(st.integers(min_value=0, max_value=253_402_300_799_999).map(str),
                   st.integers(min_value=0, max_value=253_402_300_799_999))
    text = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=40)
    return {
        "qty": number, "price": number, "cumExecQty": number, "avgPrice": number,
        "triggerPrice": number, "execQty": number, "execPrice": number, "execFee": number,
        "size": number, "entryPrice": number, "markPrice": number,
        "unrealisedPnl": number, "walletBalance": number, "locked": number,
        "totalOrderIM": number, "totalPositionIM": number, "availableToWithdraw": number,
        "createdTime": ms, "updatedTime": ms, "execTime": ms,
        "symbol": text, "orderId": text, "orderLinkId": text, "execId": text, "coin": text,
        "feeCurrency": text,
        "side": st.sampled_from(("Buy", "Sell", "", "None", "buy")),
        "orderStatus": st.sampled_from(("New", "Filled", "Cancelled", "Untriggered",
                                        "PartiallyFilledCanceled", "Created", "new")),
        "orderType": st.sampled_from(("Limit", "Market", "limit")),
        "timeInForce": st.sampled_from(("GTC", "IOC", "FOK", "PostOnly", "gtc")),
        "execType": st.sampled_from(("Trade", "Funding", "AdlTrade", "BustTrade",
                                     "Settle", "trade")),
        "category": st.sampled_from(("linear", "inverse", "spot", "option", "Linear")),
        "positionIdx": st.sampled_from((0, 1, 2, 3, "0", "1", "2", -1)),
        "triggerDirection": st.sampled_from((0, 1, 2, "1", "2", 3)),
        "reduceOnly": st.booleans(), "isMaker": st.booleans(),
    }


class Outcomes:
    """Per-parser figures: how many inputs were accepted and how many refused."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.counts: Counter[str] = Counter()

    def accepted(self) -> None:
        self.counts["accepted"] += 1

    def refused(self) -> None:
        self.counts["refused"] += 1

    @property
    def examples(self) -> int:
        return self.counts["accepted"] + self.counts["refused"]

    def report(self) -> None:
        path = os.environ.get("RECON_FUZZ_REPORT")
        if path:
            with Path(path).open("a", encoding="utf-8") as out:
                out.write(json.dumps({"parser": self.name, "examples": self.examples,
                                      **self.counts}) + "\n")
