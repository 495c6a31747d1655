"""Everything the service needs, built from Settings in one place, plus its background workers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kb_service import demo
from kb_service.auth import load_or_create_token
from kb_service.config import Settings
from kb_service.conversation.intents import IntentReader
from kb_service.desk import retention, texts
from kb_service.desk.ask_pipeline import AskPipeline
from kb_service.desk.audits import Audits
from kb_service.desk.confirmations import Confirmations
from kb_service.desk.conversation import Conversation
from kb_service.desk.delivery import WebhookDelivery
from kb_service.desk.help_requests import Channels, HelpDesk
from kb_service.desk.outbox import Outbox
from kb_service.desk.pending_phrasings import PendingPhrasings
from kb_service.desk.phones import PhoneCodes
from kb_service.desk.receptionist import Receptionist
from kb_service.desk.sessions import CallerSessions
from kb_service.desk.texts import TextCaps
from kb_service.embedding import Embedder
from kb_service.embedding.factory import make_embedder
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.knowledge.index import limit_thread_pools
from kb_service.matching import calibration, live, tuning
from kb_service.matching.matcher import Matcher
from kb_service.speech import Recognizer
from kb_service.speech.vocabulary import Vocabulary
from kb_service.storage import idempotency
from kb_service.storage.backends import open_store
from kb_service.storage.listener import ChangeListener, Listens
from kb_service.token_buckets import TokenBuckets
from models import LiveQualityPublic

log = logging.getLogger("frontdesk")

BIG_INDEX_SAVE_SECONDS = 300.0
LIVEKIT_TOKENS_PER_SESSION_PER_MINUTE = 4
TRANSCRIPTIONS_PER_SESSION_PER_MINUTE = 30  # a sentence every 2 s on average, for a whole minute
CALLERS_FIRST_SECONDS = 0.5  # the longest background work waits for asks in hand before its next step
CALIBRATION_SHARE = 0.1  # of a core at most, for calibrating and for tuning: a burst of learned answers makes one


class Worker:
    """Runs `step` every `interval` seconds on a daemon thread until stopped; `wake()` runs it sooner."""

    def __init__(self, name: str, step: Callable[[], object], interval: float):
        self.name = name
        self.step = step
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # a worker must outlive one bad round; the next round retries
                log.exception("%s failed; retrying", self.name)
            self._wake.wait(self.interval)
            self._wake.clear()


class Workers:
    """Several workers started, woken and stopped as one."""

    def __init__(self, *workers: Worker | WebhookDelivery):
        self.workers = workers

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def wake(self) -> None:
        for worker in self.workers:
            worker.wake()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


class Runtime:
    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        limit_thread_pools()
        self.token, self.token_generated = load_or_create_token(settings)
        self.store = open_store(settings)  # PostgreSQL: refuses one that is not migrated
        self.embedder = embedder or make_embedder(settings)  # built once (or shared by the tests)
        self.kb = KnowledgeBase(
            self.store, self.embedder, settings.index_path, settings.index_kind, settings.index_exact_max
        )
        self.index_status = self.kb.load_index()
        self.matcher = Matcher(self.kb, settings.match_threshold)
        with self.store.startup_lock():  # replicas starting together load the demo once
            if settings.demo and self.kb.count() == 0 and not self.store.scalar("SELECT COUNT(*) FROM help_requests"):
                demo.load(self.kb)
                self.index_status += ", demo knowledge base loaded"
                # Calibrated before the first call (a fraction of a second for the demo), so that a fresh demo's
                # first caller meets the same thresholds as the next; a business's own import calibrates in the
                # background.
                calibration.maybe_recalibrate(
                    self.matcher,
                    self.store,
                    settings.recalibrate_every,
                    settings.target_precision,
                    settings.match_threshold,
                )
        text_caps = TextCaps(settings.sms_per_number_per_hour, settings.sms_per_ip_per_hour, settings.sms_per_hour)
        self.verdicts = live.Verdicts(self.store, self.matcher, settings.match_threshold, settings.target_precision)
        self.verdicts.refresh_thresholds()
        self.outbox = Outbox(
            self.store,
            settings.webhook_secret,
            settings.webhook_timeout_seconds,
            settings.outbox_max_attempts,
            settings.outbox_retry_base_seconds,
        )
        # Console lines apart from webhooks: the supervisor's "I need help" never waits on a slow receiver.
        self.outbox_worker = Workers(
            Worker("console", self.outbox.deliver_console, settings.sweep_interval_seconds),
            WebhookDelivery(self.outbox, settings.sweep_interval_seconds),
        )
        self.desk = HelpDesk(
            self.store,
            self.kb,
            settings.business_name,
            settings.request_timeout_seconds,
            settings.duplicate_threshold,
            Channels(
                settings.supervisor_webhook_url,
                settings.caller_webhook_url,
                settings.supervisor_webhook_format,
                settings.console_url,
                settings.public_url,
                text_caps,
            ),
            self.verdicts,
            queued=self.outbox_worker.wake,
        )
        self.phone_codes = PhoneCodes(
            self.store,
            settings.business_name,
            self.outbox_worker.wake,
            settings.caller_webhook_url,
            text_caps,
            settings.phone_code_ttl_seconds,
        )
        self.audits = Audits(self.store, self.verdicts)
        self.pending_phrasings = PendingPhrasings(self.store, self.kb, settings.auto_phrasing_calls)
        self.confirmations = Confirmations(self.store, self.desk, self.pending_phrasings)
        self.sessions = CallerSessions(self.store, settings.session_ttl_seconds)
        self.livekit_tokens = TokenBuckets(LIVEKIT_TOKENS_PER_SESSION_PER_MINUTE)
        self.transcriptions = TokenBuckets(TRANSCRIPTIONS_PER_SESSION_PER_MINUTE)
        self.receptionist = Receptionist(
            self.kb,
            self.matcher,
            self.desk,
            self.confirmations,
            IntentReader(self.embedder),  # embeds the curated conversational phrasings once
            Conversation(settings.business_name, self.confirmations),
        )
        self.asks = AskPipeline(self.receptionist, self.embedder)  # its workers start with the others
        self.speech: Recognizer | None = None  # with KB_SPEECH=server, built (and its model loaded) at start
        # PostgreSQL: other replicas' changes, as they commit; SQLite has no other replicas.
        self.listener = (
            ChangeListener(self.store, {"knowledge": self.kb.sync_if_changed_elsewhere})
            if isinstance(self.store, Listens)
            else None
        )
        self.sweeper = Worker("sweeper", self._sweep, settings.sweep_interval_seconds)
        # Calibrating and tuning on a thread of their own: a long tune never holds up expiring overdue requests.
        self.learner = Worker("learner", self._learn, settings.sweep_interval_seconds)
        self._saved_version = -1
        self._saved_at = time.monotonic()
        self._keys_swept_at = float("-inf")
        self._next_run: dict[str, float] = {}  # background work -> when it may run again (`_paced`)
        self.stopping = False

    def live_quality(self) -> LiveQualityPublic:
        return self.verdicts.estimate()

    def _learn(self) -> None:
        settings = self.settings
        self._paced(
            "calibration",
            lambda: calibration.maybe_recalibrate(
                self.matcher,
                self.store,
                settings.recalibrate_every,
                settings.target_precision,
                settings.match_threshold,
                self._let_callers_first,
                then=self.verdicts.refresh_thresholds,
            ),
        )
        self._paced(
            "tune",
            lambda: tuning.maybe_tune(
                self.kb,
                settings.tune_every,
                settings.target_precision,
                settings.match_threshold,
                self._let_callers_first,
                then=self._tuned,
            ),
        )

    def _sweep(self) -> None:
        self.verdicts.refresh_thresholds()  # a new calibration, or new traffic
        self.desk.expire_overdue()  # their follow-ups wake the outbox as they commit
        self.confirmations.expire_overdue()
        self.kb.sync_if_changed_elsewhere()
        version = self.store.knowledge_version()
        # The file is only a start-up cache (the DB holds every embedding and the start-up sync catches up),
        # so a large index is written at most every BIG_INDEX_SAVE_SECONDS rather than after every learn.
        due = len(self.kb.index) <= self.settings.index_exact_max or (
            time.monotonic() - self._saved_at >= BIG_INDEX_SAVE_SECONDS
        )
        if version != self._saved_version and due:
            self.kb.save_index()
            self._saved_version = version
            self._saved_at = time.monotonic()
        if time.monotonic() - self._keys_swept_at > 3600:
            idempotency.forget_expired(self.store)
            self.sessions.forget_expired()
            self.phone_codes.forget_expired()
            texts.forget_old(self.store)
            retention.forget_old(self.store, self.settings.retention_days)
            self._keys_swept_at = time.monotonic()

    def _paced(self, name: str, work: Callable[[], object]) -> None:
        """Run background `work` (calibrating, tuning) when its turn has come; work that did something waits until
        it has used at most CALIBRATION_SHARE of a core, by its own CPU time, not the time it gave to asks."""
        if time.monotonic() < self._next_run.get(name, float("-inf")):
            return
        started = time.thread_time()
        if work():
            self._next_run[name] = time.monotonic() + (time.thread_time() - started) / CALIBRATION_SHARE

    def _tuned(self) -> None:
        """A tune was stored: answer through its adapter (or without one) and at its thresholds at once."""
        self.kb.sync_if_changed_elsewhere()
        self.verdicts.refresh_thresholds()

    def _let_callers_first(self) -> None:
        """Background work's pause: wait while asks are in hand (at most CALLERS_FIRST_SECONDS, so that it
        still moves on under steady load)."""
        self.asks.wait_idle(CALLERS_FIRST_SECONDS)

    def start(self) -> None:
        self.asks.start()  # concurrent asks share forward passes, searches and commits
        if self.settings.speech == "server":
            asks = self.asks
            self.speech = Recognizer(
                Vocabulary(self.store, self.settings.business_name), asks_idle=lambda: asks.wait_idle(0)
            )
        self.outbox_worker.start()
        self.sweeper.start()
        self.learner.start()
        if self.listener is not None:
            self.listener.start()

    def on_change(self, channel: str, handler: Callable[[], object]) -> None:
        """Run `handler` when another replica commits a change to `channel` (PostgreSQL; SQLite: never)."""
        if self.listener is not None:
            self.listener.handlers[channel] = handler

    def stop(self) -> None:
        self.stopping = True
        if self.listener is not None:
            self.listener.stop()
        self.asks.close()
        if self.speech is not None:
            self.speech.close()
        self.learner.stop()
        self.sweeper.stop()
        self.outbox_worker.stop()
        self.kb.save_index()
        self.store.close()
