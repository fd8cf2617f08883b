"""Prometheus metrics, one registry per app so tests and replicas never collide."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "creators_onboard_slack_requests",
            "Slack requests handled, per listener and outcome.",
            ["listener", "outcome"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "creators_onboard_slack_ack_seconds",
            "Time from a Slack request arriving to its acknowledgement, per listener.",
            ["listener"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.workflow_events = Counter(
            "creators_onboard_workflow_events",
            "Rollout workflow transitions, per kind.",
            ["kind"],
            registry=self.registry,
        )
        self.integration_errors = Counter(
            "creators_onboard_integration_errors",
            "Errors from outside systems, per system.",
            ["system"],
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
