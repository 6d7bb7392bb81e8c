"""The OpenAPI schema (GET /api/schema/) tells the truth: Schemathesis generates requests from it for every operation,
sends them as each role (admin, reviewer, trainee, with their API tokens) to the app in-process, and checks that no
answer is a server error and that every answer's status code, media type and body are ones the schema documents.

Each operation and role gets requests that fit the schema and requests that do not (Schemathesis' positive and
negative modes), each with its path naming the world's objects (tests/api_world.py), so that the answers are the real
ones, or with generated paths. Every request runs in a savepoint rolled back after it, so each starts from the world
as built. No operation is left out: uploads are small and prediction jobs never reach a worker here.
"""

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from django.urls import URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_world import ROLES, SPEC, TOP1, module_world, report
from tests.conftest import jpeg_bytes
from tests.wnids import TENCH

SCHEMA = schemathesis.openapi.from_dict(SPEC)
OPERATIONS = {operation.label: operation for operation in (result.ok() for result in SCHEMA.get_all_operations())}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
APP = WSGIHandler()
SENT = Counter()  # requests sent, by status code
# Requests per operation and role: at most 4 x this (Hypothesis stops early where it runs out of new requests); with
# about 70 operations and 3 roles, about 6,000 requests in about 2 minutes.
EXAMPLES = 8

# Which world object a path's parameter names, by the path's start.
OBJECTS = (
    ("/api/datasets/{name}", "name", "dataset"),
    ("/api/models/{name}", "name", "model"),
    ("/api/images/{id}", "id", "image"),
    ("/api/review-items/{id}", "id", "item"),
    ("/api/golden-items/{id}", "id", "golden"),
    ("/api/suggestions/{id}", "id", "suggestion"),
    ("/api/training/tasks/{id}", "id", "task"),
    ("/api/training/answers/{id}", "id", "answer"),
    ("/api/evaluation/phases/{id}", "id", "phase"),
    ("/api/guide/pages/{slug}/revisions/{id}", "id", "revision"),
    ("/api/guide/pages/{slug}", "slug", "page"),
    ("/api/prediction-jobs/{id}", "id", "job"),
    ("/api/imports/{id}", "id", "import_batch"),
    ("/api/synsets/{wnid}", "wnid", "wnid"),
    ("/api/guide/wnids/{wnid}", "wnid", "wnid"),
    ("/api/testsets/{name}", "name", "testset"),
    ("/api/testsets/{name}/tasks/{id}", "id", "frequency_task"),
    ("/api/testsets/{name}/candidates/{id}", "id", "candidate"),
    ("/api/testsets/{name}/classes/{wnid}", "wnid", "wnid"),
    ("/api/testsets/{name}/revisions/{number}", "number", "testset_revision"),
    ("/api/testsets/{name}/revisions/{number}/compare/{other}", "other", "testset_revision"),
    ("/api/testsets/{name}/revisions/{number}/review/classes/{wnid}", "wnid", "wnid"),
    ("/api/testsets/{name}/near-duplicates/searches/{id}", "id", "near_duplicate_search"),
    ("/api/testsets/{name}/near-duplicates/candidates/{id}", "id", "candidate"),
    ("/api/testsets/{name}/near-duplicates/thresholds/{metric}", "metric", "metric"),
)


def real_path(path, ids):
    """The path parameters that name the world's objects in `path`."""
    names = set(re.findall(r"{(\w+)}", path))
    found = {name: ids[key] for start, name, key in OBJECTS if path.startswith(start) and name in names}
    assert set(found) == names, f"{path}: no world object for {names - set(found)}"
    return found


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory, request):
    yield from module_world(django_db_blocker, tmp_path_factory)
    statuses = ", ".join(f"{count} {status}" for status, count in sorted(SENT.items()))
    report(request.config, f"test_schema_conformance: {sum(SENT.values())} requests checked ({statuses})")


@pytest.fixture
def in_process(db):
    """Django's WSGI handler as the test client runs it: a request does not close the test's database connection
    (Django closes a connection left out of autocommit when a request starts or ends)."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield APP
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


def api_routes(patterns, prefix="/"):
    """(route, view class) of every URL pattern under /api/ but the schema's own and its docs page."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from api_routes(pattern.url_patterns, route)
        elif route.startswith("/api/") and not route.startswith(("/api/schema/", "/api/docs/")):
            yield route, pattern.callback.cls


def test_the_schema_lists_every_api_operation():
    def generic(route):
        return re.sub(r"<[^>]+>|{[^}]+}", "{}", route)

    routed = {
        (method.upper(), generic(route))
        for route, view in api_routes(get_resolver().url_patterns)
        for method in ("get", "post", "put", "patch", "delete")
        if hasattr(view, method)
    }
    assert routed == {(operation.method.upper(), generic(operation.path)) for operation in OPERATIONS.values()}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_operation_conforms_to_the_schema(world, in_process, label, role):
    operation = OPERATIONS[label]
    real = real_path(operation.path, world.ids)
    cases = st.one_of(
        *(
            operation.as_strategy(mode, path_parameters=path)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            for path in (real, None)
        )
    )
    headers = {"Authorization": f"Token {world.tokens[role]}"}

    @settings(
        max_examples=4 * EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(case=cases)
    def probe(case):
        cache.clear()  # failed logins counted by one probe must not lock the next out
        with transaction.atomic():
            response = case.call(app=in_process, headers=headers)
            SENT[response.status_code] += 1
            case.validate_response(response, checks=CHECKS, headers=headers, transport_kwargs={"app": in_process})
            transaction.set_rollback(True)

    probe()


# Requests that succeed, for the writes that random input hardly ever gets through (an upload, a known image, a
# valid change of state): the schema of their answers is checked too. Not here: POST /api/prediction-jobs/, whose job
# would run a model in this process.
def successful_requests(ids):
    predictions = "filename,top1\n" + "".join(f"{name},{wnid}\n" for name, wnid in TOP1.items())
    tfds = {"initial_annots": {"a.JPEG": {"correct": [TENCH]}}}
    task = {"name": "second", "dataset": "val", "source": "slice", "offset_start": 0, "offset_end": 2}
    page = {"slug": ids["page"]}
    testset = {"name": ids["testset"]}
    revision = {**testset, "number": ids["testset_revision"]}
    selection = json.dumps({"task": ids["frequency_task"], "annotator": "crowd", "selected": [ids["task_token"]]})
    return [
        Success("admin", "POST /api/auth/token/", body={"username": "ada", "password": "pw-for-tests"}),
        Success("admin", "POST /api/datasets/{name}/manifest/", {"name": "more"}, {"file": b"z.JPEG,n01440764\n"}),
        Success(
            "admin",
            "POST /api/models/{name}/predictions/",
            {"name": "vit"},
            {"file": predictions.encode(), "dataset": "val", "format": "csv"},
        ),
        Success("admin", "POST /api/datasets/{name}/multilabel/", {"name": "val"}, {"file": json.dumps(tfds).encode()}),
        Success("admin", "PUT /api/datasets/{name}/consensus/", {"name": "val"}, {"rule": "majority", "overlap": 2}),
        Success("admin", "POST /api/datasets/{name}/aggregate/", {"name": "val"}, {}),
        Success(
            "admin",
            "POST /api/datasets/{name}/golden/",
            {"name": "val"},
            {"image": ids["free_image"], "wnid": TENCH, "answer": "correct"},
        ),
        Success("admin", "PATCH /api/golden-items/{id}/", {"id": ids["golden"]}, {"answer": "wrong"}),
        Success("admin", "DELETE /api/golden-items/{id}/", {"id": ids["golden"]}),
        Success("admin", "POST /api/review-items/{id}/adjudication/", {"id": ids["item"]}, {"verdict": "wrong"}),
        Success("reviewer", "POST /api/review-items/{id}/verdict/", {"id": ids["item"]}, {"verdict": "wrong"}),
        Success("reviewer", "PUT /api/images/{id}/problematic/", {"id": ids["image"]}, {"reason": "drawing"}),
        Success(
            "reviewer", "POST /api/suggestions/{id}/resolve/", {"id": ids["suggestion"]}, {"resolution": "accepted"}
        ),
        Success("admin", "POST /api/training/tasks/", body=task),
        Success(
            "trainee",
            "POST /api/training/tasks/{id}/answers/",
            {"id": ids["task"]},
            {"image": ids["free_image"], "wnid": TENCH},
        ),
        Success(
            "trainee",
            "POST /api/training/answers/{id}/suggestions/",
            {"id": ids["answer"]},
            {"kind": "problematic", "reason": "drawing"},
        ),
        Success(
            "admin",
            "POST /api/evaluation/phases/",
            body={"name": "third", "datasets": {"val": 1}, "participants": ["rita"]},
        ),
        Success("admin", "PATCH /api/evaluation/phases/{id}/", {"id": ids["draft"]}, {"instructions": "Look closely."}),
        Success("admin", "POST /api/evaluation/phases/{id}/open/", {"id": ids["draft"]}),
        Success("admin", "POST /api/evaluation/phases/{id}/close/", {"id": ids["phase"]}),
        Success("trainee", "POST /api/evaluation/phases/{id}/next/", {"id": ids["phase"]}),
        Success("admin", "POST /api/guide/pages/", body={"title": "Fins", "kind": "general"}),
        Success("admin", "PUT /api/guide/pages/{slug}/", page, {"title": "Tench or goldfish?"}),
        Success("admin", "POST /api/guide/pages/{slug}/attachments/", page, {"file": jpeg_bytes()}),
        Success("admin", "POST /api/guide/preview/", body={"body": "*fins*"}),
        Success(
            "admin",
            "POST /api/testsets/{name}/tasks/{id}/assignment/",
            {"name": ids["testset"], "id": ids["frequency_task"]},
            {"selected": [ids["task_token"]], "started_at": "2025-01-02T03:04:05Z"},
        ),
        Success("admin", "POST /api/testsets/", body={"name": "newer", "reference": "val", "per_class": 5}),
        Success("admin", "POST /api/testsets/{name}/revisions/preview/", testset, {"strategy": "top"}),
        Success("admin", "POST /api/testsets/{name}/revisions/{number}/dataset/", revision),
        Success(
            "admin",
            "PATCH /api/testsets/{name}/revisions/{number}/review/classes/{wnid}/marks/",
            {**revision, "wnid": ids["wnid"]},
            {"reviewed": True, "note": "fine"},
        ),
        Success("admin", "POST /api/testsets/{name}/tasks/", testset, {"annotators": 3, "min_reference": 0}),
        Success("admin", "POST /api/testsets/{name}/selections/", testset, {"file": selection.encode()}),
    ]


@dataclass
class Success:
    role: str
    label: str
    path: dict = field(default_factory=dict)
    body: object = None


SUCCESSES = [success.label for success in successful_requests(defaultdict(int))]


@pytest.mark.parametrize("label", SUCCESSES)
def test_successful_write_conforms_to_the_schema(world, in_process, label):
    success = next(success for success in successful_requests(world.ids) if success.label == label)
    operation = OPERATIONS[label]
    request = {"path_parameters": success.path}
    if success.body is not None:
        # The first media type the operation reads: JSON, or a form where it takes an upload.
        request.update(body=success.body, media_type=next(iter(operation.definition.raw["requestBody"]["content"])))
    case = operation.Case(**request)
    headers = {"Authorization": f"Token {world.tokens[success.role]}"}
    with transaction.atomic():
        response = case.call(app=in_process, headers=headers)
        SENT[response.status_code] += 1
        assert 200 <= response.status_code < 300, response.text[:500]
        case.validate_response(response, checks=CHECKS, headers=headers, transport_kwargs={"app": in_process})
        transaction.set_rollback(True)
