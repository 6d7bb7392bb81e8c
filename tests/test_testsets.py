"""New test sets, part 1: creating one against a reference dataset, importing candidates, the blacklist, status."""

import json

import pytest
from django.core.management import CommandError, call_command

from annotate.models import Dataset, Image
from config.exceptions import DomainError, NotFoundError
from tests.conftest import jpeg_bytes, make_user
from tests.wnids import CHIHUAHUA, GOLDFISH, TENCH
from testsets import models, selectors, services
from testsets.models import BlacklistChange, Candidate


def candidate_folder(root, files):
    """A DIR/<wnid>/<file> folder of small JPEGs, apart from the reference dataset's folder."""
    for wnid, names in files.items():
        (root / wnid).mkdir(parents=True, exist_ok=True)
        for name, color in names.items():
            (root / wnid / name).write_bytes(jpeg_bytes(color))
    return root


@pytest.fixture
def testset(unpredicted_dataset):
    return services.create_testset(name="v2", reference_name=unpredicted_dataset.name)


def test_a_test_set_has_a_reference_and_a_pool_of_its_own(testset, unpredicted_dataset):
    assert (testset.reference, testset.pool.name, testset.per_class) == (unpredicted_dataset, "v2-candidates", 10)
    assert selectors.testset_named("v2") == testset


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "no spaces"}, "test set name 'no spaces' must be letters"),
        ({"name": "x" * 90}, "at most 89"),
        ({"per_class": 0}, "images per class must be 1-1000, not 0"),
        ({"reference_name": "nowhere"}, "dataset 'nowhere' does not exist"),
    ],
)
def test_creating_a_test_set_refuses_bad_input_naming_it(unpredicted_dataset, options, message):
    with pytest.raises(DomainError, match=message):
        services.create_testset(**{"name": "v2", "reference_name": unpredicted_dataset.name, **options})
    assert not models.TestSet.objects.exists() and not Dataset.objects.filter(name__endswith="-candidates").exists()


def test_a_name_is_taken_once_and_so_is_its_pool(testset, unpredicted_dataset):
    with pytest.raises(DomainError, match="a test set named 'v2' already exists"):
        services.create_testset(name="v2", reference_name=unpredicted_dataset.name)
    Dataset.objects.create(name="v3-candidates")
    with pytest.raises(DomainError, match="dataset 'v3-candidates', the pool this test set needs, exists already"):
        services.create_testset(name="v3", reference_name=unpredicted_dataset.name)


def test_candidates_from_a_folder_join_the_pool(testset, tmp_path):
    folder = candidate_folder(
        tmp_path / "pool", {TENCH: {"t1.jpg": (1, 2, 3), "t2.jpg": (4, 5, 6)}, GOLDFISH: {"g1.jpg": (7, 8, 9)}}
    )
    summary = services.import_candidates(testset_name="v2", directory=folder)
    assert (summary["added"], summary["candidates_added"]) == (3, 3)
    candidates = {c.image.file_name: c for c in Candidate.objects.select_related("image")}
    assert {name: c.wnid for name, c in candidates.items()} == {"t1.jpg": TENCH, "t2.jpg": TENCH, "g1.jpg": GOLDFISH}
    assert all(c.image.dataset_id == testset.pool_id and c.image.sha256 for c in candidates.values())
    again = services.import_candidates(testset_name="v2", directory=folder)
    assert (again["skipped"], again["candidates_added"]) == (3, 0)


def test_a_manifest_says_where_each_candidate_came_from(testset, tmp_path):
    manifest = tmp_path / "candidates.csv"
    manifest.write_text(
        "filename,wnid,uri,source_id,search_key,date_taken,date_uploaded\n"
        f"f1.jpg,{TENCH},https://example.org/f1.jpg,8812,tench fish,2012-08-01,2013-01-02T10:00:00+00:00\n"
        f"f2.jpg,{CHIHUAHUA}\n"
    )
    summary = services.import_candidates(testset_name="v2", manifest=manifest)
    assert summary["candidates_added"] == 2
    first = Candidate.objects.select_related("image").get(image__file_name="f1.jpg")
    assert (first.source_id, first.search_key, first.image.source_uri) == (
        "8812",
        "tench fish",
        "https://example.org/f1.jpg",
    )
    assert (first.date_taken.isoformat(), first.date_uploaded.isoformat()) == (
        "2012-08-01T00:00:00+00:00",
        "2013-01-02T10:00:00+00:00",
    )
    second = Candidate.objects.get(image__file_name="f2.jpg")
    assert (second.wnid, second.source_id, second.date_taken) == (CHIHUAHUA, "", None)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (f"f1.jpg,{TENCH},,1,k,yesterday\n", "candidates.csv:3: date_taken 'yesterday' is not an ISO 8601 date"),
        (f"f1.jpg,{TENCH},,1,k,,,extra\n", "candidates.csv:3: expected 'filename,wnid,uri,source_id"),
        ("f1.jpg,n99999999\n", "candidates.csv:3"),
        (f"f1.jpg,{TENCH},,{'x' * 201}\n", "source_id is longer than 200 characters"),
        (f"f1.jpg,{TENCH}\nf1.jpg,{TENCH}\n", "f1.jpg is listed twice"),
    ],
)
def test_a_bad_manifest_is_refused_whole(testset, tmp_path, rows, message):
    manifest = tmp_path / "candidates.csv"
    manifest.write_text(f"filename,wnid\nok.jpg,{TENCH}\n" + rows)
    with pytest.raises(DomainError, match=message):
        services.import_candidates(testset_name="v2", manifest=manifest)
    assert not Image.objects.filter(dataset=testset.pool).exists() and not Candidate.objects.exists()


def test_a_blacklisted_candidate_keeps_who_when_and_why(testset, tmp_path, admin_user):
    manifest = tmp_path / "candidates.csv"
    manifest.write_text(f"f1.jpg,{TENCH}\n")
    services.import_candidates(testset_name="v2", manifest=manifest)
    candidate = Candidate.objects.get()
    with pytest.raises(DomainError, match="unknown blacklist reason 'ugly'"):
        services.set_blacklisted(candidate_id=candidate.pk, user=admin_user, reason="ugly")
    with pytest.raises(DomainError, match="say why in a note"):
        services.set_blacklisted(candidate_id=candidate.pk, user=admin_user, reason="other")
    with pytest.raises(NotFoundError, match="candidate 0 does not exist"):
        services.set_blacklisted(candidate_id=0, user=admin_user, reason="drawing")
    services.set_blacklisted(candidate_id=candidate.pk, user=admin_user, reason="drawing")
    services.set_blacklisted(candidate_id=candidate.pk, user=admin_user, reason="drawing")  # no change: no row
    services.set_blacklisted(candidate_id=candidate.pk, user=admin_user, reason="")
    candidate.refresh_from_db()
    assert candidate.blacklist_reason == ""
    history = list(BlacklistChange.objects.values_list("reason", "changed_by__username"))
    assert history == [("drawing", admin_user.username), ("", admin_user.username)]


def test_the_commands_create_fill_and_describe_a_test_set(unpredicted_dataset, tmp_path, capsys):
    call_command("create_testset", "v2", "--reference", unpredicted_dataset.name, "--per-class", "5")
    assert json.loads(capsys.readouterr().out) == {
        "testset": "v2",
        "reference": unpredicted_dataset.name,
        "pool": "v2-candidates",
    }
    call_command(
        "import_candidates", str(candidate_folder(tmp_path / "pool", {TENCH: {"t.jpg": (1, 1, 1)}})), "--testset", "v2"
    )
    assert json.loads(capsys.readouterr().out)["candidates_added"] == 1
    services.set_blacklisted(candidate_id=Candidate.objects.get().pk, user=make_user("boss", "admin"), reason="too_big")
    call_command("testset_status", "v2", "--json")
    status = json.loads(capsys.readouterr().out)
    assert (status["candidates"], status["blacklisted"], status["classes"], status["per_class"]) == (1, 1, 1, 5)
    assert status == selectors.testset_status(selectors.testset_named("v2"))
    with pytest.raises(CommandError, match="test set 'nope' does not exist"):
        call_command("testset_status", "nope")
    with pytest.raises(CommandError, match="give a folder or --manifest CSV, not both"):
        call_command("import_candidates", "--testset", "v2")
    with pytest.raises(CommandError, match="dataset 'nowhere' does not exist"):
        call_command("create_testset", "v9", "--reference", "nowhere")
