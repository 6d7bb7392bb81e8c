"""Near-duplicate search of a new test set: feature and search jobs run in the background thread (no broker) as
sharded jobs, planted copies are found under the pHash, pixel, CNN and DSSIM metrics, exactly and through IVF
indexes built shard by shard (with their progress), thresholds are proposed and set,
people's verdicts and the resolution of duplicates decide which candidates sampling may take, a shard redone after
a killed worker leaves no duplicate neighbour, and the command and export. The thread reads committed rows only:
these tests are transactional."""

import csv
import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from PIL import Image as PILImage

from accounts import roles
from annotate import sharded_jobs
from annotate.image_import import import_image_folder
from annotate.models import Dataset, Image, JobState
from config.exceptions import DomainError, NotFoundError
from nearduplicates import ivf_searching, jobs, services
from nearduplicates.models import FeatureBlock, Neighbour, SearchJob, SearchShard, Threshold
from nearduplicates.searching import plan_shards
from nearduplicates.selectors import held_back_candidates, search_progress, standing
from tests.conftest import client_for, make_user
from tests.wnids import GOLDFISH, TENCH
from testsets import services as testset_services
from testsets.models import Candidate, SelectionFrequency
from testsets.models import TestSet as NewTestSet  # pytest would take a class named Test... for tests
from testsets.revisions import sample_testset

pytestmark = pytest.mark.django_db(transaction=True)

SIZE = (160, 120)
COPIED = {"copy_of_tench0.jpg": "tench0.JPEG", "copy_of_tench1.jpg": "tench1.JPEG", "copy_of_gold2.jpg": "gold2.JPEG"}


def picture(seed):
    """A photo-like JPEG: smooth random structure (low-frequency noise blown up) with a few hard-edged shapes."""
    rng = np.random.default_rng(seed)
    coarse = PILImage.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize(SIZE, PILImage.BICUBIC)
    pixels = np.asarray(coarse).copy()
    for _ in range(3):
        top, left = rng.integers(0, 90), rng.integers(0, 130)
        pixels[top : top + 30, left : left + 30] = rng.integers(0, 256, 3)
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, "JPEG", quality=92)
    return out.getvalue()


def edited(data):
    """A light edit of the picture, as a copy found on the web would be: cropped 4 %, resized, brighter,
    re-encoded at a lower JPEG quality."""
    with PILImage.open(io.BytesIO(data)) as image:
        width, height = image.size
        cropped = image.convert("RGB").crop((6, 5, width - 6, height - 5)).resize((150, 112))
    pixels = np.clip(np.asarray(cropped, np.float32) * 1.1, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, "JPEG", quality=70)
    return out.getvalue()


@pytest.fixture
def world(db, tmp_path):
    return planted_copies(tmp_path)


def planted_copies(tmp_path, more_goldfish=0):
    """Test set v2 against val (six tench, six goldfish pictures, and `more_goldfish`); its pool holds, under
    tench, edited copies of tench0, tench1 and gold2 and five fresh pictures."""
    originals = {}
    for wnid, prefix, first, count in ((TENCH, "tench", 0, 6), (GOLDFISH, "gold", 20, 6 + more_goldfish)):
        folder = tmp_path / "val" / wnid
        folder.mkdir(parents=True)
        for i in range(count):
            originals[f"{prefix}{i}.JPEG"] = picture(first + i if i < 6 else 1000 + i)
            (folder / f"{prefix}{i}.JPEG").write_bytes(originals[f"{prefix}{i}.JPEG"])
    import_image_folder(dataset_name="val", directory=tmp_path / "val")
    pool = tmp_path / "pool" / TENCH
    pool.mkdir(parents=True)
    for copy, original in COPIED.items():
        (pool / copy).write_bytes(edited(originals[original]))
    for i in range(5):
        (pool / f"fresh{i}.jpg").write_bytes(picture(100 + i))
    testset = testset_services.create_testset(name="v2", reference_name="val")
    testset_services.import_candidates(testset_name="v2", directory=pool.parent)
    return testset


def search(metric, **options):
    job = services.find_near_duplicates(testset_name="v2", against=["val"], metric=metric, **options)
    sharded_jobs.background_jobs.wait()
    job.refresh_from_db()
    assert job.state == JobState.DONE, job.error
    return job


def nearest(metric):
    """{candidate file name: (file name of its nearest neighbour, distance)}."""
    return {
        candidate: (image, distance)
        for candidate, image, distance in Neighbour.objects.filter(metric=metric, rank=1).values_list(
            "candidate__image__file_name", "image__file_name", "distance"
        )
    }


@pytest.mark.parametrize(
    "metric, options", [("phash", {}), ("pixel", {}), ("cnn", {"architecture": "resnet18", "weights": "none"})]
)
def test_each_planted_copy_has_its_original_nearest_and_nearer_than_any_clean_candidate_has_anything(
    world, metric, options
):
    job = search(metric, **options)
    # 20 vectors: `auto` searches exactly.
    assert job.index == "exact"
    found = nearest(metric)
    assert {copy: found[copy][0] for copy in COPIED} == COPIED
    copies = max(found[copy][1] for copy in COPIED)
    clean = min(distance for name, (_, distance) in found.items() if name not in COPIED)
    assert copies < clean
    # Every candidate has its k nearest among the 12 references and 7 other candidates, never itself.
    assert job.neighbours_written == 8 * 19
    assert not Neighbour.objects.filter(candidate__image__file_name="copy_of_tench0.jpg").filter(
        image__file_name="copy_of_tench0.jpg"
    )
    # The threshold proposed from the nearest distances lets the copies in and keeps the clean ones out.
    threshold = Threshold.objects.get(testset=world, metric=metric)
    assert threshold.value == threshold.proposed


def test_phash_distances_are_bit_counts_and_their_threshold_a_whole_count(world):
    search("phash", k=5)
    distances = list(Neighbour.objects.filter(metric="phash").values_list("distance", flat=True))
    assert all(0 <= distance <= 64 and distance == int(distance) for distance in distances)
    threshold = Threshold.objects.get(metric="phash")
    assert threshold.proposed == int(threshold.proposed)


def test_a_search_forced_to_ivf_finds_the_planted_copies_and_stores_neighbours_like_exact(db, tmp_path):
    planted_copies(tmp_path, more_goldfish=300)
    exact = search("pixel", k=5)
    exact_nearest = nearest("pixel")
    job = search("pixel", k=5, index="ivf", nprobe=4)
    assert (job.index, job.nprobe) == ("ivf", 4)
    found = nearest("pixel")
    assert {copy: found[copy][0] for copy in COPIED} == COPIED
    for copy in COPIED:
        assert found[copy][1] == pytest.approx(exact_nearest[copy][1], rel=1e-5)
    assert job.neighbours_written == exact.neighbours_written == 8 * 5
    assert set(Neighbour.objects.values_list("search", flat=True)) == {job.pk}
    assert not Neighbour.objects.filter(image=F("candidate__image")).exists()
    # One shard indexed val's 312 pictures and the 8 candidates (18 lists, 4 visited per query).
    progress = search_progress(job)
    assert (progress["shards_total"], progress["vectors_indexed"], progress["shards_building"]) == (1, 320, 0)
    assert progress["images_done"] == 320


def test_an_ivf_shard_shows_its_index_build_in_the_search_progress(world):
    search("pixel", k=5)  # the vectors
    job = SearchJob.objects.create(testset=world, metric="pixel", k=5, index="ivf")
    job.against.set(Dataset.objects.filter(name="val"))
    (shard_id,) = plan_shards(job)
    shard = jobs.SEARCHES.start_shard(shard_id)
    ivf_searching.build_shard_index(shard)
    progress = search_progress(job)
    assert (progress["state"], progress["index"], progress["images_total"]) == ("running", "ivf", 20)
    assert (progress["shards_building"], progress["vectors_indexed"], progress["shards_done"]) == (1, 20, 0)
    jobs.run_search_shard(shard_id)
    progress = search_progress(job)
    assert (progress["state"], progress["shards_building"], progress["vectors_indexed"]) == ("done", 0, 20)
    assert progress["neighbours_written"] == 8 * 5


def test_the_api_starts_a_search_with_its_index_and_refuses_a_bad_one_by_name(world):
    client = client_for(make_user("ada", roles.ADMIN))
    url = "/api/testsets/v2/near-duplicates/searches/"
    for body, field in (
        ({"metric": "pixel", "against": ["val"], "index": "hnsw"}, "index"),
        ({"metric": "pixel", "against": ["val"], "index": "ivf", "nprobe": 0}, "nprobe"),
        ({"metric": "phosh", "against": ["val"]}, "metric"),
    ):
        refused = client.post(url, body, content_type="application/json")
        assert refused.status_code == 400 and field in refused.json(), refused.json()
    assert not SearchJob.objects.exists()
    started = client.post(
        url, {"metric": "phash", "against": ["val"], "k": 3, "index": "exact"}, content_type="application/json"
    )
    assert started.status_code == 201
    assert (started.json()["metric"], started.json()["index"], started.json()["nprobe"]) == ("phash", "exact", 8)
    sharded_jobs.background_jobs.wait()
    assert client.get(f"{url}{started.json()['id']}/").json()["neighbours_written"] == 8 * 3


def test_features_are_computed_once_per_image_and_feature_set(world):
    search("pixel", k=5)
    blocks = FeatureBlock.objects.count()
    second = services.find_near_duplicates(testset_name="v2", against=["val"], metric="pixel", k=5)
    assert second.feature_jobs.count() == 0
    sharded_jobs.background_jobs.wait()
    assert FeatureBlock.objects.count() == blocks
    assert SearchJob.objects.get(pk=second.pk).state == JobState.DONE
    # A new search replaces the neighbours of its metric.
    assert Neighbour.objects.filter(metric="pixel").count() == 8 * 5
    assert set(Neighbour.objects.values_list("search", flat=True)) == {second.pk}


def test_the_reference_spread_over_shards_gives_the_same_neighbours_as_one_shard(world):
    search("pixel", k=6)
    whole = sorted(Neighbour.objects.values_list("candidate", "rank", "image"))
    job = search("pixel", k=6, shard_size=5)
    # Each block (val's and the pool's) became a shard of its own.
    assert job.shards.count() == 2
    assert sorted(Neighbour.objects.values_list("candidate", "rank", "image")) == whole


def test_dssim_reranks_the_neighbours_of_the_class_and_its_most_similar_class(world):
    search("pixel", k=10)
    search("ssim", k=10)
    found = nearest("ssim")
    assert {copy: found[copy][0] for copy in COPIED} == COPIED
    assert all(
        0 <= distance <= 1 for distance in Neighbour.objects.filter(metric="ssim").values_list("distance", flat=True)
    )


def test_dssim_before_any_vector_search_is_refused(world):
    with pytest.raises(DomainError, match="search with --metric pixel, cnn or phash first"):
        services.find_near_duplicates(testset_name="v2", against=["val"], metric="ssim")
    assert not SearchJob.objects.exists()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"metric": "colour"}, "metric must be one of pixel, cnn, ssim, phash"),
        ({"index": "hnsw"}, "index must be one of auto, exact, ivf, not 'hnsw'"),
        ({"index": "ivf", "nprobe": 0}, "nprobe must be 1-1024"),
        ({"k": 0}, "k must be 1-100"),
        ({"k": 101}, "k must be 1-100"),
        ({"against": []}, "name at least one dataset"),
        ({"against": ["nope"]}, "nope"),
        ({"against": ["v2-candidates"]}, "holds the candidates themselves"),
        ({"metric": "pixel", "architecture": "resnet18"}, "takes no model"),
        ({"metric": "cnn", "architecture": "resnet9000"}, "not a torchvision classification model"),
        ({"shard_size": 0}, "shard size must be"),
    ],
)
def test_bad_search_parameters_are_refused_by_name_and_start_nothing(world, options, message):
    parameters = {"testset_name": "v2", "against": ["val"], "metric": "pixel", **options}
    with pytest.raises((DomainError, NotFoundError), match=message):
        services.find_near_duplicates(**parameters)
    assert not SearchJob.objects.exists()


def test_dssim_builds_no_index(world):
    search("pixel", k=3)
    with pytest.raises(DomainError, match="builds no index") as refused:
        services.find_near_duplicates(testset_name="v2", against=["val"], metric="ssim", index="ivf")
    assert refused.value.field == "index"


def test_a_shard_redone_after_a_killed_worker_leaves_no_duplicate_neighbour(world):
    search("pixel", k=5)
    job = services.find_near_duplicates(
        testset_name="v2", against=["val"], metric="pixel", k=5, shard_size=5, batch_size=4
    )
    sharded_jobs.background_jobs.wait()
    rows = sorted(Neighbour.objects.values_list("candidate", "rank", "image", "distance"))
    # A worker killed after writing its shard's file but before acknowledging the message: the broker hands the
    # shard to another worker, which runs it again, and the job's end is reached twice.
    shard = SearchShard.objects.filter(job=job).order_by("index").first()
    SearchShard.objects.filter(pk=shard.pk).update(state=JobState.RUNNING)
    SearchJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING)
    jobs.run_search_shard(shard.pk)
    jobs.finish_search(job.pk)
    assert sorted(Neighbour.objects.values_list("candidate", "rank", "image", "distance")) == rows
    assert Neighbour.objects.count() == 8 * 5


def candidate(file_name):
    return Candidate.objects.get(image__file_name=file_name)


def test_unreviewed_neighbours_under_the_threshold_hold_candidates_back_until_reviewed(world):
    search("pixel", k=5)
    services.set_threshold(testset_name="v2", metric="pixel", value=nearest("pixel")["copy_of_tench0.jpg"][1])
    ada = make_user("ada", roles.ADMIN)
    held = held_back_candidates(world)
    copy = candidate("copy_of_tench0.jpg")
    assert "unreviewed neighbour under the pixel threshold" in held[copy.pk]
    original = Image.objects.get(file_name="tench0.JPEG")
    # Not a duplicate: nothing holds it back any more.
    services.review_pair(testset_name="v2", candidate_id=copy.pk, image_id=original.pk, verdict="distinct", user=ada)
    assert copy.pk not in held_back_candidates(world)
    # A duplicate of an original image: rejected.
    services.review_pair(testset_name="v2", candidate_id=copy.pk, image_id=original.pk, verdict="duplicate", user=ada)
    assert held_back_candidates(world)[copy.pk] == (
        f"a duplicate of reference image {original.pk} (directly or through other duplicates)"
    )
    # Taking the verdict back makes the pair unreviewed again.
    services.review_pair(testset_name="v2", candidate_id=copy.pk, image_id=original.pk, verdict="", user=ada)
    assert "unreviewed" in held_back_candidates(world)[copy.pk]


def test_a_component_touching_an_original_rejects_all_its_candidates_and_one_without_keeps_one(world):
    search("pixel", k=19)  # every other image is a neighbour of every candidate
    ada = make_user("ada", roles.ADMIN)
    Threshold.objects.filter(metric="pixel").update(value=0)
    copy, fresh0, fresh1, fresh2 = map(candidate, ["copy_of_tench0.jpg", "fresh0.jpg", "fresh1.jpg", "fresh2.jpg"])
    original = Image.objects.get(file_name="tench0.JPEG")
    for first, second in ((copy, original), (copy, fresh0.image)):
        services.review_pair(
            testset_name="v2", candidate_id=first.pk, image_id=second.pk, verdict="duplicate", user=ada
        )
    held = held_back_candidates(world)
    assert held[copy.pk].startswith("a duplicate of reference image") and held[fresh0.pk].startswith(
        "a duplicate of reference image"
    )
    # fresh1 and fresh2 share a source id: one survives, the other is its duplicate.
    Candidate.objects.filter(pk__in=[fresh1.pk, fresh2.pk]).update(source_id="flickr:42")
    held = held_back_candidates(world)
    assert (fresh1.pk in held) != (fresh2.pk in held)
    kept = fresh2 if fresh1.pk in held else fresh1
    assert held[({fresh1.pk, fresh2.pk} - {kept.pk}).pop()] == f"a duplicate of candidate {kept.pk}, which is kept"
    # A person overrules the resolution.
    services.override_resolution(testset_name="v2", candidate_id=copy.pk, decision="keep", note="a crop", user=ada)
    assert copy.pk not in held_back_candidates(world)
    assert standing(world).resolution.reasons.tolist().count("override_kept") == 1


def test_set_threshold_checks_its_value_and_goes_back_to_the_proposal(world):
    with pytest.raises(DomainError, match="no pixel neighbours yet"):
        services.set_threshold(testset_name="v2", metric="pixel", value=1.0)
    search("pixel", k=5)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(DomainError, match="a threshold is a distance of 0 or more"):
            services.set_threshold(testset_name="v2", metric="pixel", value=bad)
    assert services.set_threshold(testset_name="v2", metric="pixel", value=0.5).value == 0.5
    threshold = services.set_threshold(testset_name="v2", metric="pixel")
    assert threshold.value == threshold.proposed


def test_review_pair_refuses_what_is_not_a_neighbour_and_bad_verdicts(world):
    search("pixel", k=3)
    ada = make_user("ada", roles.ADMIN)
    copy = candidate("copy_of_tench0.jpg")
    far = Image.objects.exclude(pk__in=Neighbour.objects.filter(candidate=copy).values("image")).exclude(
        pk=copy.image_id
    )[0]
    with pytest.raises(NotFoundError, match="is not a neighbour of candidate"):
        services.review_pair(testset_name="v2", candidate_id=copy.pk, image_id=far.pk, verdict="duplicate", user=ada)
    neighbour = Neighbour.objects.filter(candidate=copy).first().image_id
    with pytest.raises(DomainError, match="verdict must be one of duplicate, distinct"):
        services.review_pair(testset_name="v2", candidate_id=copy.pk, image_id=neighbour, verdict="same", user=ada)


def test_the_commands_search_and_export_the_neighbours_by_file_name(world, tmp_path):
    out = io.StringIO()
    call_command(
        "find_near_duplicates", "--testset", "v2", "--against", "val", "--metric", "pixel", "--k", "4", stdout=out
    )
    assert "32 pixel neighbours written" in out.getvalue()
    path = tmp_path / "neighbours.csv"
    call_command("export_near_duplicates", "--testset", "v2", "--out", str(path), stdout=io.StringIO())
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 32
    assert list(rows[0]) == ["candidate", "neighbour", "neighbour_dataset", "metric", "distance", "rank"]
    first = next(row for row in rows if row["candidate"] == "copy_of_tench0.jpg" and row["rank"] == "1")
    assert (first["neighbour"], first["neighbour_dataset"], first["metric"]) == ("tench0.JPEG", "val", "pixel")
    with pytest.raises(CommandError, match="k must be 1-100"):
        call_command("find_near_duplicates", "--testset", "v2", "--against", "val", "--metric", "pixel", "--k", "0")


def test_the_command_runs_the_fast_phash_first_pass_and_a_forced_ivf_search(world):
    command = ["find_near_duplicates", "--testset", "v2", "--against", "val", "--k", "4"]
    out = io.StringIO()
    call_command(*command, "--metric", "phash", stdout=out)
    assert "32 phash neighbours written (exact search)" in out.getvalue()
    assert {copy: nearest("phash")[copy][0] for copy in COPIED} == COPIED
    out = io.StringIO()
    call_command(*command, "--metric", "pixel", "--index", "ivf", "--nprobe", "2", stdout=out)
    assert "32 pixel neighbours written (ivf search)" in out.getvalue()
    with pytest.raises(CommandError, match="invalid choice: 'hnsw'"):
        call_command(*command, "--metric", "pixel", "--index", "hnsw")


def test_sampling_leaves_out_what_a_threshold_holds_back_until_it_is_reviewed(world):
    search("pixel", k=5)
    NewTestSet.objects.filter(pk=world.pk).update(min_annotations=1)
    SelectionFrequency.objects.bulk_create(
        SelectionFrequency(testset=world, image_id=image, wnid=wnid, annotations=10, selected=9)
        for image, wnid in Candidate.objects.filter(testset=world).values_list("image_id", "wnid")
    )
    copy = candidate("copy_of_tench0.jpg")
    services.set_threshold(testset_name="v2", metric="pixel", value=nearest("pixel")["copy_of_tench0.jpg"][1])

    def sampled():
        answer = sample_testset(testset_name="v2", strategy="threshold", per_class=10, threshold=0.5)
        return {image["file_name"] for image in answer["images"]}

    assert "copy_of_tench0.jpg" not in sampled() and "fresh0.jpg" in sampled()
    original = Image.objects.get(file_name="tench0.JPEG")
    ada = make_user("ada", roles.ADMIN)
    services.review_pair(testset_name="v2", candidate_id=copy.pk, image_id=original.pk, verdict="distinct", user=ada)
    assert "copy_of_tench0.jpg" in sampled()
