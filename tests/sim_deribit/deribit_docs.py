"""Deribit's documented result, record and envelope fields, as data, and the checker that
holds a simulated answer to them (imported by name: tests/sim_deribit is on sys.path).

Each `Table` is the field list of one documented JSON object: a method's ``result``, an
element of a listed result, a nested object, the JSON-RPC envelope or a subscription
notification. It cites the page it was read from (`url`) and the day it was read
(`read`). The pages at docs.deribit.com/api-reference/... each embed Deribit's OpenAPI
spec (version 2.1.1) for their method; where the stored copy of a page stopped before
its result schema, the schema was read from the same spec as published by
github.com/api-evangelist/deribit (json-schema/, commit cdd1790) and typed-deribit 0.4.1
(typed_deribit/schemas.py and the method modules, generated from that spec); `via_spec`
says so. Types are Deribit's: amounts, prices and money are JSON numbers (never strings),
ids strings, timestamps integer milliseconds, flags booleans.

`required=False` marks a field the docs call optional or conditional ("Optional",
"only for options", "present only when ..."): its type is checked when it is present.

`check` compares one answer with a table: every required field present, every
documented field present has a documented type, and no undocumented field (the plan
forbids inventing fields). Every (table, field) evaluated is recorded in `TALLY`, so the
suite can prove that no table went unchecked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from docs_tables import Deviation, DocsChecker, F, J, Tally


@dataclass(frozen=True)
class Table:
    key: str
    url: str
    fields: tuple[F, ...]
    read: str = "2026-12-05"
    via_spec: bool = False

    def names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)


NUM: Final = (J.NUM,)


def s(*names: str, required: bool = True) -> tuple[F, ...]:
    return tuple(F(n, (J.STR,), required) for n in names)


def i(*names: str, required: bool = True) -> tuple[F, ...]:
    return tuple(F(n, (J.INT,), required) for n in names)


def n(*names: str, required: bool = True) -> tuple[F, ...]:
    return tuple(F(n, NUM, required) for n in names)


def b(*names: str, required: bool = True) -> tuple[F, ...]:
    return tuple(F(n, (J.BOOL,), required) for n in names)


DOCS: Final = "https://docs.deribit.com"
API: Final = f"{DOCS}/api-reference"

# -- the JSON-RPC envelope ---------------------------------------------------------------

_ENVELOPE: Final = (
    Table("envelope", f"{DOCS}/articles/json-rpc-overview",
          # "usIn", "usOut", "usDiff" (microseconds) and "testnet" ride every answer
          (*s("jsonrpc"), F("id", (J.INT, J.STR, J.NULL)), F("result", (
              J.OBJ, J.ARR, J.STR, J.NUM, J.INT, J.BOOL, J.NULL)),
           *i("usIn", "usOut", "usDiff"), *b("testnet"))),
    Table("error envelope", f"{DOCS}/articles/json-rpc-overview",
          (*s("jsonrpc"), F("id", (J.INT, J.STR, J.NULL)), F("error", (J.OBJ,),
                                                               item="error"),
           *i("usIn", "usOut", "usDiff"), *b("testnet"))),
    Table("error", f"{DOCS}/articles/errors",
          # data: "Additional data about the error" (optional; an object: param, reason)
          (*i("code"), *s("message"), F("data", (J.OBJ, J.STR), required=False))),
    Table("notification", f"{DOCS}/articles/notifications",
          (*s("jsonrpc", "method"), F("params", (J.OBJ,), item="notification params"))),
    Table("notification params", f"{DOCS}/articles/notifications",
          (*s("channel"), F("data", (J.OBJ, J.ARR)))),
)

# -- public methods ---------------------------------------------------------------------

_PUBLIC: Final = (
    Table("public/auth", f"{API}/authentication/public-auth",
          (*s("access_token", "token_type", "refresh_token", "scope"), *i("expires_in"),
           *s("sid", "state", "mandatory_tfa_status", required=False),
           F("enabled_features", (J.ARR,), required=False),
           *b("google_login", required=False)), via_spec=True),
    Table("public/get_instruments[]", f"{API}/market-data/public-get_instruments",
          (*s("kind", "base_currency", "quote_currency", "instrument_name", "price_index",
              "underlying_type"),
           *n("min_trade_amount", "tick_size", "contract_size"), *b("is_active"),
           *i("creation_timestamp", "expiration_timestamp"),
           *s("settlement_currency", "counter_currency", "settlement_period",
              "option_type", "future_type", "instrument_type", "state", required=False),
           *i("instrument_id", "max_leverage", required=False),
           F("tick_size_steps", (J.ARR,), required=False),
           *n("strike", "lot_size", "maker_commission", "taker_commission",
              "max_liquidation_commission", "block_trade_commission",
              "block_trade_tick_size", "block_trade_min_trade_amount", required=False)),
          via_spec=True),
    Table("public/get_currencies[]", f"{API}/market-data/public-get_currencies",
          (*s("currency", "currency_long", "coin_type"), *n("withdrawal_fee"),
           *i("min_confirmations"), *b("in_cross_collateral_pool"),
           F("withdrawal_priorities", (J.ARR,), required=False),
           *n("min_withdrawal_fee", "apr", "network_fee", required=False),
           *s("network_currency", "currency_uuid", required=False),
           *i("decimals", "onchain_operations_precision", required=False),
           F("coinbase_networks", (J.ARR,), required=False)), via_spec=True),
)

# -- orders and trades ------------------------------------------------------------------

ORDER_URL: Final = f"{API}/trading/private-get_order_state"
_ORDER_FIELDS: Final = (
    # required by the spec's order schema
    *s("order_id", "order_state", "order_type", "time_in_force", "instrument_name",
       "direction", "label"),
    *i("creation_timestamp", "last_update_timestamp"),
    F("price", (J.NUM, J.STR)),  # a number, or "market_price" (open trigger market order)
    *b("post_only", "api"),
    # optional or conditional
    *s("original_order_type", "advanced", "trigger", "mmp_group", "quote_set_id",
       "quote_id", "trigger_order_id", "app_name", "cancel_reason",
       "trigger_fill_condition", "oco_ref", "primary_order_id", "combo_order_id",
       required=False),
    *b("is_rebalance", "is_liquidation", "reject_post_only", "reduce_only", "web",
       "mobile", "triggered", "block_trade", "mmp", "risk_reducing", "replaced",
       "auto_replaced", "quote", "mmp_cancelled", "is_secondary_oto", "is_primary_otoco",
       required=False),
    *n("refresh_amount", "display_amount", "amount", "contracts", "filled_amount",
       "average_price", "implv", "usd", "trigger_price", "trigger_reference_price",
       required=False),
    F("trigger_offset", (J.NUM, J.NULL), required=False),
    F("oto_order_ids", (J.ARR,), required=False),
    *i("user_id", "starbase_order_id", "starbase_last_update_timestamp", required=False),
)
TRADE_URL: Final = f"{API}/trading/private-get_user_trades_by_instrument"
_TRADE_FIELDS: Final = (
    *s("trade_id", "instrument_name", "order_id", "direction", "fee_currency", "state"),
    *i("trade_seq", "timestamp", "tick_direction"),
    F("matching_id", (J.NULL, J.STR)),  # "Always null"
    *n("index_price", "price", "amount", "fee", "mark_price"),
    *s("order_type", "advanced", "liquidation", "liquidity", "label", "block_trade_id",
       "combo_id", "quote_set_id", "quote_id", required=False),
    *n("contracts", "iv", "underlying_price", "profit_loss", "combo_trade_id",
       required=False),
    # the spec's schema types reduce_only/post_only "string" while describing
    # "`true` if ..."; the pages' examples send booleans: both accepted
    F("reduce_only", (J.BOOL, J.STR), required=False),
    F("post_only", (J.BOOL, J.STR), required=False),
    *b("mmp", "risk_reducing", "api", required=False),
    *i("block_rfq_id", "block_rfq_quote_id", "starbase_timestamp", "starbase_match_id",
       "starbase_order_id", required=False),
    F("legs", (J.ARR,), required=False), F("trade_allocations", (J.ARR,), required=False),
)

_TRADING: Final = (
    Table("order", ORDER_URL, _ORDER_FIELDS, via_spec=True),
    Table("user trade", TRADE_URL, _TRADE_FIELDS, via_spec=True),
    Table("private/buy", f"{API}/trading/private-buy",
          (F("order", (J.OBJ,), item="order"), F("trades", (J.ARR,), item="user trade"))),
    Table("trades page", TRADE_URL,
          (F("trades", (J.ARR,), item="user trade"), *b("has_more"))),
    Table("private/get_cancel_on_disconnect",
          f"{API}/session-management/private-get_cancel_on_disconnect",
          (*s("scope"), *b("enabled"))),
)

# -- account ----------------------------------------------------------------------------

_ACCOUNT: Final = (
    Table("position", f"{API}/account-management/private-get_positions",
          (*s("instrument_name", "kind", "direction"),
           *n("average_price", "mark_price", "delta", "index_price", "initial_margin",
              "maintenance_margin", "total_profit_loss", "floating_profit_loss",
              "realized_profit_loss", "size"),
           *n("gamma", "vega", "theta", "settlement_price", "size_currency",
              "average_price_usd", "floating_profit_loss_usd", "realized_funding",
              "interest_value", "open_orders_margin", required=False),
           *i("leverage", "user_id", required=False),
           F("estimated_liquidation_price", (J.NUM, J.NULL), required=False)),
          via_spec=True),
    Table("private/get_account_summary",
          f"{API}/account-management/private-get_account_summary",
          (*s("currency"),
           *n("balance", "equity", "available_funds", "available_withdrawal_funds",
              "initial_margin", "maintenance_margin", "total_pl", "session_rpl",
              "session_upl"),
           *n("margin_balance", "projected_initial_margin", "projected_maintenance_margin",
              "futures_pl", "futures_session_rpl", "futures_session_upl", "options_pl",
              "options_session_rpl", "options_session_upl", "options_delta",
              "options_gamma", "options_theta", "options_vega", "options_value",
              "delta_total", "projected_delta_total", "spot_reserve", "additional_reserve",
              "fee_balance", "estimated_liquidation_ratio", "total_equity_usd",
              "total_initial_margin_usd", "total_maintenance_margin_usd",
              "total_margin_balance_usd", "total_delta_total_usd", "locked_balance",
              "close_out_margin", "projected_close_out_margin",
              "affiliate_promotion_fee", required=False),
           *(F(m, (J.OBJ,), required=False) for m in (
               "options_gamma_map", "options_theta_map", "options_vega_map",
               "delta_total_map", "estimated_liquidation_ratio_map", "limits", "fees",
               "change_margin_model_api_limit")),
           *s("fee_group", "deposit_address", "margin_model", "username", "email", "type",
              "system_name", "self_trading_reject_mode", "user_origin", required=False),
           F("referrer_id", (J.STR, J.NULL), required=False),
           *b("portfolio_margining_enabled", "cross_collateral_enabled",
              "security_keys_enabled", "mmp_enabled", "login_enabled",
              "interuser_transfers_enabled", "receive_notifications",
              "is_direct_access_allowed", "self_trading_extended_to_subaccounts",
              "has_non_block_chain_equity", "disable_kyc_verification", "mandatory_tfa",
              "block_rfq_self_match_prevention", required=False),
           *i("id", "creation_timestamp", required=False),
           F("trading_products_details", (J.ARR,), required=False)), via_spec=True),
    Table("user.portfolio", f"{DOCS}/subscriptions/user/userportfoliocurrency",
          # the notification carries the account summary's money fields
          (*s("currency"),
           *n("balance", "equity", "available_funds", "available_withdrawal_funds",
              "initial_margin", "maintenance_margin", "margin_balance", "total_pl",
              "session_rpl", "session_upl"),
           *n("projected_initial_margin", "projected_maintenance_margin", "futures_pl",
              "futures_session_rpl", "futures_session_upl", "options_pl",
              "options_session_rpl", "options_session_upl", "options_delta",
              "options_gamma", "options_theta", "options_vega", "options_value",
              "delta_total", "projected_delta_total", "fee_balance",
              "estimated_liquidation_ratio", "spot_reserve", "additional_reserve",
              "total_equity_usd", "total_initial_margin_usd",
              "total_maintenance_margin_usd", "total_margin_balance_usd",
              "total_delta_total_usd", "locked_balance", required=False),
           *(F(m, (J.OBJ,), required=False) for m in (
               "options_gamma_map", "options_theta_map", "options_vega_map",
               "delta_total_map", "estimated_liquidation_ratio_map")),
           *s("margin_model", required=False),
           *b("portfolio_margining_enabled", "cross_collateral_enabled",
              required=False)), via_spec=True),
)

TABLES: Final[Mapping[str, Table]] = {t.key: t for t in (*_ENVELOPE, *_PUBLIC, *_TRADING,
                                                         *_ACCOUNT)}


CHECKER: Final = DocsChecker("Deribit", TABLES)
TALLY: Final[Tally] = CHECKER.tally
check = CHECKER.check
check_list = CHECKER.check_list
explain = CHECKER.explain
field_count = CHECKER.field_count
__all__ = ["TABLES", "TALLY", "Deviation", "F", "J", "Table", "check", "check_list",
           "explain", "field_count"]
