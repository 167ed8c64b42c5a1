"""The pipeline provider: OpenAI-compatible speech-to-text, chat and text-to-speech
endpoints, with turn-taking (endpointing, barge-in) done here by webrtcvad."""
