"""Notifications: an outbox in the call log, and the worker that delivers it.

tables.py (triggers write events with the rows they report) -> outbox.py (leased
claims, attempts) -> worker.py (documents, sends, backoff) -> webhook.py / email.py,
with formats.py, payload.py and summary.py for what is said, records.py for the CLI.
Nothing is imported here: the store's schema imports tables.py from this package.
"""
