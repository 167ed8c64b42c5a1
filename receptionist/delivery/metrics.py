"""Delivery figures for /metrics, and whether /health should say `degraded`."""

from __future__ import annotations

from receptionist.delivery.worker import DeliveryStats

# A notification older than this and still not delivered means something is wrong.
DEGRADED_AFTER_S = 300.0


def metric_lines(stats: DeliveryStats) -> list[str]:
    return [
        "# HELP receptionist_deliveries_total Delivery attempts, by what came of them.",
        "# TYPE receptionist_deliveries_total counter",
        f'receptionist_deliveries_total{{result="sent"}} {stats.sent}',
        f'receptionist_deliveries_total{{result="retried"}} {stats.retried}',
        f'receptionist_deliveries_total{{result="failed"}} {stats.failed}',
        "# HELP receptionist_deliveries_oldest_pending_seconds Age of the oldest event "
        "not yet delivered to every channel.",
        "# TYPE receptionist_deliveries_oldest_pending_seconds gauge",
        f"receptionist_deliveries_oldest_pending_seconds {stats.oldest_pending_s:.3f}",
    ]


def health(stats: DeliveryStats, degraded_after_s: float = DEGRADED_AFTER_S) -> dict[str, object]:
    late = stats.oldest_pending_s > degraded_after_s
    return {"status": "degraded" if late else "ok",
            "oldest_pending_seconds": round(stats.oldest_pending_s, 1)}  # fmt: skip
