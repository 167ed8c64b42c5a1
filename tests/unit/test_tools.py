"""The model's tools: schemas from signatures, results, errors the model can read, the store."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from openai.types.realtime import RealtimeFunctionTool

from receptionist.business import Business
from receptionist.core.counters import COUNTERS
from receptionist.store.log import AsyncStore
from receptionist.tools.call_tools import CallTools, HangupRequest, ToolOutcome, TransferRequest

MONDAY_10AM = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 10 AM in New York
SATURDAY = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
CALL = "call-1"


def tools_for(
    business: Business, store: AsyncStore, now: datetime = MONDAY_10AM, caller: str | None = None
) -> CallTools:
    return CallTools(business, store, CALL, caller_number=caller, clock=lambda: now)


def _walk(value: object) -> list[object]:
    out = [value]
    if isinstance(value, dict):
        for item in value.values():
            out += _walk(item)
    elif isinstance(value, list):
        for item in value:
            out += _walk(item)
    return out


async def test_schemas_are_realtime_function_tools(
    dental: Business, async_store: AsyncStore
) -> None:
    schemas = tools_for(dental, async_store).schemas()
    by_name = {s["name"]: s for s in schemas}
    assert set(by_name) == {
        "lookup_faq", "get_business_hours", "take_message", "transfer_call", "end_call",
    }  # fmt: skip
    for schema in schemas:
        tool = RealtimeFunctionTool.model_validate(schema)
        assert tool.type == "function" and tool.description
        assert schema["parameters"]["type"] == "object"
        assert schema["parameters"]["additionalProperties"] is False
        assert all(not (isinstance(v, dict) and "title" in v) for v in _walk(schema))
        json.dumps(schema)
    message = by_name["take_message"]["parameters"]
    assert message["required"] == ["caller_name", "callback_number", "message"]
    assert "digit by digit" in message["properties"]["callback_number"]["description"]
    transfer = by_name["transfer_call"]["parameters"]["properties"]["department"]
    assert transfer["enum"] == ["Front Desk", "Billing"]
    assert "required" not in by_name["get_business_hours"]["parameters"]


async def test_no_transfer_tool_without_departments(
    make_business: Callable[[str], Business], async_store: AsyncStore
) -> None:
    b = make_business("hours: {}")
    assert "transfer_call" not in {s["name"] for s in tools_for(b, async_store).schemas()}


async def test_lookup_faq(dental: Business, async_store: AsyncStore) -> None:
    tools = tools_for(dental, async_store)
    found = await tools.call("lookup_faq", json.dumps({"question": "Do you take Delta Dental?"}))
    assert found.ok and "Delta Dental, Cigna" in found.output and found.action is None
    missing = await tools.call("lookup_faq", json.dumps({"question": "Can I bring my dog?"}))
    assert not missing.ok and "No answer" in missing.output


async def test_get_business_hours(dental: Business, async_store: AsyncStore) -> None:
    open_now = await tools_for(dental, async_store).call("get_business_hours", "{}")
    assert "Monday, November 30, 10 AM" in open_now.output
    assert "Open now, until 5 PM today." in open_now.output
    assert "Monday to Thursday: 8 AM to 5 PM" in open_now.output
    assert "December 24 through Friday, December 25: Christmas" in open_now.output
    closed = await tools_for(dental, async_store, SATURDAY).call("get_business_hours", "")
    assert "Closed now. Opens again Monday at 8 AM." in closed.output
    assert "After hours:" in closed.output
    billing = await tools_for(dental, async_store).call(
        "get_business_hours", '{"department": "billing department"}'
    )
    assert "Billing: Open now, until 4 PM today." in billing.output
    unknown = await tools_for(dental, async_store).call(
        "get_business_hours", '{"department": "Radiology"}'
    )
    assert not unknown.ok and "no department called 'Radiology'" in unknown.output


async def test_take_message_saves_before_success(dental: Business, async_store: AsyncStore) -> None:
    await async_store.start_call(CALL, dental.slug, "+12125550123", "chan-1")
    args = {"caller_name": "Ann Lee", "callback_number": "(917) 555-0142", "message": "Reschedule"}
    taken = COUNTERS.messages_taken
    result = await tools_for(dental, async_store).call("take_message", json.dumps(args))
    assert result.ok and "Saved message number 1" in result.output
    assert COUNTERS.messages_taken == taken + 1  # receptionist_messages_taken_total
    assert "9 1 7, 5 5 5, 0 1 4 2" in result.output
    [saved] = await async_store.list_messages()
    assert (saved.caller_name, saved.callback_number, saved.message) == (
        "Ann Lee", "+19175550142", "Reschedule",
    )  # fmt: skip
    assert (saved.call_id, saved.business, saved.status) == (CALL, "example-dental", "new")
    assert result.outcome == "message_taken"  # for the call to record


async def test_invalid_number_is_rejected_with_a_reason(
    dental: Business, async_store: AsyncStore
) -> None:
    args = {"caller_name": "Bo", "callback_number": "555 0142", "message": "Call me"}
    result = await tools_for(dental, async_store).call("take_message", json.dumps(args))
    assert not result.ok
    assert "not saved" in result.output
    assert "only 7 digits; I also need the 3-digit area code" in result.output
    assert "Ask the caller again" in result.output
    assert await async_store.list_messages() == []


async def test_empty_callback_number_uses_caller_id(
    dental: Business, async_store: AsyncStore
) -> None:
    args = {"caller_name": "Cy", "callback_number": "", "message": "Hi"}
    with_id = tools_for(dental, async_store, caller="+12125550123")
    assert (await with_id.call("take_message", json.dumps(args))).ok
    without_id = await tools_for(dental, async_store).call("take_message", json.dumps(args))
    assert not without_id.ok and "no callback number" in without_id.output
    assert [m.callback_number for m in await async_store.list_messages()] == ["+12125550123"]


async def test_free_text_is_capped_and_the_cap_logged(
    dental: Business, async_store: AsyncStore, caplog: pytest.LogCaptureFixture
) -> None:
    args = {"caller_name": "N" * 500, "callback_number": "2125550123", "message": "m" * 5000}
    with caplog.at_level(logging.WARNING, logger="receptionist.tools.call_tools"):
        result = await tools_for(dental, async_store).call("take_message", json.dumps(args))
    assert result.ok and "only its first 1000 characters were kept" in result.output
    [saved] = await async_store.list_messages()
    assert len(saved.message) <= dental.messages.max_length + 1
    assert len(saved.caller_name) <= 101
    capped = [r.getMessage() for r in caplog.records if "tool argument capped" in r.getMessage()]
    assert len(capped) == 2
    assert "field=caller_name" in capped[0] and "length=500" in capped[0]
    assert "field=message" in capped[1] and "limit=1000" in capped[1]


async def test_transfer_to_a_department(dental: Business, async_store: AsyncStore) -> None:
    result = await tools_for(dental, async_store).call(
        "transfer_call", '{"department": "the front desk"}'
    )
    assert result.ok and isinstance(result.action, TransferRequest)
    assert result.action.department.name == "Front Desk"
    assert result.action.department.dial_string == "PJSIP/201"


async def test_transfer_refusals(dental: Business, async_store: AsyncStore) -> None:
    tools = tools_for(dental, async_store)
    unknown = await tools.call("transfer_call", '{"department": "Sales"}')
    assert unknown.action is None and not unknown.ok
    assert "no department called 'Sales'. Departments: Front Desk, Billing." in unknown.output
    closed = await tools_for(dental, async_store, SATURDAY).call(
        "transfer_call", '{"department": "Billing"}'
    )
    assert closed.action is None and "Billing is not available" in closed.output
    assert "take a message" in closed.output
    # The per-call cap (max_transfers: 2 in the example) stops a third transfer.
    for _ in range(2):
        assert (await tools.call("transfer_call", '{"department": "Billing"}')).action
    third = await tools.call("transfer_call", '{"department": "Billing"}')
    assert third.action is None and "no more transfers" in third.output


async def test_end_call(dental: Business, async_store: AsyncStore) -> None:
    result = await tools_for(dental, async_store).call("end_call", "{}")
    assert result == ToolOutcome("The call will end after your goodbye.", HangupRequest())


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("book_flight", "{}", "no tool called 'book_flight'"),
        ("lookup_faq", "{not json", "not valid JSON"),
        ("lookup_faq", "[1, 2]", "must be a JSON object"),
        ("lookup_faq", "{}", "question: Field required"),
        ("lookup_faq", '{"question": 5}', "question: Input should be a valid string"),
        ("end_call", '{"now": true}', "now: Extra inputs are not permitted"),
        ("take_message", '{"caller_name": "", "callback_number": "", "message": "x"}',
         "caller_name: String should have at least 1 character"),
    ],
)  # fmt: skip
async def test_bad_calls_become_readable_errors(
    dental: Business, async_store: AsyncStore, name: str, arguments: str, expected: str
) -> None:
    result = await tools_for(dental, async_store).call(name, arguments)
    assert not result.ok and result.action is None
    assert result.output.startswith("error: ") and expected in result.output


async def test_every_call_is_recorded(dental: Business, async_store: AsyncStore) -> None:
    await async_store.start_call(CALL, dental.slug, None, None)
    tools = tools_for(dental, async_store)
    await tools.call("get_business_hours", "{}")
    await tools.call("nope", '{"x": 1}')
    call = await async_store.get_call(CALL)
    assert call is not None
    assert [(t.name, t.arguments) for t in call.tool_calls] == [
        ("get_business_hours", "{}"), ("nope", '{"x": 1}'),
    ]  # fmt: skip
    assert call.tool_calls[0].result.startswith("It is Monday")
    assert call.tool_calls[1].result.startswith("error:")
    assert all(t.duration_ms >= 0 for t in call.tool_calls)
