"""One reply of the pipeline: text streamed from the chat model, cut into sentences,
each spoken as soon as it is complete; what was spoken and heard is tracked per sentence
so the transcript (and the chat history) keeps only the sentences the caller heard.

Bookkeeping, no I/O of its own: the session streams, this keeps score.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

# A sentence ends at . ! ? (or a line break) followed by space; "Dr. Smith" may split
# early, which only costs a slightly earlier start of speech.
_END = re.compile(r"(?<=[.!?;:])\s+|\n+")
MIN_SENTENCE = 12  # characters: very short fragments are joined to the next sentence


def split_sentences(buffer: str, *, final: bool) -> tuple[list[str], str]:
    """Complete sentences in `buffer`, and the rest still being written."""
    parts = _END.split(buffer)
    rest = "" if final else parts.pop()
    sentences: list[str] = []
    pending = ""
    for part in parts:
        pending = f"{pending} {part}".strip() if pending else part.strip()
        if len(pending) >= MIN_SENTENCE:
            sentences.append(pending)
            pending = ""
    if pending:
        if final:
            sentences.append(pending)
        else:
            rest = f"{pending} {rest}" if rest else pending
    return sentences, rest


@dataclass
class ToolCallParts:
    """A tool call as its deltas arrive: id and name once, arguments in pieces."""

    call_id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class Reply:
    response_id: str
    item_id: str
    text: str = ""  # everything the chat model wrote
    spoken: list[str] = field(default_factory=list)  # sentences synthesized, in order
    ends_ms: list[int] = field(default_factory=list)  # audio end of each spoken sentence
    audio_ms: int = 0  # audio received so far
    calls: dict[int, ToolCallParts] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add_call_delta(
        self, index: int, call_id: str | None, name: str | None, arguments: str | None
    ) -> None:
        parts = self.calls.setdefault(index, ToolCallParts())
        if call_id:
            parts.call_id = call_id
        if name:
            parts.name += name
        if arguments:
            parts.arguments.append(arguments)

    def tool_calls(self) -> list[tuple[str, str, str]]:
        """(call id, name, arguments JSON) in the order the model gave them."""
        return [
            (p.call_id or f"call_{self.response_id}_{i}", p.name, "".join(p.arguments) or "{}")
            for i, p in sorted(self.calls.items())
        ]

    def heard_text(self, heard_ms: int | None = None) -> str:
        """The sentences whose audio was heard whole (all spoken ones when None)."""
        if heard_ms is None:
            return " ".join(self.spoken)
        return " ".join(
            s for s, end in zip(self.spoken, self.ends_ms, strict=True) if end <= heard_ms
        )

    def history_message(self, *, with_calls: bool) -> dict[str, Any] | None:
        """The assistant message for the chat history (None when it said and did nothing)."""
        message: dict[str, Any] = {"role": "assistant", "content": self.heard_text() or None}
        if with_calls and self.calls:
            message["tool_calls"] = [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}
                for call_id, name, args in self.tool_calls()
            ]
        if message["content"] is None and "tool_calls" not in message:
            return None
        return message


async def read_chat(
    reply: Reply, chunks: AsyncIterator[ChatCompletionChunk], say: Callable[[str], None]
) -> bool:
    """Feed `reply` from the chat stream: text (each sentence handed to `say` as soon as
    it is complete), tool-call deltas, token counts."""
    buffer = ""
    async for chunk in chunks:
        if chunk.usage is not None:
            reply.prompt_tokens = chunk.usage.prompt_tokens
            reply.completion_tokens = chunk.usage.completion_tokens
        for choice in chunk.choices:
            delta = choice.delta
            if delta.content:
                reply.text += delta.content
                buffer += delta.content
                ready, buffer = split_sentences(buffer, final=False)
                for sentence in ready:
                    say(sentence)
            for call in delta.tool_calls or ():
                function = call.function
                name = function.name if function else None
                reply.add_call_delta(
                    call.index, call.id, name, function.arguments if function else None
                )
    for sentence in split_sentences(buffer, final=True)[0]:
        say(sentence)
    return True


def chat_messages(
    system: str, history: Sequence[Mapping[str, Any]], outputs: Mapping[str, str]
) -> list[ChatCompletionMessageParam]:
    """The system prompt, then the history with each tool call's output right after it
    (calls without an output yet are left out: the API refuses them)."""
    out: list[Mapping[str, Any]] = [{"role": "system", "content": system}]
    for message in history:
        calls = message.get("tool_calls")
        if calls is None:
            out.append(message)
            continue
        answered = [c for c in calls if c["id"] in outputs]
        if not answered and not message.get("content"):
            continue
        out.append(
            {**message, "tool_calls": answered}
            if answered
            else {"role": "assistant", "content": message["content"]}
        )
        out.extend(
            {"role": "tool", "tool_call_id": c["id"], "content": outputs[c["id"]]} for c in answered
        )
    return cast(list[ChatCompletionMessageParam], out)
