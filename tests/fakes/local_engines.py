"""Real speech engines behind the pipeline's OpenAI-compatible endpoints (test code).

`LocalEngines` is the pipeline fake with its speech ends replaced by Debian's espeak-ng
(`/v1/audio/speech`: a wav streamed from `espeak-ng --stdout`, 22.05 kHz) and the
pocketsphinx wheel's bundled US English model (`/v1/audio/transcriptions`). The chat
model stays scripted: no chat model's weights can be had here.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import wave

from aiohttp import web
from pocketsphinx import Decoder

from tests.fakes.pipeline_server import FakePipelineServer
from tests.fakes.pipeline_wire import speech_request_errors, transcription_form_errors

ESPEAK = shutil.which("espeak-ng") or "espeak-ng"


_decoder: Decoder | None = None


def recognise(pcm16k: bytes) -> str:
    """pocketsphinx's best guess at 16 kHz pcm16 mono speech (default model, loaded once:
    loading takes about a second)."""
    global _decoder
    if _decoder is None:
        _decoder = Decoder(samprate=16000, loglevel="FATAL")
    decoder = _decoder
    decoder.start_utt()
    decoder.process_raw(pcm16k, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr if hyp is not None else ""


async def speak(text: str, rate: int = 16000) -> bytes:
    """espeak-ng's voice for `text` as pcm16 mono at `rate` (for the simulated caller)."""
    process = await asyncio.create_subprocess_exec(
        ESPEAK, "-v", "en-us", "-s", "150", "--stdout", text,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = await process.communicate()
    with wave.open(io.BytesIO(out)) as w:
        pcm, native = w.readframes(w.getnframes()), w.getframerate()
    from receptionist.audio.resample import StreamResampler

    resampler = StreamResampler(native, rate)
    return resampler.process(pcm) + resampler.flush()


class LocalEngines(FakePipelineServer):
    async def _transcribe(self, request: web.Request) -> web.Response:
        form = await request.post()
        errors = transcription_form_errors(set(form.keys()))
        upload = form.get("file")
        text = ""
        if upload is not None and not isinstance(upload, str):
            with wave.open(io.BytesIO(upload.file.read()), "rb") as w:
                pcm = w.readframes(w.getnframes())
                self.transcribed.append(pcm)
                self.transcribed_rates.append(w.getframerate())
            text = await asyncio.to_thread(recognise, pcm)
        fields = {k: (v if isinstance(v, str) else "<file>") for k, v in form.items()}
        await self._record(request.path, {**fields, "heard": text}, errors)
        return web.json_response({"text": text})

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        await self._record(request.path, body, speech_request_errors(body))
        process = await asyncio.create_subprocess_exec(
            ESPEAK, "-v", "en-us", "-s", "160", "--stdout", str(body["input"]),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        response = web.StreamResponse(headers={"Content-Type": "audio/wav"})
        await response.prepare(request)
        assert process.stdout is not None
        while chunk := await process.stdout.read(4096):  # streamed as espeak-ng writes it
            await response.write(chunk)
        await process.wait()
        await response.write_eof()
        return response
