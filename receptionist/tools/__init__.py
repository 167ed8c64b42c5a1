"""The model's tools: their spec, messages, transfers, booking and the calendar."""
