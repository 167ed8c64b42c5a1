"""The call log: calls, transcripts, messages, outbox, users, bookings, handoffs, retention."""
