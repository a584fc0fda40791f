"""Prometheus metrics of one service instance (own registry: tests run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.ami_events = Counter("kcc_ami_events_total", "AMI events applied to the model",
                                  registry=r)
        self.ami_connects = Counter("kcc_ami_connects_total", "AMI logins", registry=r)
        self.ami_connected = Gauge("kcc_ami_connected", "1 while logged in to AMI", registry=r)
        self.ami_backlog = Gauge("kcc_ami_backlog", "AMI events waiting for the model",
                                 registry=r)
        self.domain_events = Counter("kcc_domain_events_total", "Domain events published",
                                     ["event"], registry=r)
        self.live_calls = Gauge("kcc_live_calls", "Calls in progress", registry=r)
        self.calls_ended = Counter("kcc_calls_ended_total", "Calls ended", ["direction"],
                                   registry=r)
        self.apply_seconds = Histogram(
            "kcc_model_apply_seconds", "Time to apply one AMI item to the model",
            buckets=(1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2), registry=r)
        self.subscriber_failures = Counter("kcc_subscriber_failures_total",
                                           "Domain-event subscriber errors", registry=r)
        self.spool = Counter("kcc_spool_total", "Record writes by what the spool did with "
                             "them: spooled, replayed, refused (spool full), dropped "
                             "(refused by PostgreSQL on replay)", ["what"], registry=r)
        self.spool_pending = Gauge("kcc_spool_pending", "Record writes waiting in the spool",
                                   registry=r)
        self.spool_full = Gauge("kcc_spool_full", "1 while the spool is full", registry=r)
        self.bus_backlog = Gauge("kcc_bus_backlog", "Events queued per bus subscriber",
                                 ["subscriber"], registry=r)
        self.bus_dropped = Gauge("kcc_bus_dropped_total", "Live-only events dropped per "
                                 "subscriber (queue full, oldest dropped)", ["subscriber"],
                                 registry=r)
        self.task_restarts = Counter("kcc_task_restarts_total", "Supervised task restarts",
                                     ["task"], registry=r)
        self.rule_refusals = Counter("kcc_rule_refusals_total",
                                     "Actions refused by the call-script rules",
                                     ["action", "code"], registry=r)
        self.outbox_delivered = Counter("kcc_outbox_delivered_total",
                                        "Contactmomenten delivered to Open Klant", registry=r)
        self.outbox_failures = Counter("kcc_outbox_failures_total",
                                       "Failed attempts to write to Open Klant", registry=r)
        self.outbox_delay = Histogram(
            "kcc_outbox_delay_seconds", "Registration -> delivered to Open Klant",
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600), registry=r)
        self.agi_sessions = Counter("kcc_agi_sessions_total", "FastAGI sessions", ["route"],
                                    registry=r)
        self.agi_refused = Counter("kcc_agi_refused_total",
                                   "FastAGI connections refused (source not in agi_allow)",
                                   registry=r)
        self.callback_refused = Counter(
            "kcc_callback_refused_total",
            "Call-back destinations refused by the destination policy (toll-fraud guard)",
            ["reason", "where"], registry=r)
