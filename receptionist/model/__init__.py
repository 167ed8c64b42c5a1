"""Model providers behind one port: OpenAI Realtime, Azure OpenAI Realtime, and a pipeline
of OpenAI-compatible speech-to-text, chat and text-to-speech servers with our own
turn-taking. Every provider emits the typed `realtime.events` the turn machine consumes."""

from receptionist.model.port import ModelSession

__all__ = ["ModelSession"]
