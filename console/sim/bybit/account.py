"""Account endpoints a client reads on start-up: coin info, API key info, account info.

A standard client (ccxt's `load_markets`, `fetch_balance`) asks these before anything
else, to learn the coins' precisions and whether the account is a unified trading
account; a 404 there stops it from starting. Each answers with every field of its
Bybit v5 page (docs/v5/asset/coin-info, docs/v5/user/apikey-info,
docs/v5/account/account-info), filled the way a real unified account without deposits
or withdrawals on record shows them: no chain supports deposits or withdrawals (the sim
moves no coins on chains), the key is a personal read-write master key, the margin mode
is REGULAR_MARGIN (cross), and the unified account is UTA 2.0 Pro
(`unifiedMarginStatus` 6).
"""

from __future__ import annotations

import hashlib
from typing import Final

from console.domain.enums import Category
from console.sim.bybit import params as p
from console.sim.bybit.base import Result, Scope
from console.sim.protocol.keys import KeyStore, Permission
from console.sim.protocol.pipeline import Request
from console.sim.protocol.wire import JsonObj

UTA_2_PRO: Final = 6
"""Bybit's unifiedMarginStatus for a UTA 2.0 Pro account (docs/v5/enum)."""
_KEY_DATE: Final = "2024-01-01T00:00:00Z"
_PERMISSION_GROUPS: Final = (
    "ContractTrade", "Spot", "Wallet", "Options", "Derivatives", "Exchange", "Earn",
    "FiatP2P", "FiatBitPay", "FiatConvertBroker", "BitCard", "ByXPost", "Affiliate",
    "BlockTrade", "NFT", "CopyTrading")
_TRADE_PERMISSIONS: Final = {"ContractTrade": ["Order", "Position"], "Spot": ["SpotTrade"],
                             "Options": ["OptionsTrade"], "Derivatives": ["DerivativesTrade"]}


def user_id(account: str) -> int:
    """A stable numeric UID for a sim account (Bybit UIDs are integers)."""
    return 10_000_000 + int(hashlib.sha256(account.encode()).hexdigest()[:6], 16)


class AccountQueries:
    def __init__(self, scope: Scope, keys: KeyStore) -> None:
        self.scope = scope
        self.keys = keys

    def coin_info(self, req: Request) -> Result:
        """GET /v5/asset/coin/query-info: the coins the sim's instruments trade or settle
        in (all, or `coin`), each with one chain that is suspended both ways."""
        wanted = p.text(req.params, "coin")
        coins: set[str] = set()
        for category in (Category.LINEAR, Category.INVERSE, Category.SPOT):
            for instr in self.scope.instruments(category):
                coins.update((instr.base, instr.quote, instr.settle_coin))
        coins.update(b.asset for b in self.scope.exchange.balances(req.account))
        coins.discard("USD")  # the quote of inverse contracts: a unit, not a coin
        rows = [_coin_row(coin) for coin in sorted(coins) if not wanted or coin == wanted]
        return Result({"rows": rows})

    def api_key_info(self, req: Request) -> Result:
        """GET /v5/user/query-api: the caller's key. The pipeline hands handlers the
        account, not the key, so the account's first key is described (one key per
        account is the sim's usual set-up)."""
        key = next((k for k in self.keys if k.account == req.account), None)
        read_only = key is None or not key.allows(Permission.TRADE)
        permissions: JsonObj = {name: [] for name in _PERMISSION_GROUPS}
        permissions["Wallet"] = ["AccountTransfer"]
        if not read_only:
            permissions.update({k: list(v) for k, v in _TRADE_PERMISSIONS.items()})
        uid = user_id(req.account)
        return Result({
            "id": str(uid % 100_000_000),
            "note": "recon-console sim",
            "apiKey": key.key if key is not None else "",
            "readOnly": 1 if read_only else 0,
            "secret": "",
            "permissions": permissions,
            "ips": ["*"],
            "type": 1,
            "deadlineDay": -1,
            "expiredAt": _KEY_DATE,
            "createdAt": _KEY_DATE,
            "uta": 1,
            "userID": uid,
            "inviterID": 0,
            "vipLevel": "No VIP",
            "mktMakerLevel": "0",
            "affiliateID": 0,
            "rsaPublicKey": "",
            "isMaster": True,
            "parentUid": "0",
            "kycLevel": "LEVEL_DEFAULT",
            "kycRegion": "",
            "unified": 0,
        })

    def account_info(self, req: Request) -> Result:
        """GET /v5/account/info: a cross-margin UTA 2.0 Pro account."""
        return Result({
            "unifiedMarginStatus": UTA_2_PRO,
            "marginMode": "REGULAR_MARGIN",
            "isMasterTrader": False,
            "spotHedgingStatus": "OFF",
            "updatedTime": str(req.now_ms),
            "dcpStatus": "OFF",
            "timeWindow": 0,
            "smpGroup": 0,
        })


def _coin_row(coin: str) -> JsonObj:
    return {
        "name": coin,
        "coin": coin,
        "chains": [{
            "chain": coin,
            "chainType": coin,
            "confirmation": "0",
            "withdrawFee": "",
            "depositMin": "0",
            "withdrawMin": "0",
            "minAccuracy": "8",
            "chainDeposit": "0",
            "chainWithdraw": "0",
            "withdrawPercentageFee": "0",
            "contractAddress": "",
            "safeConfirmNumber": "0",
            "withdrawMax": "0",
        }],
        "remainAmount": "0",
    }
