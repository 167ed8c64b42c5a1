"""Audio plumbing: streaming resamplers, the paced playout writer, local VAD, test tones."""

from receptionist.audio.resample import StreamResampler, caller_to_model, model_to_caller
from receptionist.audio.vad import SpeechDetector
from receptionist.audio.writer import PacedWriter, Playout

__all__ = [
    "PacedWriter",
    "Playout",
    "SpeechDetector",
    "StreamResampler",
    "caller_to_model",
    "model_to_caller",
]
