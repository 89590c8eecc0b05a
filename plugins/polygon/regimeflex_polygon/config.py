"""``data.yaml: providers.polygon`` — Polygon settings (never the key: that is POLYGON_API_KEY)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PolygonSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field("https://api.polygon.io", description="API root; next_url cursors are resolved against it.")
    timeout: float = Field(10.0, gt=0, description="Seconds per HTTP request.")
    max_retries: int = Field(3, ge=0, le=10, description="Retries on timeouts, 429 and 5xx.")
    backoff: float = Field(0.5, ge=0, description="Exponential backoff factor in seconds.")
    retry_after_max: float = Field(60.0, ge=0, description="Cap on a Retry-After wait.")
    limit: int = Field(50000, ge=1, le=50000, description="Bars per page.")
    grouped_min_symbols: int = Field(
        50, ge=1, description="Use grouped daily (one call per session) for at least this many symbols ..."
    )
    grouped_max_sessions: int = Field(5, ge=0, description="... when the request spans at most this many sessions.")
