"""No input makes the site answer 5xx: hypothesis fuzzes every route of app.url_map (the partner
API has its own fuzzers: tests/api/test_openapi.py and tests/api/test_schemathesis.py).

Everything is derived, so a page added later is fuzzed without being listed here:
- URL arguments from each rule's converters: real ids of the test world, ids no row has, the
  largest 32-bit id and past it, 40-digit numbers; hostile text for string and path parts.
- Query parameters: every name any view reads from request.args (found in the source).
- Form fields: the WTForms form(s) each view builds (found in its source), each field from its
  type: hostile text (NUL, lone surrogates, 10,000 characters, formula and markup), numbers
  with 40 digits, decimals, junk choices, files of random bytes, list rows with huge indexes;
  any field may be missing or repeated.
Each example is sent as anonymous, a creator, a participant or an admin (CSRF off, so forms
reach their services). FUZZ_EXAMPLES (default 6) is the budget per route and method.
"""

from __future__ import annotations

import inspect
import io
import os
import re
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms import fields as wtf
from wtforms.fields.core import UnboundField

from marketplace import create_app
from marketplace.accounts.sessions import start_session
from tests.conftest import FreshContextClient
from tests.web.test_route_audit import MISSING

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
ROLES = ("anonymous", "creator", "participant", "admin")

# --- what the map and the source say --------------------------------------------------------

_MAP_APP = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
ROUTES = sorted(
    (rule.endpoint, method, rule.rule)
    for rule in _MAP_APP.url_map.iter_rules()
    if not rule.endpoint.startswith("api.") and rule.endpoint != "static"
    for method in rule.methods - SKIPPED_METHODS
)
ARGS_READ = re.compile(r"(?:args|values)(?:\.get\(\s*|\[\s*)\"(\w+)\"")
DRILL = {"line", "series_id", "episode", "partner_id", "country", "kind"}
"""The statement drill-down's parameters (read through parse_drill, by name in a loop)."""


def view_args(endpoint: str) -> list[str]:
    """The query parameters a view's module reads (request.args / request.values), and `next`."""
    view = inspect.unwrap(_MAP_APP.view_functions[endpoint])
    source = Path(inspect.getsourcefile(view) or "").read_text(encoding="utf-8")
    names = set(ARGS_READ.findall(source)) | {"next"}
    if "parse_drill" in source:
        names |= DRILL
    return sorted(names)


def view_forms(endpoint: str) -> list[type[FlaskForm]]:
    """The FlaskForm classes a view builds, read from its source."""
    view = inspect.unwrap(_MAP_APP.view_functions[endpoint])
    names = set(re.findall(r"\b([A-Z]\w*Form)\(", inspect.getsource(view)))
    found = [view.__globals__.get(name) for name in sorted(names)]
    return [f for f in found if isinstance(f, type) and issubclass(f, FlaskForm)]


def unbound_fields(form: type) -> list[tuple[str, UnboundField]]:
    """(name, unbound field) of a form class and its bases, in a stable order."""
    seen: dict[str, UnboundField] = {}
    for klass in reversed(form.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, UnboundField):
                seen[name] = value
    return sorted(seen.items())


# --- strategies -------------------------------------------------------------------------------

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=30),
    st.text(st.one_of(st.characters(), SURROGATES), max_size=10),
    st.sampled_from(["\x00", "a\x00b", "=1+1", "<script>alert(1)</script>", "' OR 1=1 --",
                     "../../etc/passwd", "%00", "\r\n", " ", "é" * 300, "x" * 10_000]),
)  # fmt: skip
NUMBER_TEXT = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.sampled_from(["9" * 40, "-" + "9" * 40, "1e400", "NaN", "0.001", "1,000", "2147483648",
                     "9223372036854775808", "", "0x10", "١٢٣"]),
    HOSTILE_TEXT,
)  # fmt: skip
DECIMAL_TEXT = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str), NUMBER_TEXT
)
FILE = st.tuples(
    st.one_of(st.binary(max_size=200), st.sampled_from([b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 50,
                                                        b"\x00\x00\x00\x18ftypisom" + b"<html>"])),
    st.one_of(st.sampled_from(["a.mp4", "p.png", "series.json", "e.csv", ""]), HOSTILE_TEXT),
)  # fmt: skip


def value_strategy(field: UnboundField) -> st.SearchStrategy:
    """Values a client could send for one field."""
    kind = field.field_class
    if issubclass(kind, wtf.FileField | wtf.MultipleFileField):
        return FILE
    if issubclass(kind, wtf.IntegerField):
        return NUMBER_TEXT
    if issubclass(kind, wtf.DecimalField | wtf.FloatField):
        return DECIMAL_TEXT
    if issubclass(kind, wtf.BooleanField):
        return st.sampled_from(["y", "", "false", "0"])
    if issubclass(kind, wtf.SelectFieldBase):
        choices = field.kwargs.get("choices") or (field.args[1] if len(field.args) > 1 else [])
        values = [str(getattr(c, "value", c[0] if isinstance(c, tuple) else c)) for c in choices]
        return st.one_of(st.sampled_from(values), HOSTILE_TEXT) if values else NUMBER_TEXT
    return HOSTILE_TEXT


def field_pairs(name: str, field: UnboundField) -> st.SearchStrategy:
    """(name, value) pairs for a field: missing, once, or repeated; list rows by index."""
    if issubclass(field.field_class, wtf.SubmitField):
        return st.just([])
    if issubclass(field.field_class, wtf.FieldList):
        inner = field.args[0]
        sub = unbound_fields(inner.args[0]) if inner.field_class is wtf.FormField else []
        index = st.one_of(st.integers(0, 3), st.sampled_from([51, 10**40]))
        row = st.tuples(index, st.fixed_dictionaries(
            {}, optional={n: value_strategy(f) for n, f in sub}))  # fmt: skip
        return st.lists(row, max_size=4).map(
            lambda rows: [(f"{name}-{i}-{k}", v) for i, cells in rows for k, v in cells.items()]
        )
    one = value_strategy(field)
    return st.one_of(
        st.just([]),  # missing
        one.map(lambda v: [(name, v)]),
        st.lists(one, min_size=2, max_size=3).map(lambda vs: [(name, v) for v in vs]),
    )


def form_strategy(forms: list[type[FlaskForm]]) -> st.SearchStrategy:
    """Every field of the view's forms, each maybe missing or repeated, plus a stray one."""
    parts = [field_pairs(n, f) for form in forms for n, f in unbound_fields(form)]
    stray = st.lists(st.tuples(HOSTILE_TEXT, HOSTILE_TEXT), max_size=2)
    return st.tuples(st.tuples(*parts) if parts else st.just(()), stray).map(
        lambda both: [pair for group in both[0] for pair in group] + both[1]
    )


def url_strategy(rule: str, ids: dict) -> st.SearchStrategy:
    """The rule's path with each argument filled from its converter's strategy."""
    parts = re.split(r"(<(?:\w+(?:\([^)]*\))?:)?\w+>)", rule)

    def part(piece: str) -> st.SearchStrategy:
        match = re.fullmatch(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", piece)
        if not match:
            return st.just(piece)
        converter, name = match.groups()
        real = [str(ids[name])] if name in ids else []
        if converter == "int":
            known = [*real, str(MISSING), "0", str(2**31 - 1), str(2**31), "9" * 40]
            return st.sampled_from(known)
        text = HOSTILE_TEXT.map(lambda t: quote(t.encode("utf-8", "surrogatepass"), safe=""))
        return st.one_of(st.sampled_from([*real, "up", "down"]), text.filter(bool))

    return st.tuples(*[part(p) for p in parts]).map("".join)


def query_strategy(names: list[str]) -> st.SearchStrategy:
    """Each parameter the view reads: absent, or a hostile or numeric value; maybe repeated."""
    value = st.one_of(NUMBER_TEXT, HOSTILE_TEXT)
    pairs = st.fixed_dictionaries(
        {}, optional={n: st.lists(value, min_size=1, max_size=2) for n in names}
    ).map(lambda chosen: [(k, v) for k, vs in chosen.items() for v in vs])
    return pairs.map(encode_query)


def encode_query(pairs) -> str:
    """A query string of raw UTF-8 (lone surrogates as their bytes, as a hostile client sends)."""
    return urlencode([(k, v.encode("utf-8", "surrogatepass")) for k, v in pairs])


# --- sending ----------------------------------------------------------------------------------


def _encodable(text: str) -> str:
    """Multipart bodies are built by werkzeug from str: a lone surrogate goes as U+FFFD."""
    return text.encode("utf-8", "replace").decode("utf-8")


def send(client, method: str, path: str, query: str, pairs: list):
    """One request; form pairs urlencoded as raw bytes, or multipart when a file is in them."""
    url = f"{path}?{query}" if query else path
    if method == "GET":
        return client.get(url)
    if any(isinstance(v, tuple) for _, v in pairs):
        data: dict[str, list] = {}
        for name, value in pairs:
            if isinstance(value, tuple):
                value = (io.BytesIO(value[0]), _encodable(value[1]) or "upload")
            else:
                value = _encodable(value)
            data.setdefault(_encodable(name), []).append(value)
        return client.open(url, method=method, data=data, content_type="multipart/form-data")
    body = urlencode([(k.encode("utf-8", "surrogatepass"), v.encode("utf-8", "surrogatepass"))
                      for k, v in pairs])  # fmt: skip
    return client.open(url, method=method, data=body,
                       content_type="application/x-www-form-urlencoded")  # fmt: skip


@pytest.fixture
def clients(app, db, cast):
    """A test client per role, each with a real server-side session."""
    users = {"creator": cast.creator, "participant": cast.participant, "admin": cast.admin}
    app.test_client_class = FreshContextClient  # each request its own app context and g
    made = {"anonymous": app.test_client()}
    for role, user in users.items():
        client = app.test_client()
        token = start_session(db.session, user)
        with client.session_transaction() as session:
            session.update(_user_id=user.get_id(), _fresh=True, _sid=token,
                           _seen=int(time.time()))  # fmt: skip
        made[role] = client
        assert client.get("/auth/password").status_code == 200  # logged in
    return made


@pytest.mark.slow
@pytest.mark.parametrize(("endpoint", "method", "rule"), ROUTES, ids=lambda v: str(v))
def test_no_input_makes_a_route_answer_5xx(app, db, cast, clients, endpoint, method, rule):
    forms = view_forms(endpoint) if method != "GET" else []
    ids = cast.ids(db)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        path=url_strategy(rule, ids),
        query=query_strategy(view_args(endpoint)),
        pairs=form_strategy(forms),
    )
    def check(path, query, pairs):
        for role in ROLES:
            response = send(clients[role], method, path, query, pairs)
            assert response.status_code < 500, (role, method, path, query, pairs)

    check()


EXTREMES = ["\x00", "9" * 40, "-" + "9" * 40, "\ud800", "x" * 10_000, ""]
"""The value every field and parameter gets at once, one after the other."""


def extreme_pairs(forms: list[type[FlaskForm]], value: str) -> list:
    """Every field of the forms set to `value` (list fields: row 0 and a huge row index)."""
    pairs: list = []
    for form in forms:
        for name, field in unbound_fields(form):
            kind = field.field_class
            if issubclass(kind, wtf.SubmitField):
                continue
            if issubclass(kind, wtf.FieldList):
                inner = field.args[0]
                sub = unbound_fields(inner.args[0]) if inner.field_class is wtf.FormField else []
                pairs += [(f"{name}-{i}-{n}", value) for i in (0, 10**40) for n, _ in sub]
            elif issubclass(kind, wtf.FileField | wtf.MultipleFileField):
                pairs.append((name, (value.encode("utf-8", "surrogatepass"), value or "f")))
            else:
                pairs.append((name, value))
    return pairs


@pytest.mark.slow
@pytest.mark.parametrize("value", EXTREMES, ids=["nul", "huge", "-huge", "surrogate", "long", ""])
def test_extreme_values_in_every_field_and_parameter_at_once(
    app, db, cast, clients, value
):
    ids = cast.ids(db)
    wrong = []
    for endpoint, method, rule in ROUTES:
        forms = view_forms(endpoint) if method != "GET" else []
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>",
                      lambda m: str(ids.get(m.group(1), MISSING)), rule)  # fmt: skip
        query = encode_query([(name, value) for name in view_args(endpoint)])
        for role in ROLES:
            response = send(clients[role], method, path, query, extreme_pairs(forms, value))
            if response.status_code >= 500:
                wrong.append((role, method, path))
    assert wrong == []
