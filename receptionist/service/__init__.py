"""The running service: wiring, the ARI app, health, metrics, supervisor, reclaim, config checks."""
