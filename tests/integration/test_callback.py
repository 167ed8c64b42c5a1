"""Call back from the desk phone, in the sandbox: the staff member's phone (203, a sipp
that answers) rings; once answered, the caller's stored number is dialled through the
business's outbound context ([sandbox-outbound], through the trunk to a second sipp
standing in for the caller) and the two are bridged: each hears what the other says.
The message is then handled, and the callback is in the call log. Requests for another
number, another business's message, or from a phone that is offline are refused and
audited."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from receptionist.ari import AriClient
from receptionist.audio.tones import tone
from receptionist.sandbox import SandboxInfo, chroot_command
from receptionist.store.callbacks import set_extension
from receptionist.store.users import Users
from tests.fakes.realtime_server import Script
from tests.integration.harness import eventually
from tests.integration.live import SLUG, receptionist, tone_spans
from tests.integration.rtp import RtpPeer
from tests.unit.test_web_access import client, login
from tests.web_site import PASSWORD, serving

pytestmark = pytest.mark.integration

SIPP = Path(__file__).with_name("sipp")
NUMBER = "+15552345678"
DESK_HZ, CALLER_HZ = 700, 1000


@contextlib.contextmanager
def answering_phone(info: SandboxInfo, address: str, port: int, rtp_port: int) -> Iterator[None]:
    """A sipp that answers one call on address:port, its media on the test's RTP socket."""
    root = Path(info.chroot)
    work = Path(info.run_dir) / f"answer-{port}"
    work.mkdir(exist_ok=True)
    inside = "/" + str(work.relative_to(root))
    shutil.copy(SIPP / "answer.xml", work / "answer.xml")
    (work / "fields.csv").write_text(f"SEQUENTIAL\n{rtp_port};\n")
    command = chroot_command(
        root, "sipp", "-sf", f"{inside}/answer.xml", "-inf", f"{inside}/fields.csv",
        "-i", address, "-p", str(port), "-m", "1", "-nostdin", "-timeout", "60",
    )  # fmt: skip
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        yield
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _callbacks(data: dict[str, object]) -> None:
    data["callbacks"] = {"context": "sandbox-outbound"}


def _audit(store: object) -> list[tuple[str, str]]:
    rows = store.sql.query("SELECT action, target FROM audit ORDER BY id")  # type: ignore[attr-defined]
    return [(row["action"], row["target"]) for row in rows]


async def test_call_back_rings_the_desk_phone_then_bridges_the_caller(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    async with (
        receptionist(sandbox, tmp_path, Script(), edit=_callbacks) as live,
        RtpPeer() as desk,
        RtpPeer() as caller,
    ):
        Users(live.store.sql).add("frontdesk", PASSWORD, "staff", [SLUG])
        assert set_extension(live.store.sql, "frontdesk", "203")
        message_id = live.store.add_message(None, SLUG, "Jane Roe", NUMBER, "About my crown")
        other = live.store.add_message(None, "elsewhere", "Not Theirs", "+15550001234", "x")
        app = live.app
        with (
            answering_phone(sandbox, "127.0.0.1", sandbox.sipp_phone_port, desk.port),
            answering_phone(sandbox, sandbox.trunk_host, sandbox.far_end_port, caller.port),
        ):
            async with (
                serving(app.settings, app.businesses, lambda: app.calls, app.callbacks) as url,
                client(url) as http,
            ):
                csrf = await login(http, "frontdesk")
                inbox = await (await http.get("/inbox")).text()
                assert f'action="/messages/{message_id}/callback"' in inbox
                assert f'aria-label="Call back Jane Roe at {NUMBER}"' in inbox
                form = {"csrf": csrf, "number": NUMBER, "back": "/inbox"}
                placed = await http.post(f"/messages/{message_id}/callback", data=form)
                assert placed.status == 200, await placed.text()
                assert "Your desk phone (203) is ringing" in await placed.text()

                # The desk phone answered: it hears ringing while the caller's phone rings.
                # (US ringback, 440 + 480 Hz, from the sandbox's indications.)
                await eventually(lambda: any(tone_spans(bytes(desk.heard), 8000, 440)), 20)
                await eventually(lambda: _row(live) is not None and _row(live).answered_at, 20)
                await desk.speak(tone(DESK_HZ, 1500, 8000))
                await eventually(lambda: any(tone_spans(bytes(caller.heard), 8000, DESK_HZ)), 10)
                await caller.speak(tone(CALLER_HZ, 1500, 8000))
                await eventually(lambda: any(tone_spans(bytes(desk.heard), 8000, CALLER_HZ)), 10)

                row = _row(live)
                assert row is not None and row.direction == "callback"
                assert row.caller_number == NUMBER and row.placed_by == "frontdesk"
                assert row.message_id == message_id
                handled = live.store.get_message(message_id)
                assert handled is not None and handled.status == "handled"
                # The desk phone hangs up: the caller's side is hung up too; the row closed.
                assert row.channel_id is not None
                await ari.hangup(row.channel_id)
                await eventually(lambda: (r := _row(live)) is not None and r.ended_at, 10)
                ended = _row(live)
                assert ended is not None and "callback_answered" in ended.outcomes
                await eventually(lambda: not app.callbacks.active, 10)
                # In the call log as a callback, linked to the message it answered.
                listing = await (await http.get("/calls")).text()
                assert '<span class="badge">callback</span>' in listing
                shown = await (await http.get(f"/calls/{ended.id}")).text()
                assert f"Called back by frontdesk, answering\n  message #{message_id}" in shown

                # Forged: another number, another business's message. Both refused, audited.
                forged = await http.post(f"/messages/{message_id}/callback",
                                         data=form | {"number": "+19005550100"})  # fmt: skip
                assert forged.status == 400
                elsewhere = await http.post(f"/messages/{other}/callback", data=form)
                assert elsewhere.status == 404
                # A desk phone that is not registered (202): refused, saying why.
                assert set_extension(live.store.sql, "frontdesk", "202")
                offline = await http.post(f"/messages/{message_id}/callback", data=form)
                assert offline.status == 409
                assert "Your desk phone (202) is offline" in await offline.text()
        audit = _audit(live.store)
        assert audit[0][0] == "callback" and audit[0][1].startswith(
            f"message {message_id} to {NUMBER} from 203"
        )
        assert audit[1:] == [
            ("callback_refused", f"message {message_id}: only {NUMBER} can be called back"),
            ("callback_refused", f"message {other}: not a message of theirs"),
            ("callback_refused", f"message {message_id}: Your desk phone (202) is offline: it "
             "cannot ring. Check that it is plugged in and registered, then try again."),
        ]  # fmt: skip
        assert len(live.store.list_calls()) == 1  # no call was placed for the refusals


def _row(live: object) -> object:
    calls = [c for c in live.store.list_calls() if c.direction == "callback"]  # type: ignore[attr-defined]
    return calls[0] if calls else None
