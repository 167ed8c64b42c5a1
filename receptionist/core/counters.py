"""Process-wide event counters that /metrics exports (Prometheus `_total` counters).

Like prometheus_client's default registry, one instance per process: the code where
an event happens adds one (`COUNTERS.fallbacks[reason] += 1`) without carrying a
metrics object around, and `metrics.render` reads them. Labels are our own fixed
reason names, and the model's error codes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class EventCounters:
    fallbacks: Counter[str] = field(default_factory=Counter)  # reason -> calls handed off
    # result -> transfers: "dialled", "error", "returned_<dialstatus>" (e.g. noanswer)
    transfers: Counter[str] = field(default_factory=Counter)
    messages_taken: int = 0
    model_errors: Counter[str] = field(default_factory=Counter)  # error code -> events


COUNTERS = EventCounters()
