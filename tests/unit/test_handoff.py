"""Handoffs: what the transfer context is told, from the business YAML only."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from receptionist.business import Business
from receptionist.handoff.blind import transfer_variables

REPO = Path(__file__).resolve().parents[2]


def example(**routing: object) -> Business:
    data = yaml.safe_load((REPO / "config/businesses/example-dental.yaml").read_text())
    data["slug"] = "example-dental"
    data["routing"].update(routing)
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
