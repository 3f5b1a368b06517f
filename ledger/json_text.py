"""JSON text of small flat values, written without the json module's encoder on the hot path.

allocate_batch encodes two small JSON texts per event (its attributes and its statement line
key); json's encoder costs ~3.5 us each, which is a tenth of the ingestion budget. These
functions give the very same text as json.dumps for ints, None, bools and plain ASCII strings,
and defer to json.dumps for anything else (tests/ledger/test_json_text.py checks they agree).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

_PLAIN = re.compile(r"[ !#-\[\]-~]*\Z")
"""Printable ASCII other than a quote and a backslash: written by json.dumps as it is."""


def scalar(value: Any) -> str:
    """json.dumps(value) for a flat value."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str and _PLAIN.match(value):
        return f'"{value}"'
    if value is None:
        return "null"
    return json.dumps(value)


def sorted_object(mapping: dict[str, Any]) -> str:
    """json.dumps(mapping, sort_keys=True) for a dict of string keys and flat values."""
    return (
        "{" + ", ".join([f"{scalar(key)}: {scalar(mapping[key])}" for key in sorted(mapping)]) + "}"
    )


def compact_list(values: Iterable[Any]) -> str:
    """json.dumps(list(values), separators=(",", ":")) for flat values."""
    return "[" + ",".join([scalar(value) for value in values]) + "]"
