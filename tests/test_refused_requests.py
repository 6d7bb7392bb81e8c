"""Property: whatever is thrown at the API, it never answers a server error (5xx), and a request it refuses (4xx)
changes no row of any table.

Every operation of the OpenAPI schema, and OPTIONS on every path, gets PROBES requests from Hypothesis, each as a
role drawn from admin, reviewer, trainee and anonymous, with path ids drawn from the world's objects (other users'
included), small, negative and huge numbers and odd text; the operation's own query parameters and others of the
API's (limit, offset, after, keep, task, format, ...), present or not, as numbers of any size, odd numbers ("1e3",
"+5", "1_000", Arabic-Indic digits) and text; and bodies of random JSON, often objects with the field names of the
API's inputs, or text that does not parse. Each probe runs in a savepoint rolled back after it; the rows of every
table are fingerprinted before the first probe and inside each probe after its answer.

That is 122 (method, path) pairs x PROBES = 1,464 requests, in about 40 seconds; the module prints its count of
requests, refused and answered. Derandomized: every run sends the same requests.
"""

import json
import re
from urllib.parse import quote, urlencode

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api_world import ROLES, SPEC, module_world, report

OPERATIONS = sorted(
    {(method.upper(), path) for path, operations in SPEC["paths"].items() for method in operations}
    | {("OPTIONS", path) for path in SPEC["paths"]}
)
PROBES = 12
SENT = {"requests": 0, "refused": 0, "answered": 0}


def field_names():
    """Every property name of the schema's request bodies and every parameter name: the names a client would use."""
    names = set()
    for schema in SPEC["components"]["schemas"].values():
        names.update(schema.get("properties", {}))
    for operations in SPEC["paths"].values():
        for operation in operations.values():
            names.update(parameter["name"] for parameter in operation.get("parameters", []))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                names.update(content.get("schema", {}).get("properties", {}))
    return sorted(names)


FIELDS = field_names()
QUERY_NAMES = sorted(
    {
        parameter["name"]
        for operations in SPEC["paths"].values()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    }
)
# Where integers stop fitting: PostgreSQL's integer and bigint, and past them.
EDGES = [-1, 0, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1]
# Texts that int() or a careless parser might take for numbers.
ODD_NUMBERS = ["1e3", "0x10", " 5", "+5", "1_000", "\u0661", "", "-0", "5.0", "NaN"]

numbers = st.one_of(st.integers(-3, 40), st.sampled_from(EDGES), st.integers(-(2**70), 2**70))
texts = st.text(max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | st.floats(allow_nan=False) | texts,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(texts | st.sampled_from(FIELDS), children, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6),
    json_values,
    st.sampled_from(["{", "[1,", "\x00", "not json"]),  # sent as it is: a body that does not parse
)


def row_fingerprint():
    """One hash per table of every row in it, from one query: any insert, update or delete changes its table's."""
    quote_name = connection.ops.quote_name
    tables = sorted({model._meta.db_table for model in apps.get_models()} & set(connection.introspection.table_names()))
    parts = ", ".join(
        f"(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {quote_name(table)} t)"
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {parts}")
        return dict(zip(tables, cursor.fetchone(), strict=True))


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory, request):
    yield from module_world(django_db_blocker, tmp_path_factory)
    report(
        request.config,
        f"test_refused_requests: {SENT['requests']} requests, {SENT['refused']} refused (4xx) with no row changed, "
        f"{SENT['answered']} answered (2xx), none failed (5xx)",
    )


@pytest.fixture
def baseline(db, world):
    return row_fingerprint()


def path_values(world, path):
    """A strategy for the path's parameters: the world's objects (of every kind, other users' included), small,
    negative and huge numbers, and text."""
    ids = sorted({value for value in world.ids.values() if isinstance(value, int)})
    names = sorted({value for value in world.ids.values() if isinstance(value, str)})
    value = st.one_of(
        st.sampled_from(ids).map(str), numbers.map(str), st.sampled_from(names), texts.filter(lambda text: text != "")
    )
    return st.fixed_dictionaries(dict.fromkeys(re.findall(r"{(\w+)}", path), value))


def queries(method, path):
    """A strategy for query strings: each of the operation's own query parameters, present or not, and some of the
    API's others, as numbers of any size, odd numbers or text."""
    own = [
        parameter["name"]
        for parameter in SPEC["paths"][path].get(method.lower(), {}).get("parameters", [])
        if parameter["in"] == "query"
    ]
    value = st.one_of(st.sampled_from(EDGES).map(str), numbers.map(str), st.sampled_from(ODD_NUMBERS), texts)
    return st.builds(
        lambda mine, others: {**others, **mine},
        st.fixed_dictionaries({}, optional=dict.fromkeys(own, value)),
        st.dictionaries(st.sampled_from(QUERY_NAMES), value, max_size=2),
    )


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{method} {path}" for method, path in OPERATIONS])
def test_refused_requests_change_nothing_and_nothing_fails(world, baseline, method, path):
    clients = {
        role: Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {key}")
        for role, key in world.tokens.items()
    }
    clients["anonymous"] = Client(raise_request_exception=False)

    @settings(
        max_examples=PROBES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(
        role=st.sampled_from([*ROLES, "anonymous"]),
        values=path_values(world, path),
        query=queries(method, path),
        body=bodies,
    )
    def probe(role, values, query, body):
        url = path.format(**{name: quote(value, safe="") for name, value in values.items()})
        if query:
            url += "?" + urlencode(query)
        data = body if isinstance(body, str) else json.dumps(body) if body is not None else ""
        cache.clear()  # the login limiter's counts: one probe's failures must not lock the next out
        with transaction.atomic():
            response = clients[role].generic(method, url, data, content_type="application/json")
            changed = [table for table, rows in row_fingerprint().items() if rows != baseline[table]]
            transaction.set_rollback(True)
        SENT["requests"] += 1
        status = response.status_code
        assert status < 500, f"{method} {url} as {role} with {data[:200]!r}: {status} {response.content[:300]!r}"
        if 400 <= status < 500:
            SENT["refused"] += 1
            assert not changed, f"{method} {url} as {role} was refused ({status}) but changed {changed}"
        elif 200 <= status < 300:
            SENT["answered"] += 1

    probe()


def test_the_fingerprint_sees_every_change(db, world):
    from annotate.models import Dataset

    before = row_fingerprint()
    with transaction.atomic():
        Dataset.objects.filter(name="val").update(description="changed")
        assert [table for table, rows in row_fingerprint().items() if rows != before[table]] == ["annotate_dataset"]
        transaction.set_rollback(True)
    assert row_fingerprint() == before
