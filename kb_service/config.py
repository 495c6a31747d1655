"""Settings from environment variables and an optional `.env` file. Every field is in the README table."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Chosen on CLINC150 `val` with naive matching: the lowest threshold with precision >= 0.95 was 0.71 (k=1),
# 0.76 (k=5) and 0.81 (k=10); the strictest of them holds for every k. See README "Matching".
DEFAULT_MATCH_THRESHOLD = 0.81


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    data_dir: Path = Field(default=Path("./data"), alias="KB_DATA_DIR")
    match_threshold: float = Field(default=DEFAULT_MATCH_THRESHOLD, ge=0.0, le=1.0, alias="KB_MATCH_THRESHOLD")
    # Two pending questions this similar are the same question: the second caller joins the first request.
    duplicate_threshold: float = Field(default=0.92, ge=0.0, le=1.0, alias="KB_DUPLICATE_THRESHOLD")
    request_timeout_seconds: float = Field(default=1800, gt=0, alias="KB_REQUEST_TIMEOUT_SECONDS")
    sweep_interval_seconds: float = Field(default=1.0, gt=0, alias="KB_SWEEP_INTERVAL_SECONDS")
    supervisor_token: str | None = Field(default=None, alias="KB_SUPERVISOR_TOKEN")
    supervisor_webhook_url: str | None = Field(default=None, alias="KB_SUPERVISOR_WEBHOOK_URL")
    caller_webhook_url: str | None = Field(default=None, alias="KB_CALLER_WEBHOOK_URL")
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, alias="KB_WEBHOOK_TIMEOUT_SECONDS")
    outbox_max_attempts: int = Field(default=8, ge=1, alias="KB_OUTBOX_MAX_ATTEMPTS")
    outbox_retry_base_seconds: float = Field(default=1.0, gt=0, alias="KB_OUTBOX_RETRY_BASE_SECONDS")
    webhook_secret: str | None = Field(default=None, alias="KB_WEBHOOK_SECRET")
    demo: bool = Field(default=True, alias="KB_DEMO")
    business_name: str = Field(default="Bella Hair Studio", alias="KB_BUSINESS_NAME")
    # Flood limits: 413 over this many body bytes; 429 past this many asks a minute per client IP (0: off).
    max_body_bytes: int = Field(default=65536, ge=0, alias="KB_MAX_BODY_BYTES")
    ask_rate_limit_per_minute: int = Field(default=60, ge=0, alias="KB_ASK_RATE_LIMIT_PER_MINUTE")
    livekit_url: str | None = Field(default=None, alias="LIVEKIT_URL")
    livekit_api_key: str | None = Field(default=None, alias="LIVEKIT_API_KEY")
    livekit_api_secret: str | None = Field(default=None, alias="LIVEKIT_API_SECRET")

    @field_validator("supervisor_token", "supervisor_webhook_url", "caller_webhook_url", "webhook_secret",
                     mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def db_path(self) -> Path:
        return self.data_dir / "frontdesk.db"

    @property
    def index_path(self) -> Path:
        return self.data_dir / "index.faiss"

    @property
    def token_path(self) -> Path:
        return self.data_dir / "supervisor_token"
