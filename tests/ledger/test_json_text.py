"""The hot path's JSON writer gives json.dumps's text exactly."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from ledger.json_text import compact_list, scalar, sorted_object

flat = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127)),
    st.sampled_from(["US", "unlock", 'say "hi"', "back\\slash", "tab\there", "é", ""]),
)


@given(flat)
def test_scalar_is_json_dumps(value):
    assert scalar(value) == json.dumps(value)


@given(st.dictionaries(st.text(), flat, max_size=8))
def test_sorted_object_is_json_dumps_sorted(mapping):
    assert sorted_object(mapping) == json.dumps(mapping, sort_keys=True)


@given(st.lists(flat, max_size=8))
def test_compact_list_is_json_dumps_compact(values):
    assert compact_list(values) == json.dumps(values, separators=(",", ":"))
