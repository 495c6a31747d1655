"""`GET /metrics` in the Prometheus text format. One registry per app (no globals), so tests stay apart.

Counters and the latency histogram are updated as asks happen; the gauges are read from the database at
scrape time, so they are right even after a restart. Nothing here carries a caller's text or phone number."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from kb_service.ops.stats import help_request_counts

ASK_OUTCOMES = ("answered", "confirm", "escalated", "replied", "handoff", "rate_limited")


class _StateCollector(Collector):
    def __init__(self, app):
        self.app = app

    def collect(self):
        runtime = getattr(self.app.state, "runtime", None)
        if runtime is None:
            return
        store = runtime.store
        pending = GaugeMetricFamily("frontdesk_help_requests_pending", "Help requests waiting for the supervisor.")
        pending.add_metric([], help_request_counts(store)["pending"])
        yield pending
        outbox = {
            r["status"]: r["n"]
            for r in store.query("SELECT status, COUNT(*) AS n FROM outbox WHERE status != 'delivered' GROUP BY status")
        }
        backlog = GaugeMetricFamily("frontdesk_outbox_backlog", "Notifications not yet delivered (retrying).")
        backlog.add_metric([], outbox.get("pending", 0))
        yield backlog
        dead = GaugeMetricFamily("frontdesk_outbox_dead", "Notifications given up on after the retry limit.")
        dead.add_metric([], outbox.get("dead", 0))
        yield dead
        index = GaugeMetricFamily("frontdesk_index_size", "Phrasing vectors in the search index.")
        index.add_metric([], len(runtime.kb.index))
        yield index
        in_db = GaugeMetricFamily("frontdesk_phrasings_in_db", "Phrasings in the database (equals index size).")
        in_db.add_metric([], runtime.kb.phrasing_count())
        yield in_db
        quality = runtime.live_quality()
        for name, help_text, value in (
            (
                "frontdesk_answer_threshold",
                "Confidence at or above which the agent answers by itself.",
                quality.threshold,
            ),
            (
                "frontdesk_live_precision",
                "Precision of auto-answers from callers' and supervisors' verdicts.",
                quality.precision,
            ),
            ("frontdesk_live_precision_lower", "Lower end of its 95% interval.", quality.lower),
            ("frontdesk_live_precision_upper", "Upper end of its 95% interval.", quality.upper),
            (
                "frontdesk_live_precision_labels",
                "Verdicts at or above the threshold behind the estimate.",
                quality.labels,
            ),
            (
                "frontdesk_audits_waiting",
                "Sampled auto-answers waiting for the supervisor's verdict.",
                quality.audits_waiting,
            ),
        ):
            if value is not None:
                gauge = GaugeMetricFamily(name, help_text)
                gauge.add_metric([], value)
                yield gauge
        if runtime.asks is not None:  # asks / forward passes = the mean micro-batch size
            passes = CounterMetricFamily("frontdesk_ask_forward_passes", "Model forward passes made for asks.")
            passes.add_metric([], runtime.asks.batches)
            yield passes
            batched = CounterMetricFamily("frontdesk_asks_batched", "Asks that went through those passes.")
            batched.add_metric([], runtime.asks.asks)
            yield batched


class Metrics:
    def __init__(self, app):
        self.registry = CollectorRegistry(auto_describe=True)
        self.asks = Counter("frontdesk_asks", "Asks by outcome.", ["outcome"], registry=self.registry)
        # One child per outcome, made now, so zeros are exported from the first scrape.
        self._asks_by_outcome = {outcome: self.asks.labels(outcome) for outcome in ASK_OUTCOMES}
        self.ask_latency = Histogram(
            "frontdesk_ask_latency_seconds",
            "Time to answer or escalate an ask, reply sent.",
            registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.registry.register(_StateCollector(app))

    def ask_done(self, outcome: str, seconds: float) -> None:
        self._asks_by_outcome[outcome].inc()
        self.ask_latency.observe(seconds)

    def rate_limited(self, rule) -> None:
        if rule.path == "/api/ask":
            self._asks_by_outcome["rate_limited"].inc()
