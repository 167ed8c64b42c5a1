"""Transfers: only to departments in the YAML, only to phones that can ring, and back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from receptionist.ari import AriClient
from receptionist.core.counters import COUNTERS
from receptionist.sandbox import SandboxInfo, chroot_command
from tests.fakes.realtime_server import Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.integration.harness import eventually
from tests.integration.live import function_outputs, has_tone, live_call
from tests.waiting import until

pytestmark = pytest.mark.integration

MESSAGE = {"caller_name": "Sam Lee", "callback_number": "+1 555 234 5678", "message": "Bill?"}


@pytest.fixture
def desk_phone(sandbox: SandboxInfo) -> Iterator[subprocess.Popen[bytes]]:
    """Desk phone 203: a real SIP user agent (sipp UAS) that answers every call."""
    command = chroot_command(
        sandbox.chroot, "sipp", "-sn", "uas", "-i", "127.0.0.1", "-mi", "127.0.0.1",
        "-p", str(sandbox.sipp_phone_port), "-rtp_echo", "-nostdin", "-timeout", "120",
    )  # fmt: skip
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    # Until sipp is listening (or has ended, which the assertion below reports).
    until(lambda: proc.poll() is not None or not _udp_port_free(sandbox.sipp_phone_port))
    assert proc.poll() is None, "sipp did not start"
    yield proc
    os.killpg(proc.pid, signal.SIGKILL)  # sipp's PID namespace goes with it
    proc.wait(5)


def _udp_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def test_transfer_to_available_phone_bridges_the_caller_with_it(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, desk_phone: object
) -> None:
    script = Script(
        replies=[
            Reply(tone24(1000, 0.5), "Connecting you to the front desk.",
                  calls=(ToolCall("transfer_call", {"department": "front desk"}),)),
        ]
    )  # fmt: skip
    async with live_call(ari, sandbox, tmp_path, script) as (live, _, call):

        async def bridged() -> bool:
            peer = await ari.get_variable(call.dialplan_id, "BRIDGEPEER")
            return bool(peer and peer.startswith("PJSIP/203-"))

        await eventually(bridged, 15)
        record = live.store.get_call(call.dialplan_id)
        assert record is not None and "transferred" in record.outcomes
        await ari.hangup(call.dialplan_id)


async def test_transfer_to_unregistered_phone_is_refused_and_a_message_taken(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    script = Script(
        replies=[
            Reply(tone24(1000, 0.3), "Let me get billing.",
                  calls=(ToolCall("transfer_call", {"department": "Billing"}),)),
            Reply(tone24(1000, 0.3), "I'll take a message.",
                  calls=(ToolCall("take_message", MESSAGE),)),
        ]
    )  # fmt: skip
    async with live_call(ari, sandbox, tmp_path, script) as (live, _, call):
        outputs = [out for _, out in await function_outputs(live, 2)]
        assert "not available" in outputs[0]
        messages = live.store.list_messages()
        assert [m.caller_name for m in messages] == ["Sam Lee"]
        channel = await ari.get_channel(call.dialplan_id)
        assert channel is not None and channel.dialplan_context == "receptionist-stasis"
        record = live.store.get_call(call.dialplan_id)
        assert record is not None and "transferred" not in record.outcomes
        await ari.hangup(call.dialplan_id)


async def test_transfer_to_department_not_in_yaml_is_refused(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    script = Script(
        replies=[
            Reply(tone24(1000, 0.3), "Transferring.",
                  calls=(ToolCall("transfer_call", {"department": "PJSIP/9999"}),)),
        ]
    )  # fmt: skip
    async with live_call(ari, sandbox, tmp_path, script) as (live, _, call):
        outputs = [out for _, out in await function_outputs(live, 1)]
        assert "Front Desk" in outputs[0] and "Billing" in outputs[0]  # offers real ones
        # The reply that asked for the transfer has played and the conversation went on:
        # a transfer, had it been accepted, would have started by now.
        assert call.peer is not None
        await call.peer.wait_frames(has_tone(1000), 13)
        await call.peer.wait_quiet()
        await live.fake.wait_for("response.create", 2)
        target = await ari.get_variable(call.dialplan_id, "RECEPTIONIST_TRANSFER_TARGET")
        assert not target
        channel = await ari.get_channel(call.dialplan_id)
        assert channel is not None and channel.dialplan_context == "receptionist-stasis"
        await ari.hangup(call.dialplan_id)


async def test_unanswered_transfer_returns_the_caller_to_the_receptionist(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    # No sipp on 203's address: the phone looks idle but the call cannot be completed.
    script = Script(
        replies=[
            Reply(tone24(1000, 0.3), "Connecting you.",
                  calls=(ToolCall("transfer_call", {"department": "Front Desk"}),)),
            Reply(tone24(1000, 0.3), "Sorry, nobody answered. Can I take a message?"),
        ]
    )  # fmt: skip
    dialled = COUNTERS.transfers["dialled"]
    returned = sum(n for k, n in COUNTERS.transfers.items() if k.startswith("returned_"))
    async with live_call(ari, sandbox, tmp_path, script) as (live, _, call):
        live.fake.wait_timeout_s = 20
        await live.fake.wait_until(lambda: len(live.fake.connections) >= 2)
        creates = await live.fake.wait_for("response.create", 2)
        instructions = creates[-1].response.instructions or ""
        assert "nobody answered" in instructions and "Front Desk" in instructions
        record = live.store.get_call(call.dialplan_id)
        assert record is not None
        assert {"transferred", "transfer_failed"} <= set(record.outcomes)
        assert COUNTERS.transfers["dialled"] == dialled + 1
        now = sum(n for k, n in COUNTERS.transfers.items() if k.startswith("returned_"))
        assert now == returned + 1  # receptionist_transfers_total{result="returned_..."}
        await ari.hangup(call.dialplan_id)


async def test_transfers_refused_by_an_unregistered_phone_do_not_use_up_the_limit(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    # max_transfers is 2: a third attempt still reaches the phone check.
    attempt = ToolCall("transfer_call", {"department": "Billing"})
    script = Script(
        replies=[Reply(tone24(1000, 0.2), "Let me try billing.", calls=(attempt,))] * 3
        + [Reply(tone24(1000, 0.2), "I'll take a message.")]
    )
    async with live_call(ari, sandbox, tmp_path, script) as (live, _, call):
        outputs = [out for _, out in await function_outputs(live, 3)]
        assert all("phone is not available" in out for out in outputs), outputs
        await ari.hangup(call.dialplan_id)
