"""One phone call: setup, the conversation with the model, caller audio, recording, handoffs."""
