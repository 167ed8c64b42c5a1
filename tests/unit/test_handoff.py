"""Handoffs: what the transfer context is told, from the business YAML only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from receptionist.ari import Event
from receptionist.ari.models import parse_event
from receptionist.business import Business, build_instructions
from receptionist.call.handoff.blind import transfer_variables, voicemail_variables
from receptionist.call.handoff.follow import Result, read_event
from receptionist.call.handoff.keypad import keypad_commands
from receptionist.core.outcomes import FallbackReason
from receptionist.store.log import AsyncStore
from receptionist.tools.call_tools import TransferRequest
from receptionist.tools.handoff import HandoffTools
from receptionist.turns.events import Fallback, Transfer

REPO = Path(__file__).resolve().parents[2]


def example(**routing: object) -> Business:
    data = yaml.safe_load((REPO / "config/businesses/example-dental.yaml").read_text())
    data["slug"] = "example-dental"
    data["routing"].update(routing)
    data.pop("keypad")  # as a business without one
    data["routing"]["departments"][0].pop("mailbox")
    return Business.model_validate(data)


def test_transfer_variables_name_the_target_and_the_hold_music() -> None:
    business = example(hold_music="jazz")
    department = business.routing.departments[0]
    assert transfer_variables(business, department) == {
        "RECEPTIONIST_TRANSFER_TARGET": "PJSIP/201",
        "__RECEPTIONIST_TRANSFER_DEPARTMENT": "Front Desk",
        "RECEPTIONIST_HOLD_MUSIC": "jazz",
    }


def test_without_hold_music_the_context_plays_ringback() -> None:
    business = example(hold_music=None)
    variables = transfer_variables(business, business.routing.departments[0])
    assert "RECEPTIONIST_HOLD_MUSIC" not in variables


def test_hold_music_must_be_a_plain_class_name() -> None:
    # It reaches the dialplan: nothing that could close a function or add an option.
    with pytest.raises(ValidationError, match="hold_music"):
        example(hold_music="default)|r")


def keypad_business(keypad: dict[str, object], mailbox: str | None = "200@default") -> Business:
    data = yaml.safe_load((REPO / "config/businesses/example-dental.yaml").read_text())
    data["slug"] = "example-dental"
    data["routing"]["departments"][0]["mailbox"] = mailbox
    data["keypad"] = keypad
    return Business.model_validate(data)


def test_keypad_keys_become_turn_commands() -> None:
    keypad = {"2": {"transfer": "front desk"}, "9": {"voicemail": "Front Desk"}}
    business = keypad_business({**keypad, "#": {"operator": True}})
    front_desk = business.routing.departments[0]
    assert keypad_commands(business) == {
        "2": Transfer(TransferRequest(front_desk)),
        "9": Transfer(TransferRequest(front_desk, voicemail=True)),
        "#": Fallback(FallbackReason.CALLER_KEYPAD),
    }


def test_without_a_keypad_0_still_reaches_the_operator() -> None:
    assert keypad_commands(example()) == {"0": Fallback(FallbackReason.CALLER_PRESSED_0)}


@pytest.mark.parametrize(
    ("keypad", "mailbox", "error"),
    [
        ({"12": {"operator": True}}, None, "not one of 0-9"),
        ({"1": {"transfer": "Dispatch"}}, None, "no department 'Dispatch'"),
        ({"9": {"voicemail": "Front Desk"}}, None, "has no mailbox"),
        ({"1": {"transfer": "Billing", "operator": True}}, None, "exactly one"),
    ],
)
def test_a_wrong_keypad_says_which_key(
    keypad: dict[str, object], mailbox: None, error: str
) -> None:
    with pytest.raises(ValidationError, match=error):
        keypad_business(keypad, mailbox)


def test_voicemail_goes_to_the_department_mailbox() -> None:
    business = keypad_business({})
    assert voicemail_variables(business.routing.departments[0]) == {
        "RECEPTIONIST_MAILBOX": "200@default",
        "__RECEPTIONIST_TRANSFER_DEPARTMENT": "Front Desk",
    }


async def test_leave_voicemail_is_offered_only_for_departments_with_a_mailbox(
    async_store: AsyncStore,
) -> None:
    without = HandoffTools(example(), async_store, "call-1")
    assert "leave_voicemail" not in [s["name"] for s in without.schemas()]
    tools = HandoffTools(keypad_business({}), async_store, "call-1")
    [schema] = [s for s in tools.schemas() if s["name"] == "leave_voicemail"]
    assert schema["parameters"]["properties"]["department"]["enum"] == ["Front Desk"]
    sent = await tools.call("leave_voicemail", json.dumps({"department": "reception"}))
    front_desk = tools.business.routing.departments[0]
    assert sent.action == TransferRequest(front_desk, voicemail=True)
    refused = await tools.call("leave_voicemail", json.dumps({"department": "Billing"}))
    assert not refused.ok and refused.action is None and "no voicemail" in refused.output


def _event(kind: str, **raw: object) -> Event:
    return parse_event({"type": kind, "application": "rx", **raw})


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (_event("Dial", caller={"id": "c1", "dialplan": {"context": "receptionist-transfer"}},
                dialstatus="ANSWER"), ("c1", Result("transfer", "answered"))),
        (_event("Dial", caller={"id": "c1", "dialplan": {"context": "receptionist-transfer"}},
                dialstatus="NOANSWER"), ("c1", Result("transfer", "missed"))),
        (_event("Dial", caller={"id": "c1", "dialplan": {"context": "receptionist-fallback"}},
                dialstatus="CANCEL"), ("c1", Result("operator", "missed"))),
        (_event("Dial", caller={"id": "c1"}, dialstatus="RINGING"), None),
        (_event("Dial", caller={"id": "other"}, dialstatus="ANSWER"), None),
        (_event("ChannelVarset", channel={"id": "c1", "name": "x", "state": "Up"},
                variable="VMSTATUS", value="SUCCESS"), ("c1", Result("voicemail", "left"))),
        (_event("ChannelVarset", channel={"id": "c1", "name": "x", "state": "Up"},
                variable="VMSTATUS", value="FAILED"), ("c1", Result("voicemail", "not_left"))),
        (_event("ChannelDestroyed", channel={"id": "c1", "name": "x", "state": "Up"}),
         ("c1", Result("ended", ""))),
        (_event("ChannelDestroyed", channel={"id": "c2", "name": "x", "state": "Up"}), None),
    ],
)  # fmt: skip
def test_what_asterisk_reports_about_a_followed_caller(
    event: Event, expected: tuple[str, Result] | None
) -> None:
    assert read_event(event, {"c1": "call-1"}) == expected


def test_the_model_is_told_the_keypad_so_it_can_tell_callers() -> None:
    keypad = {"1": {"transfer": "Front Desk"}, "9": {"voicemail": "Front Desk"},
              "0": {"operator": True}}  # fmt: skip
    instructions = build_instructions(keypad_business(keypad), datetime.now(UTC))
    assert "- 0: an operator\n- 1: Front Desk\n- 9: Front Desk voicemail" in instructions
    assert "# Keypad" not in build_instructions(keypad_business({}), datetime.now(UTC))


async def test_transfer_call_carries_the_summary_staff_will_hear(async_store: AsyncStore) -> None:
    open_hours = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # a Monday, 10 AM in New York
    tools = HandoffTools(example(), async_store, "call-1", clock=lambda: open_hours)
    [schema] = [s for s in tools.schemas() if s["name"] == "transfer_call"]
    assert "summary" in schema["parameters"]["properties"]
    arguments = {"department": "Front Desk", "summary": "Sam Lee, about a bill. " * 20}
    sent = await tools.call("transfer_call", json.dumps(arguments))
    assert isinstance(sent.action, TransferRequest)
    assert sent.action.summary.startswith("Sam Lee, about a bill.")
    assert len(sent.action.summary) <= 200  # caller-derived text, spoken to staff: capped
