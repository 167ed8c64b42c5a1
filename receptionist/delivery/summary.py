"""The one- or two-sentence summary in `call.ended`: from a text model when one is
configured, else (or when that fails) built from the outcomes and the message."""

from __future__ import annotations

import logging
from typing import Any

import openai
from openai import AsyncOpenAI

from receptionist.business.notifications import Summary
from receptionist.core.logs import log
from receptionist.delivery.formats import caller, outcome_labels

logger = logging.getLogger(__name__)
PROMPT_CHARS_MAX = 6000
SUMMARY_CHARS_MAX = 500
INSTRUCTIONS = (
    "You summarise phone calls a receptionist took for a small office. In one or two "
    "short sentences say who called, what they wanted and what happened (transferred, "
    "message taken, appointment booked). No greeting, no bullet points."
)


def from_outcomes(payload: dict[str, Any]) -> str:
    name, number = caller(payload)
    who = name or number or "An unknown caller"
    labels = outcome_labels((payload.get("call") or {}).get("outcomes") or [])
    text = f"{who} called" + (f" ({number})" if name and number else "") + "."
    if labels:
        text += f" Outcome: {', '.join(labels).lower()}."
    messages = payload.get("messages") or []
    if messages:
        said = " ".join(messages[0]["text"].split())
        text += f' Message: "{said[:200]}{"…" if len(said) > 200 else ""}"'
    return text


def _prompt(payload: dict[str, Any]) -> str:
    call = payload.get("call") or {}
    lines = [f"Outcomes: {', '.join(outcome_labels(call.get('outcomes') or [])) or 'none'}"]
    for m in payload.get("messages") or []:
        lines.append(f"Message from {m['caller_name']} ({m['callback_number']}): {m['text']}")
    lines += [f"{t['speaker']}: {t['text']}" for t in payload.get("transcript_excerpt") or []]
    return "\n".join(lines)[:PROMPT_CHARS_MAX]


async def summarize(config: Summary | None, payload: dict[str, Any]) -> dict[str, str]:
    """{"text", "source": "model" | "outcomes"}; never raises for a model or network fault."""
    if config is not None:
        try:
            text = await _ask_model(config, payload)
            if text:
                return {"text": text[:SUMMARY_CHARS_MAX], "source": "model"}
        except (openai.OpenAIError, LookupError) as exc:
            call_id = (payload.get("call") or {}).get("id")
            log(logger, logging.WARNING, "call summary by model failed; using outcomes",
                call_id=call_id, error=type(exc).__name__)  # fmt: skip
    return {"text": from_outcomes(payload), "source": "outcomes"}


async def _ask_model(config: Summary, payload: dict[str, Any]) -> str:
    client = AsyncOpenAI(
        api_key=config.api_key.read(),
        base_url=str(config.base_url) if config.base_url else None,
        timeout=config.timeout_seconds,
        max_retries=0,  # the worker already has a deadline; a failure falls back at once
    )
    async with client:
        completion = await client.chat.completions.create(
            model=config.model,
            messages=[
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": _prompt(payload)},
            ],
            max_completion_tokens=120,
        )
    content = completion.choices[0].message.content if completion.choices else None
    return " ".join((content or "").split())
