"""Trading limits and switches (admin-editable; read fresh at every check)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from apps.core.runtime_settings import RuntimeSettingSpec, register

SYMBOLS = register(
    RuntimeSettingSpec(
        key="trading.symbols",
        type=list[Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{0,5}$")]],
        default=["ES", "MES"],
        help="futures roots the bot may trade (its lead contract); anything else is refused",
    )
)
MAX_QTY = register(
    RuntimeSettingSpec(
        key="trading.max_qty_per_order",
        type=Annotated[int, Field(ge=0, le=1000)],
        default=1,
        help="largest quantity of one order",
    )
)
MAX_POSITION_SYMBOL = register(
    RuntimeSettingSpec(
        key="trading.max_position_per_symbol",
        type=Annotated[int, Field(ge=0, le=10000)],
        default=2,
        help="largest net position (contracts, either side) in one contract, the broker's position included",
    )
)
MAX_POSITION_ACCOUNT = register(
    RuntimeSettingSpec(
        key="trading.max_position_per_account",
        type=Annotated[int, Field(ge=0, le=100000)],
        default=4,
        help="largest sum of absolute positions over the account, the broker's positions included",
    )
)
MAX_ORDERS_DAY = register(
    RuntimeSettingSpec(
        key="trading.max_orders_per_day",
        type=Annotated[int, Field(ge=0, le=10000)],
        default=10,
        help="orders placed per day (UTC) at most",
    )
)
MAX_DAILY_LOSS = register(
    RuntimeSettingSpec(
        key="trading.max_daily_loss",
        type=Annotated[float, Field(ge=0)],
        default=1000.0,
        help="no new order once the day's realized loss at the broker reaches this (dollars)",
    )
)
PRICE_BAND = register(
    RuntimeSettingSpec(
        key="trading.price_band_percent",
        type=Annotated[float, Field(gt=0, le=50)],
        default=1.0,
        help="a limit price may be at most this far (percent) from the last trade in the hot store",
    )
)
ORDER_TYPES = register(
    RuntimeSettingSpec(
        key="trading.order_types",
        type=list[Literal["Limit"]],
        default=["Limit"],
        help="order types the bot sends",
    )
)
TIME_IN_FORCE = register(
    RuntimeSettingSpec(
        key="trading.time_in_force",
        type=list[Literal["Day", "GTC", "IOC"]],
        default=["Day"],
        help="times in force the bot sends",
    )
)
DRY_RUN_ONLY = register(
    RuntimeSettingSpec(
        key="trading.dry_run_only",
        type=bool,
        default=True,
        help="true: orders are dry-run at the broker and never placed",
    )
)
LIVE = register(
    RuntimeSettingSpec(
        key="trading.live",
        type=bool,
        default=False,
        help="live trading (also needs TRADING_LIVE=true and the account in trading.live_accounts); else the sandbox",
    )
)
LIVE_ACCOUNTS = register(
    RuntimeSettingSpec(
        key="trading.live_accounts",
        type=list[Annotated[str, Field(pattern=r"^[A-Z0-9]{4,16}$")]],
        default=[],
        help="accounts allowed to trade live",
    )
)
