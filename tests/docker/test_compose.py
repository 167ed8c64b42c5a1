"""docker/compose.yaml as documented. Without a model key a real SIP call on the trunk
hears the fallback prompt and is in the container's database; `asterisk -rx` works;
/health fails when the data directory can't be written. With a key (and the realtime URL
at a local fake of the model) the caller hears the model, and retention deletes the
call's recording that Asterisk made. Run by `make docker-test` (marker `docker`)."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
import wave
from pathlib import Path

import numpy as np
import pytest

from receptionist.audio.tones import dominant_frequency
from receptionist.sandbox import chroot_command
from tests.docker.conftest import ROOT, Stack
from tests.fakes.realtime_server import FakeRealtimeServer, Reply, Script
from tests.fakes.tones import tone

pytestmark = pytest.mark.docker

SCENARIO = Path(__file__).with_name("uac_listen.xml")
PROMPT = ROOT / "sounds" / "fallback.wav"
CALLER = "+15550002222"
RTP_HEADER = 12


def ulaw_decode(data: bytes) -> np.ndarray:
    """G.711 mu-law bytes to int16 samples."""
    u = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    magnitude = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)
    return np.where(u & 0x80, 0x84 - magnitude, magnitude - 0x84).astype(np.int16)


def best_match(heard: np.ndarray, prompt: np.ndarray) -> float:
    """Highest normalised correlation of the prompt against any stretch of what was heard."""
    h, p = heard.astype(np.float64), prompt.astype(np.float64)
    if len(h) < len(p):
        return 0.0
    size = 1 << int(np.ceil(np.log2(len(h) + len(p))))
    corr = np.fft.irfft(np.fft.rfft(h, size) * np.conj(np.fft.rfft(p, size)), size)
    corr = corr[: len(h) - len(p) + 1]
    energy = np.concatenate(([0.0], np.cumsum(h * h)))
    window = energy[len(p) :] - energy[: len(h) - len(p) + 1]
    scores = corr / (np.sqrt(np.maximum(window, 1e-9)) * np.linalg.norm(p))
    return float(scores.max())


async def listen_call(stack: Stack, sipp_root: Path, tmp: Path) -> tuple[bytes, str]:
    """Place one trunk call with sipp; return the mu-law audio it was sent, and sipp's stderr."""
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))
    rtp.setblocking(False)
    work = sipp_root / "tmp" / f"docker-test-{tmp.name}"
    work.mkdir(parents=True, exist_ok=True)
    inside = "/" + str(work.relative_to(sipp_root))
    shutil.copy(SCENARIO, work / "uac.xml")
    (work / "fields.csv").write_text(f"SEQUENTIAL\n{rtp.getsockname()[1]};\n")
    command = chroot_command(
        sipp_root, "sipp", f"127.0.0.1:{stack.sip_port}", "-sf", f"{inside}/uac.xml",
        "-inf", f"{inside}/fields.csv", "-s", "+15555550100", "-i", "127.0.0.1",
        "-m", "1", "-nostdin", "-timeout", "60", "-trace_err", "-error_file",
        f"{inside}/errors.log",
    )  # fmt: skip
    sipp = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    audio = bytearray()
    loop = asyncio.get_running_loop()
    waiter = asyncio.ensure_future(sipp.communicate())
    try:
        while not waiter.done():
            try:
                packet = await asyncio.wait_for(loop.sock_recv(rtp, 2048), 0.5)
            except TimeoutError:
                continue
            if len(packet) > RTP_HEADER and packet[1] & 0x7F == 0:  # PCMU
                audio += packet[RTP_HEADER:]
        _, err = await waiter
    finally:
        rtp.close()
        errors = (work / "errors.log").read_text() if (work / "errors.log").exists() else ""
        shutil.rmtree(work, ignore_errors=True)
    assert sipp.returncode == 0, f"sipp failed: {err.decode(errors='replace')[-1500:]}{errors}"
    return bytes(audio), err.decode(errors="replace")


def health(stack: Stack) -> tuple[int, dict[str, object]]:
    url = f"http://127.0.0.1:{stack.metrics_port}/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def call(
    stack: Stack, sipp_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    """One trunk call, placed once; the tests below check what it left behind."""
    tmp = tmp_path_factory.mktemp("call")
    heard, _ = asyncio.run(listen_call(stack, sipp_root, tmp))
    calls = json.loads(stack.exec("receptionist", "receptionist", "calls", "list", "--json"))
    ours = [row for row in calls if row.get("caller_number") == CALLER]
    assert len(ours) == 1, f"expected one call from {CALLER} in the container's database: {calls}"
    return {"heard": heard, "row": ours[0]}


def test_the_trunk_caller_hears_the_fallback_prompt(call: dict[str, object]) -> None:
    heard = ulaw_decode(call["heard"])  # type: ignore[arg-type]
    with wave.open(str(PROMPT)) as prompt_file:
        prompt = np.frombuffer(prompt_file.readframes(prompt_file.getnframes()), dtype="<i2")
    # Asterisk plays whole 20 ms frames: the prompt's last partial frame is not sent.
    whole = prompt[: len(prompt) // 160 * 160 - 160]
    assert len(heard) >= len(whole), f"heard {len(heard) / 8000:.2f} s of a longer prompt"
    # The whole prompt, sample for sample through G.711: not just "some audio".
    assert best_match(heard, whole) > 0.95


def test_the_call_is_in_the_containers_database(call: dict[str, object]) -> None:
    row = call["row"]
    assert isinstance(row, dict)
    assert row["business"] == "example-dental"
    assert row["ended_at"], row
    outcomes = " ".join(map(str, row.get("outcomes") or []))
    assert "fallback" in outcomes or "no_model" in outcomes, row


def test_asterisk_rx_works(stack: Stack) -> None:
    out = stack.exec("asterisk", "asterisk", "-rx", "core show version")
    assert out.startswith("Asterisk 22."), out


def test_health_fails_when_the_data_dir_cannot_be_written(stack: Stack) -> None:
    status, body = health(stack)
    assert status == 200, body
    stack.exec("receptionist", "chmod", "0555", "/var/lib/receptionist", user="root")
    try:
        status, body = health(stack)
        # Non-200, and the body names what failed: the data directory.
        assert status == 503, body
        assert "/var/lib/receptionist" in json.dumps(body), body
    finally:
        stack.exec("receptionist", "chmod", "0750", "/var/lib/receptionist", user="root")
    assert health(stack)[0] == 200


@pytest.fixture(scope="module")
def model_call(
    stack: Stack, sipp_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    """The receptionist recreated with a key and the realtime URL at a local fake of the
    model (it greets with 1 kHz); one trunk call, recorded (the business asks for it)."""

    async def place() -> dict[str, object]:
        script = Script(replies=[Reply(tone(1000, 3.0), "Thank you for calling")])
        async with FakeRealtimeServer(script, api_key="docker-test-key") as fake:
            fake.wait_timeout_s = 30
            stack.restart_receptionist(
                OPENAI_API_KEY="docker-test-key", RECEPTIONIST_REALTIME_URL=fake.url
            )
            heard, _ = await listen_call(stack, sipp_root, tmp_path_factory.mktemp("model"))
            await fake.wait_sent("response.done")
        return {"heard": heard, "invalid": fake.invalid_events}

    result = asyncio.run(place())
    calls = json.loads(stack.exec("receptionist", "receptionist", "calls", "list", "--json"))
    result["row"] = calls[0]  # newest first
    return result


def test_with_a_key_the_trunk_caller_hears_the_model(model_call: dict[str, object]) -> None:
    assert model_call["invalid"] == []
    voice = ulaw_decode(model_call["heard"])  # type: ignore[arg-type]
    assert len(voice) >= 8000 * 2, f"heard only {len(voice) / 8000:.2f} s"
    loud = np.abs(voice) > 1000
    assert loud.sum() >= 8000, "the model's greeting was not heard"
    start = int(np.argmax(loud))
    assert dominant_frequency(voice[start : start + 8000].tobytes(), 8000) == pytest.approx(
        1000, abs=15
    )
    row = model_call["row"]
    assert isinstance(row, dict)
    assert row["caller_number"] == CALLER and row["ended_at"], row
    assert not any("fallback" in str(o) for o in row.get("outcomes") or []), row


def test_retention_deletes_the_recording_asterisk_made(
    stack: Stack, model_call: dict[str, object]
) -> None:
    row = model_call["row"]
    assert isinstance(row, dict)
    # The call's ARI bridge recording: its row in the call log, made old enough for the
    # business's retention to expire it (the test can't wait a day).
    backdate = (
        "import sys; from receptionist.settings import load_settings; "
        "from receptionist.store.log import Store; s = Store(load_settings().database); "
        "rows = s.db.execute('SELECT id, path FROM recordings WHERE call_id = ?', "
        "[sys.argv[1]]).fetchall(); "
        "s.db.execute(\"UPDATE recordings SET created_at = '2000-01-01T00:00:00+00:00' "
        'WHERE call_id = ?", [sys.argv[1]]); s.db.conn.commit(); s.close(); '
        "print('\\n'.join(path for _, path in rows))"
    )
    paths = stack.exec("receptionist", "python3", "-c", backdate, str(row["id"])).split()
    assert len(paths) == 1, f"expected one recording of call {row['id']}: {paths}"
    path = paths[0]
    # Asterisk wrote it, as its own user, into the volume both containers share.
    owner = stack.exec("asterisk", "stat", "-c", "%U:%G %s", path).split()
    assert owner[0] == "asterisk:recordings" and int(owner[1]) > 44 + 8000, owner
    out = stack.exec("receptionist", "receptionist", "recordings", "purge")
    assert "deleted 1 rows, 1 files" in out, out  # the retention sweep, recordings only
    gone = stack.exec("asterisk", "sh", "-c", f"test ! -e {path} && echo gone")
    assert gone.strip() == "gone"


def test_the_images_hold_no_secret_and_run_as_their_own_users(stack: Stack) -> None:
    password = stack.ari_password
    for image in ("receptionist:local", "receptionist-asterisk:local"):
        metadata = stack.engine("image", "inspect", image) + stack.engine(
            "history", "--no-trunc", image
        )
        assert password not in metadata and "PIP_EXTRA_CA" not in metadata, image
    assert stack.exec("receptionist", "id", "-un").strip() == "receptionist"
    assert stack.exec("asterisk", "id", "-un").strip() == "asterisk"
    owner = stack.exec("receptionist", "stat", "-c", "%U %a", "/var/lib/receptionist").strip()
    assert owner == "receptionist 750"


def test_asterisk_refuses_to_start_without_a_password_or_with_a_placeholder(
    stack: Stack,
) -> None:
    def start(*env: str) -> subprocess.CompletedProcess[str]:
        options = [arg for pair in env for arg in ("-e", pair)]
        return subprocess.run(
            [stack.engine.docker, "run", "--rm", "--network", "none", *options,
             "receptionist-asterisk:local"],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip

    missing = start()
    assert missing.returncode == 64 and "set RECEPTIONIST_ARI_PASSWORD" in missing.stderr
    # The shipped pjsip.conf, with no site copy mounted over it: CHANGE-ME passwords.
    shipped = start("RECEPTIONIST_ARI_PASSWORD=a-long-random-one")
    assert shipped.returncode == 64, shipped.stderr
    assert "CHANGE-ME-AT-INSTALL passwords are still in: /etc/asterisk/pjsip.conf" in (
        shipped.stderr
    )
