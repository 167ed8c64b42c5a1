"""docs/webhooks.md's examples work as written: its YAML loads, its verifier accepts
what the webhook sender signs and refuses a tampered body or an old timestamp."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import yaml

from receptionist.business import load_business
from receptionist.delivery.channels import channels_for
from receptionist.delivery.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.unit.delivery_helpers import HEAD

DOC = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()


def _block(language: str, index: int = 0) -> str:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.S)[index]


def test_the_documented_configuration_loads(tmp_path: Path) -> None:
    path = tmp_path / "office.yaml"
    path.write_text(yaml.safe_dump({**HEAD, **yaml.safe_load(_block("yaml"))}))
    names = [c.name for c in channels_for(load_business(path))]
    assert names == ["office-crm", "front-desk"]


def test_the_documented_document_and_verifier() -> None:
    example = json.loads(_block("json"))
    assert example["version"] == 1 and example["type"] == "call.ended"
    namespace: dict[str, object] = {}
    exec(_block("python"), namespace)  # the receiver's code, as the docs give it
    verify = namespace["verify"]
    body = json.dumps(example).encode()
    timestamp = str(int(time.time()))
    headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign("s3cret", timestamp, body)}
    assert verify(b"s3cret", headers, body)  # type: ignore[operator]
    assert not verify(b"s3cret", headers, body + b" ")  # type: ignore[operator]
    assert not verify(b"other", headers, body)  # type: ignore[operator]
    old = str(int(time.time()) - 600)
    stale = {TIMESTAMP_HEADER: old, SIGNATURE_HEADER: sign("s3cret", old, body)}
    assert not verify(b"s3cret", stale, body)  # type: ignore[operator]
