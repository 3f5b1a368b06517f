"""Hypothesis strategies generated from the OpenAPI document's schemas (the subset it uses).

Valid values most of the time, with near-misses mixed in (boundary numbers and lengths,
missing required fields, unknown properties), so both paths of every endpoint are exercised.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from marketplace.ingest.api.openapi import SCHEMAS

NOW = datetime.now(UTC)


def _times():
    moments = st.datetimes(
        min_value=(NOW - timedelta(days=30)).replace(tzinfo=None),
        max_value=(NOW + timedelta(days=1)).replace(tzinfo=None),
    )
    return st.one_of(
        moments.map(lambda m: m.replace(tzinfo=UTC).isoformat()),
        st.sampled_from(["2026-13-01T00:00:00Z", "yesterday", "2026-01-01T00:00:00"]),
    )


def strategy_for(schema: dict) -> st.SearchStrategy:
    """A strategy for values of a schema (mostly valid, sometimes just outside it)."""
    if "$ref" in schema:
        return st.deferred(lambda: strategy_for(SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]))
    if "enum" in schema:
        return st.sampled_from(schema["enum"] + ["other"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of(*(strategy_for({**schema, "type": k}) for k in kind))
    if kind == "integer":
        low, high = schema.get("minimum", -(2**40)), schema.get("maximum", 2**40)
        return st.one_of(
            st.integers(low, min(high, low + 200)),
            st.integers(low, high),
            st.sampled_from([low - 1, high + 1]),
        )
    if kind == "string":
        if schema.get("format") == "date-time":
            return _times()
        if "pattern" in schema:
            size = 3 if "{3}" in schema["pattern"] else 2
            return st.one_of(
                st.sampled_from(["USD", "EUR", "US", "FR", "XX"]),
                st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=size, max_size=size),
            )
        return st.text(
            min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 20) + 2
        )
    if kind == "array":
        items = strategy_for(schema.get("items", {"type": "integer"}))
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=5)
    if kind == "object":
        return _objects(schema)
    return st.none()


def _objects(schema: dict) -> st.SearchStrategy:
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    optional = [name for name in properties if name not in required]
    fixed = st.fixed_dictionaries(
        {name: strategy_for(properties[name]) for name in required},
        optional={name: strategy_for(properties[name]) for name in optional},
    )

    def spoil(value, drop, extra):
        value = dict(value)
        if drop and required:
            value.pop(required[drop % len(required)], None)
        if extra:
            value["unexpected"] = 1
        return value

    return st.one_of(
        fixed,
        st.builds(spoil, fixed, st.integers(0, 5), st.booleans()),
    )
