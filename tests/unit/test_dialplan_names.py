"""The contexts the call flow sends callers into are named once (call/dialplan.py), and
each is a context of the dialplan we ship."""

from __future__ import annotations

import re
from pathlib import Path

from receptionist.call import dialplan

DIALPLAN = Path(__file__).parents[2] / "dialplan" / "receptionist.conf"


def test_every_context_the_call_flow_uses_is_in_the_shipped_dialplan() -> None:
    text = DIALPLAN.read_text()
    shipped = set(re.findall(r"^\[([\w-]+)\]", text, re.MULTILINE))
    used = {
        dialplan.FALLBACK_CONTEXT, dialplan.TRANSFER_CONTEXT, dialplan.VOICEMAIL_CONTEXT,
        dialplan.RECORD_CONTEXT,
    }  # fmt: skip
    assert used <= shipped, used - shipped
    assert f"${{{dialplan.FALLBACK_REASON_VARIABLE}}}" in text  # what the fallback reads


def test_no_other_module_spells_a_context_name() -> None:
    package = Path(dialplan.__file__).parents[1]
    names = ("receptionist-fallback", "receptionist-transfer", "receptionist-voicemail",
             "receptionist-record", "rx-media-")  # fmt: skip
    found = [
        f"{path.relative_to(package)}: {name}"
        for path in package.rglob("*.py")
        if path != Path(dialplan.__file__)
        for name in names
        if f'"{name}"' in path.read_text()
    ]
    assert found == []
