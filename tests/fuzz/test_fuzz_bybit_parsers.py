"""Every Bybit parser, REST and stream, over structured hostile inputs: the only exception
that may come out is `MalformedVenueDataError` (for the stream's frame handler: none at
all), its text names a field (the `_typed` backstop never fires) and is safe to log, and
whatever is accepted is fit for the ledger: text without lone surrogates or control
characters, timestamps below the year 10000, finite bounded numbers.

Example counts: see fuzz_strategies (RECON_FUZZ_EXAMPLES; 1,000 per parser by default).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from bybit_payloads import coin_json, execution_json, order_json, position_json
from fuzz_strategies import HOSTILE, Outcomes, fuzz_settings, mutated, plausible_fields
from hypothesis import given
from hypothesis import strategies as st
from pybit.exceptions import FailedRequestError, InvalidRequestError

from console.domain import Category
from console.domain.capabilities import EndpointBudget
from console.domain.events import ConnectionEvent, VenueEvent
from console.domain.values import MAX_EPOCH_MS, check_text
from console.errors import MalformedVenueDataError, VenueError
from console.venues._common.budget import BudgetKeeper
from console.venues._common.malformed import UNEXPECTED_CODE
from console.venues._common.supervisor import Received
from console.venues.bybit import errors as bybit_errors
from console.venues.bybit.config import BybitConfig
from console.venues.bybit.parsing import (
    envelope_creation_time,
    envelope_time,
    order_ids,
    parse_coin,
    parse_fill,
    parse_order,
    parse_page,
    parse_position,
    parse_result,
    parse_server_time,
    parse_stream_message,
    parse_wallet,
    result_category,
)
from console.venues.bybit.stream import BybitPrivateStream

L = Category.LINEAR
FIELDS = plausible_fields()
NOW = 1_700_000_000_000


def sane(value: Any, where: str = "record") -> None:
    """What reaches the ledger: every text loggable and storable, every time bounded,
    every number finite and of a size a venue can mean."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            sane(getattr(value, field.name), f"{where}.{field.name}")
    elif isinstance(value, list | tuple):
        for item in value:
            sane(item, where)
    elif isinstance(value, str):
        check_text(value, where, max_len=1000)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        assert 0 <= value <= MAX_EPOCH_MS, f"{where}: {value}"
    elif isinstance(value, Decimal):
        assert value.is_finite() and abs(value) < Decimal(10) ** 25, f"{where}: {value}"


def fuzz(name: str, strategy: st.SearchStrategy[Any], parse: Callable[[Any], Any],
         *, examples: int | None = None) -> Outcomes:
    """Run `parse` over `strategy`; return the figures (also appended to the report)."""
    outcomes = Outcomes(name)

    @fuzz_settings(examples) if examples else fuzz_settings()
    @given(payload=strategy)
    def check(payload: Any) -> None:
        try:
            result = parse(payload)
        except MalformedVenueDataError as exc:
            outcomes.refused()
            text = str(exc)
            assert exc.code != UNEXPECTED_CODE, text  # a field check named it
            assert len(text) < 1200, text[:200]
            text.encode("utf-8")
            return
        outcomes.accepted()
        sane(result, name)

    check()
    outcomes.report()
    # the generator must reach both sides, or it tests nothing
    assert outcomes.counts["refused"] > 0, outcomes.counts
    return outcomes


def test_fuzz_parse_order() -> None:
    outcomes = fuzz("parse_order", mutated(order_json(), FIELDS),
                    lambda raw: parse_order(raw, account="a", category=L))
    assert outcomes.counts["accepted"] > 0


def test_fuzz_parse_order_stream_shape() -> None:
    """A stream order carries its own category (no fallback)."""
    fuzz("parse_order(stream)", mutated(order_json(category="linear"), FIELDS),
         lambda raw: parse_order(raw, account="a"))


def test_fuzz_parse_fill() -> None:
    outcomes = fuzz("parse_fill", mutated(execution_json(), FIELDS),
                    lambda raw: parse_fill(raw, account="a", category=L))
    assert outcomes.counts["accepted"] > 0


def test_fuzz_parse_position() -> None:
    outcomes = fuzz("parse_position", mutated(position_json(), FIELDS),
                    lambda raw: parse_position(raw, account="a", category=Category.INVERSE))
    assert outcomes.counts["accepted"] > 0


def test_fuzz_parse_position_stream_shape() -> None:
    stream = position_json(category="linear", entryPrice="27464.5")
    del stream["avgPrice"]
    fuzz("parse_position(stream)", mutated(stream, FIELDS),
         lambda raw: parse_position(raw, account="a"))


def test_fuzz_parse_coin() -> None:
    outcomes = fuzz("parse_coin", mutated(coin_json(), FIELDS),
                    lambda raw: parse_coin(raw, account="a", updated_at=NOW))
    assert outcomes.counts["accepted"] > 0


@st.composite
def wallet_results(draw: st.DrawFn) -> Any:
    coins = draw(st.lists(st.one_of(st.just(coin_json()), mutated(coin_json(), FIELDS)),
                          max_size=3))
    wallet = draw(st.one_of(st.just({"accountType": "UNIFIED", "coin": coins}),
                            mutated({"accountType": "UNIFIED", "coin": coins})))
    return draw(st.one_of(st.just({"list": [wallet]}), mutated({"list": [wallet]})))


def test_fuzz_parse_wallet() -> None:
    fuzz("parse_wallet", wallet_results(),
         lambda result: parse_wallet(result, account="a", updated_at=NOW))


def test_fuzz_parse_page_and_result_category() -> None:
    page = {"category": "linear", "list": [order_json()], "nextPageCursor": "page_args=2"}

    def both(result: Any) -> Any:
        _, cursor = parse_page(result, "/v5/order/realtime")
        return [cursor, result_category(result, "/v5/order/realtime") or ""]

    fuzz("parse_page+result_category", mutated(page, FIELDS), both)


def test_fuzz_parse_result_and_envelope_time() -> None:
    envelope = {"retCode": 0, "retMsg": "OK", "result": {"list": []}, "retExtInfo": {},
                "time": NOW}

    def both(payload: Any) -> Any:
        parse_result(payload, "/v5/position/list")  # the result is the next parser's
        return envelope_time(payload)

    fuzz("parse_result+envelope_time", mutated(envelope), both)


def test_fuzz_order_ids() -> None:
    fuzz("order_ids", mutated({"orderId": "1321003749386327552", "orderLinkId": "rc-1"},
                              FIELDS),
         lambda result: list(order_ids(result, "/v5/order/create")))


def test_fuzz_parse_server_time() -> None:
    answer = {"timeSecond": str(NOW // 1000), "timeNano": str(NOW * 1_000_000)}
    fuzz("parse_server_time", st.tuples(mutated(answer), mutated({"time": NOW})),
         lambda pair: parse_server_time(pair[0] if isinstance(pair[0], dict) else {},
                                        pair[1]))


RECORDS = {"order": order_json(category="linear"),
           "execution": execution_json(category="linear"),
           "position": position_json(category="linear"),
           "wallet": {"accountType": "UNIFIED", "coin": [coin_json()]}}


@st.composite
def stream_messages(draw: st.DrawFn) -> Any:
    topic = draw(st.sampled_from(sorted(RECORDS)))
    base = RECORDS[topic]
    data = draw(st.lists(st.one_of(st.just(base), mutated(base, FIELDS)), max_size=3))
    message = {"id": "5923240c6880ab-c59f-420b-9adb-3639adc9dd90", "topic": topic,
               "creationTime": NOW, "data": data}
    return draw(st.one_of(st.just(message), mutated(message)))


def test_fuzz_parse_stream_message() -> None:
    item_parsers = {"order": lambda raw: parse_order(raw, account="a"),
                    "execution": lambda raw: parse_fill(raw, account="a"),
                    "position": lambda raw: parse_position(raw, account="a"),
                    "wallet": lambda raw: parse_wallet({"list": [raw]}, account="a")}

    def parse(message: Any) -> Any:
        envelope_creation_time(message)
        events, problems = parse_stream_message(message, account="a", received_at=NOW)
        for problem in problems:
            problem.encode("utf-8")
            assert len(problem) < 1200
        if problems and message["topic"] in item_parsers:
            # each problem item, on its own, is refused by a field check
            for raw in message["data"]:
                try:
                    item_parsers[message["topic"]](raw)
                except MalformedVenueDataError as exc:
                    assert exc.code != UNEXPECTED_CODE, str(exc)
        return [getattr(e, name) for e in events
                for name in ("order", "fill", "position", "balance") if hasattr(e, name)]

    fuzz("parse_stream_message", stream_messages(), parse)


def test_fuzz_the_stream_frame_handler_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    """What the supervisor calls for every frame pybit hands over (a dict, a list, the raw
    text of a frame that is not JSON): it returns events and never raises."""
    caplog.set_level(logging.CRITICAL, logger="console.venues.bybit.stream")
    stream = BybitPrivateStream(
        BybitConfig(account="a", rest_url="http://127.0.0.1:1",
                    ws_private_url="ws://127.0.0.1:1/v5/private"), "k" * 18, "s" * 36,
        clock_ms=lambda: NOW)
    frames = st.one_of(stream_messages(), HOSTILE, st.text(max_size=40))
    outcomes = Outcomes("BybitPrivateStream._parse")

    @fuzz_settings()
    @given(frame=frames)
    def check(frame: Any) -> None:
        events: list[VenueEvent] = stream._parse(Received(frame, NOW))
        assert not any(isinstance(e, ConnectionEvent) for e in events)
        if events:
            outcomes.accepted()
        else:
            outcomes.refused()
        sane([getattr(e, n) for e in events for n in ("order", "fill", "position", "balance")
              if hasattr(e, n)])

    check()
    outcomes.report()
    assert outcomes.counts["accepted"] > 0 and outcomes.counts["refused"] > 0


HEADER_NAMES = (bybit_errors.LIMIT_HEADER, bybit_errors.STATUS_HEADER,
                bybit_errors.RESET_HEADER, "Retry-After")
HEADER_VALUES = st.one_of(HOSTILE.map(str), st.integers().map(str),
                          st.sampled_from(("10", "0", str(NOW + 500), "²", "-5", "9" * 5000)))


def test_fuzz_rate_limit_headers_and_error_classification() -> None:
    """Whatever the X-Bapi-Limit* (and Retry-After) headers and the retCode say, the
    budget notes them or ignores them, and the error is one of ours: never an exception
    out of the retry policy's path."""
    outcomes = Outcomes("rate-limit headers + error_for_exception")
    keeper = BudgetKeeper("bybit", "a", max_wait_ms=1000, local_ms=lambda: NOW)
    ctx = bybit_errors.ErrorContext(endpoint="/v5/order/realtime", write=False,
                                    venue="bybit", now_ms=NOW)
    codes = st.one_of(st.integers(), st.sampled_from(sorted(bybit_errors.RET_CODES)), HOSTILE)

    @fuzz_settings()
    @given(headers=st.dictionaries(st.sampled_from(HEADER_NAMES), HEADER_VALUES),
           code=codes, http=st.booleans())
    def check(headers: dict[str, str], code: Any, http: bool) -> None:
        logging.getLogger("console.venues._common.errors").setLevel(logging.CRITICAL)
        keeper.note_headers("/x", headers, limit=bybit_errors.LIMIT_HEADER,
                            remaining=bybit_errors.STATUS_HEADER,
                            reset=bybit_errors.RESET_HEADER)
        budget = keeper.get("/x")
        assert budget is None or isinstance(budget, EndpointBudget)
        exc: Exception = FailedRequestError(request="GET x", message="m", status_code=code,
                                            time="", resp_headers=headers) if http else \
            InvalidRequestError(request="GET x", message="m", status_code=code, time="",
                                resp_headers=headers)
        error = bybit_errors.error_for_exception(exc, ctx)
        assert isinstance(error, VenueError)
        if isinstance(error, MalformedVenueDataError):
            outcomes.refused()
        else:
            outcomes.accepted()
        wait = getattr(error, "retry_after_ms", None)
        assert wait is None or 0 <= wait < 10 ** 16

    try:
        check()
    finally:
        logging.getLogger("console.venues._common.errors").setLevel(logging.NOTSET)
    outcomes.report()
    assert outcomes.counts["refused"] > 0 and outcomes.counts["accepted"] > 0
