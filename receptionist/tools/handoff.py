"""The handoff tools on top of the call's tools: `leave_voicemail`, and `transfer_call`
with a summary for staff (what a warm transfer's whisper says).

Offered only when a department has a mailbox; like `transfer_call`, it only requests the
handoff (ToolOutcome.action), carried out once the reply saying so has played.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from pydantic import Field

from receptionist.tools.call_tools import CallTools, ToolError, ToolOutcome, TransferRequest, tool

VOICEMAIL_TOOL = "leave_voicemail"
SUMMARY_MAX = 200


class HandoffTools(CallTools):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mailboxes = [d.name for d in self.business.routing.departments if d.mailbox]
        if not self.mailboxes:
            self._tools.pop(VOICEMAIL_TOOL, None)

    def schemas(self) -> list[dict[str, Any]]:
        schemas = super().schemas()
        for schema in schemas:
            if schema["name"] == VOICEMAIL_TOOL:
                # The only valid answers: listing them stops the model inventing mailboxes.
                schema["parameters"]["properties"]["department"]["enum"] = self.mailboxes
        return schemas

    @tool
    async def transfer_call(
        self,
        department: Annotated[str, Field(description="The department to transfer the caller to.")],
        summary: Annotated[
            str,
            Field(
                description="For the staff member who answers: one short sentence with the "
                "caller's name and what they need."
            ),
        ] = "",
    ) -> ToolOutcome:
        """Transfer the caller to a department. Only after the caller confirmed they want it."""
        outcome = await super().transfer_call(department)
        if isinstance(outcome.action, TransferRequest) and summary.strip():
            # Caller-derived text, spoken to staff: capped like every such field.
            action = replace(outcome.action, summary=summary.strip()[:SUMMARY_MAX])
            return replace(outcome, action=action)
        return outcome

    @tool
    async def leave_voicemail(
        self,
        department: Annotated[str, Field(description="The department whose voicemail to use.")],
    ) -> ToolOutcome:
        """Send the caller to a department's voicemail to record a message in their own
        voice. Only when the caller asked for voicemail; otherwise offer take_message."""
        dept = self._department(department)
        if dept.mailbox is None:
            names = ", ".join(self.mailboxes)
            raise ToolError(f"{dept.name} has no voicemail (mailboxes: {names}); offer a message.")
        return ToolOutcome(
            f"Sending the caller to {dept.name}'s voicemail: say they can speak after the tone.",
            TransferRequest(dept, voicemail=True),
        )
