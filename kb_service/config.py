"""Settings from environment variables and an optional `.env` file. Every field is in the README table."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The answering threshold on `confidence` (matching/matcher.py), chosen on the small-knowledge-base dev sets
# (CLINC150 per domain and HWU64) as the one that keeps precision >= 0.95 on every seed (docs/quality.md).
DEFAULT_MATCH_THRESHOLD = 0.96


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    data_dir: Path = Field(default=Path("./data"), alias="KB_DATA_DIR")
    # postgresql://user@host:port/db: PostgreSQL for N replicas (README "Several replicas"); unset: SQLite in data_dir.
    database_url: str | None = Field(default=None, alias="KB_DATABASE_URL")
    match_threshold: float = Field(default=DEFAULT_MATCH_THRESHOLD, ge=0.0, le=1.0, alias="KB_MATCH_THRESHOLD")
    # Two pending questions this similar are the same question: the second caller joins the first request.
    duplicate_threshold: float = Field(default=0.92, ge=0.0, le=1.0, alias="KB_DUPLICATE_THRESHOLD")
    # After an answer, pending questions at least this similar to the answered one are offered the same answer.
    similar_threshold: float = Field(default=0.82, ge=0.0, le=1.0, alias="KB_SIMILAR_THRESHOLD")
    request_timeout_seconds: float = Field(default=1800, gt=0, alias="KB_REQUEST_TIMEOUT_SECONDS")
    sweep_interval_seconds: float = Field(default=1.0, gt=0, alias="KB_SWEEP_INTERVAL_SECONDS")
    supervisor_token: str | None = Field(default=None, alias="KB_SUPERVISOR_TOKEN")
    supervisor_webhook_url: str | None = Field(default=None, alias="KB_SUPERVISOR_WEBHOOK_URL")
    # standard: signed Standard Webhooks JSON; slack: a Slack incoming-webhook message ({"text": ...}).
    supervisor_webhook_format: Literal["standard", "slack"] = Field(
        default="standard", alias="KB_SUPERVISOR_WEBHOOK_FORMAT"
    )
    caller_webhook_url: str | None = Field(default=None, alias="KB_CALLER_WEBHOOK_URL")
    # Where people reach this service (https://desk.example.com): the console link in Slack messages.
    public_url: str | None = Field(default=None, alias="KB_PUBLIC_URL")
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, alias="KB_WEBHOOK_TIMEOUT_SECONDS")
    outbox_max_attempts: int = Field(default=8, ge=1, alias="KB_OUTBOX_MAX_ATTEMPTS")
    outbox_retry_base_seconds: float = Field(default=1.0, gt=0, alias="KB_OUTBOX_RETRY_BASE_SECONDS")
    webhook_secret: str | None = Field(default=None, alias="KB_WEBHOOK_SECRET")
    demo: bool = Field(default=True, alias="KB_DEMO")
    business_name: str = Field(default="Bella Hair Studio", alias="KB_BUSINESS_NAME")
    # onnx: the same model on onnxruntime (fp32, exported once from the packaged weights; cosine >= 0.999 to
    # torch), about 3x faster per ask. See docs/performance.md.
    embedder_backend: Literal["torch", "onnx"] = Field(default="onnx", alias="KB_EMBEDDER_BACKEND")
    onnx_model_path: Path | None = Field(default=None, alias="KB_ONNX_MODEL_PATH")
    index_kind: Literal["auto", "flat", "hnsw"] = Field(default="auto", alias="KB_INDEX_KIND")
    index_exact_max: int = Field(default=50_000, ge=1, alias="KB_INDEX_EXACT_MAX")
    # Flood limits: 413 over this many body bytes; 429 past this many asks a minute per client IP (0: off).
    max_body_bytes: int = Field(default=65536, ge=0, alias="KB_MAX_BODY_BYTES")
    ask_rate_limit_per_minute: int = Field(default=60, ge=0, alias="KB_ASK_RATE_LIMIT_PER_MINUTE")
    # Calibration: the precision to aim for; the service calibrates by itself at start and after an import or
    # every N learned answers (0: only `frontdesk calibrate`).
    target_precision: float = Field(default=0.95, gt=0.0, le=1.0, alias="KB_TARGET_PRECISION")
    recalibrate_every: int = Field(default=1, ge=0, alias="KB_RECALIBRATE_EVERY")
    # Tuning (a scorer fitted to the knowledge base's own phrasings, kept only if its self-test says it helps): the
    # service tunes by itself at first, after an import and every N learned answers (0: only `frontdesk tune`).
    tune_every: int = Field(default=25, ge=0, alias="KB_TUNE_EVERY")
    # A caller's confirmed wording becomes a phrasing on its own once callers of this many different calls, from as
    # many addresses, confirmed it alike (0: only when a supervisor approves it). At least 2: one client never can.
    auto_phrasing_calls: int = Field(default=3, alias="KB_AUTO_PHRASING_CALLS")
    # Texts to callers (SMS pumping): only to a number proved with a one-time code, which expires after this;
    # at most this many texts (codes and follow-ups) an hour to one number, asked from one client IP, and in all.
    phone_code_ttl_seconds: float = Field(default=600, gt=0, alias="KB_PHONE_CODE_TTL_SECONDS")
    sms_per_number_per_hour: int = Field(default=5, ge=0, alias="KB_SMS_PER_NUMBER_PER_HOUR")
    sms_per_ip_per_hour: int = Field(default=10, ge=0, alias="KB_SMS_PER_IP_PER_HOUR")
    sms_per_hour: int = Field(default=100, ge=0, alias="KB_SMS_PER_HOUR")
    # Caller sessions (POST /api/sessions) last this long.
    session_ttl_seconds: float = Field(default=86_400, gt=0, alias="KB_SESSION_TTL_SECONDS")
    # Proxy headers (X-Forwarded-For, X-Forwarded-Proto) are believed only from these addresses (comma-separated
    # IPs or networks); none by default, so every client is its own socket's address.
    trusted_proxies: str = Field(default="", alias="KB_TRUSTED_PROXIES")
    # Open event streams (call pages) allowed per client IP and in all; more get 429 / 503.
    max_streams_per_ip: int = Field(default=8, ge=1, alias="KB_MAX_STREAMS_PER_IP")
    max_streams: int = Field(default=1000, ge=1, alias="KB_MAX_STREAMS")
    # A request body must be all there within this many seconds, however steadily it trickles (else 408).
    body_deadline_seconds: float = Field(default=30.0, gt=0, alias="KB_BODY_DEADLINE_SECONDS")
    # Open connections per client IP (0: no cap); more are closed at once. Trusted proxies are not capped.
    max_connections_per_ip: int = Field(default=64, ge=0, alias="KB_MAX_CONNECTIONS_PER_IP")
    # Callers' names, phone numbers, questions in the ask log and session events older than this are removed or
    # anonymised (0: kept for ever).
    retention_days: int = Field(default=90, ge=0, alias="KB_RETENTION_DAYS")
    # Who turns the caller's voice into text: `server` (Whisper on this machine: no audio leaves it), `browser` (the
    # browser's Web Speech API: Chrome sends the audio to Google) or `off` (typed questions only).
    speech: Literal["server", "browser", "off"] = Field(default="server", alias="KB_SPEECH")
    livekit_url: str | None = Field(default=None, alias="LIVEKIT_URL")
    livekit_api_key: str | None = Field(default=None, alias="LIVEKIT_API_KEY")
    livekit_api_secret: str | None = Field(default=None, alias="LIVEKIT_API_SECRET")

    @field_validator(
        "supervisor_token",
        "supervisor_webhook_url",
        "caller_webhook_url",
        "webhook_secret",
        "public_url",
        "database_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("auto_phrasing_calls")
    @classmethod
    def _never_one_client_alone(cls, value: int) -> int:
        if value == 1 or value < 0:
            raise ValueError("KB_AUTO_PHRASING_CALLS must be 0 (a supervisor approves each) or at least 2")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or any(c in value for c in "<>| "):
            raise ValueError("KB_PUBLIC_URL must be an http(s) address such as https://desk.example.com")
        return value

    @property
    def console_url(self) -> str | None:
        return f"{self.public_url.rstrip('/')}/supervisor/" if self.public_url else None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "frontdesk.db"

    @property
    def index_path(self) -> Path:
        return self.data_dir / "index.faiss"

    @property
    def token_path(self) -> Path:
        return self.data_dir / "supervisor_token"
