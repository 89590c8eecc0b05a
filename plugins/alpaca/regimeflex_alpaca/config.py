"""``providers.alpaca`` (data.yaml) settings. Keys never live here: APCA_API_KEY_ID / APCA_API_SECRET_KEY."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PAPER_URL = "https://paper-api.alpaca.markets"
LIVE_URL = "https://api.alpaca.markets"
DATA_URL = "https://data.alpaca.markets"


class AlpacaSettings(BaseModel):
    """Connection settings shared by Alpaca's data and trading sides."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(PAPER_URL, description="Trading API root; the paper endpoint unless you opt into live.")
    data_url: str = Field(DATA_URL, description="Market data API root.")
    timeout: float = Field(10.0, gt=0, description="Seconds per HTTP request.")
    max_retries: int = Field(3, ge=0, le=10, description="Retries on timeouts, 429 and 5xx.")
    backoff: float = Field(0.5, ge=0, description="Exponential backoff factor in seconds.")
    retry_after_max: float = Field(60.0, ge=0, description="Cap on a Retry-After wait.")
    live_url: str = Field(LIVE_URL, description="Trading API root used only in live mode (mode: live and --live).")
    max_submit_attempts: int = Field(
        3,
        ge=1,
        le=10,
        description="Order POSTs after a 5xx/timeout/429, each preceded by a lookup of its client order id.",
    )
    extended_hours: bool = Field(False, description="Send orders with extended_hours (limit orders only).")


class AlpacaDataSettings(AlpacaSettings):
    """``data.yaml: providers.alpaca``."""

    feed: Literal["iex", "sip"] = Field("iex", description="iex (free plan) or sip (all US exchanges).")
    adjustment: Literal["raw", "split", "dividend", "all"] | None = Field(
        None,
        description="Alpaca's corporate-action adjustment; default follows data.yaml adjusted "
        "(true → all, false → raw).",
    )
    page_limit: int = Field(10000, ge=1, le=10000, description="Bars per page.")
    symbols_per_request: int = Field(100, ge=1, le=1000, description="Symbols per /v2/stocks/bars call.")
