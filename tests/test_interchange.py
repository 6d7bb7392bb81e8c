"""Import and export of multi-label annotations in every format: round trips, ReaL validity, errors, CLI and API."""

import csv
import io
import json
import tracemalloc
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

import taxonomy
from annotate import labelling, services
from annotate.errors import ImportFailed
from annotate.models import (
    ConsensusPosterior,
    Dataset,
    FlagChange,
    Image,
    ImportBatch,
    ProblematicFlag,
    ReviewerVerdict,
    ReviewItem,
    VerdictChange,
)
from consensus import services as consensus
from consensus.models import Adjudication, GoldenItem
from interchange import formats, jsonl, selectors
from tests.conftest import BROWSER_DB, DATASET, build_dataset, make_user
from tests.wnids import CHIHUAHUA, GOLDFISH, GREAT_WHITE, JAPANESE_SPANIEL, TENCH, TIGER_SHARK

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
CLASS_INDEX = {wnid: index for index, wnid in enumerate(taxonomy.class_wnids())}


def item(file_name, wnid, dataset="val"):
    return ReviewItem.objects.get(dataset__name=dataset, image__file_name=file_name, wnid=wnid)


def vote(reviewer, file_name, wnid, value, minute):
    services.set_verdict(
        item_id=item(file_name, wnid).pk, reviewer=reviewer, value=value, at=T0 + timedelta(minutes=minute)
    )


def export_text(dataset, fmt):
    return "".join(formats.export(Dataset.objects.get(name=dataset), fmt))


def load(dataset, fmt, text, reviewer="imported"):
    found = Dataset.objects.get(name=dataset)
    return formats.load(dataset=found, fmt=fmt, text=text, source=f"in.{fmt}", reviewer=reviewer)


def register_copy(tmp_path, name):
    """A new dataset with the same images (names and original labels) as 'val', registered from a manifest."""
    manifest = tmp_path / f"{name}.csv"
    rows = Image.objects.filter(dataset__name="val").order_by("position").values_list("file_name", "original_wnid")
    manifest.write_text("".join(f"{file_name},{wnid}\n" for file_name, wnid in rows))
    call_command("import_images", "--manifest", str(manifest), "--dataset", name)


def database_state():
    """Everything an import may write, counted."""
    return [
        model.objects.count()
        for model in (ReviewItem, ReviewerVerdict, VerdictChange, ProblematicFlag, FlagChange, User, Adjudication)
    ] + [
        list(ReviewItem.objects.order_by("pk").values_list("verdict", "source")),
        list(Image.objects.values_list("pending_items")),
    ]


@pytest.fixture
def reviewers(db):
    return [make_user(name, "reviewer") for name in ("rita", "rob", "ria")]


@pytest.fixture
def single(image_folder, tmp_path, reviewers, admin_user):
    """'val' under one reviewer per item: verdicts (one changed, a don't know), a flag with a note, an adjudication
    and a golden item."""
    rita, rob, _ = reviewers
    build_dataset(image_folder, tmp_path, name="val")
    vote(rita, "a.JPEG", TENCH, "correct", 1)
    vote(rita, "a.JPEG", GOLDFISH, "wrong", 2)
    vote(rob, "a.JPEG", GOLDFISH, "unclear", 3)  # the latest verdict is the label
    vote(rita, "b.JPEG", GREAT_WHITE, "wrong", 4)
    vote(rob, "c.JPEG", JAPANESE_SPANIEL, "dont_know", 5)
    services.set_problematic(
        image_id=Image.objects.get(dataset__name="val", file_name="c.JPEG").pk,
        reviewer=rob,
        reason="other",
        note="a dog drawn on a mug, «ceramic»",
        at=T0,
    )
    consensus.adjudicate(item_id=item("b.JPEG", TENCH).pk, adjudicator=admin_user, value="unclear", at=T0)
    consensus.mark_golden(item_id=item("c.JPEG", CHIHUAHUA).pk, answer="correct", user=admin_user)
    return Dataset.objects.get(name="val")


@pytest.fixture
def crowd(image_folder, tmp_path, reviewers):
    """'val' under majority of 2 with three reviewers."""
    build_dataset(image_folder, tmp_path, name="val")
    labelling.set_policy(dataset=Dataset.objects.get(name="val"), rule="majority", overlap=2)
    rita, rob, ria = reviewers
    vote(rita, "a.JPEG", TENCH, "correct", 1)
    vote(rob, "a.JPEG", TENCH, "correct", 2)
    vote(rita, "a.JPEG", GOLDFISH, "correct", 3)
    vote(rob, "a.JPEG", GOLDFISH, "unclear", 4)  # no majority: unclear, to adjudicate; ReaL-valid (0.5 + 0.5/2)
    vote(rita, "a.JPEG", TIGER_SHARK, "wrong", 5)
    vote(rob, "a.JPEG", TIGER_SHARK, "unclear", 6)  # no majority; not ReaL-valid (0 + 0.5/2)
    vote(rita, "b.JPEG", TENCH, "correct", 7)  # one vote of two: no label yet, but a posterior
    vote(ria, "c.JPEG", CHIHUAHUA, "wrong", 8)
    vote(rob, "c.JPEG", CHIHUAHUA, "wrong", 9)
    vote(rita, "c.JPEG", CHIHUAHUA, "correct", 10)
    return Dataset.objects.get(name="val")


# --- JSON Lines ---------------------------------------------------------------------------------------------


def test_jsonl_has_one_line_per_image_with_everything(single, admin_user):
    lines = [json.loads(line) for line in export_text("val", "jsonl").splitlines()]
    assert [line["file_name"] for line in lines] == ["a.JPEG", "b.JPEG", "c.JPEG"]
    a, b, c = lines
    assert a["original_wnid"] == TENCH and a["problematic"] is None
    goldfish = next(entry for entry in a["items"] if entry["wnid"] == GOLDFISH)
    assert goldfish == {
        "wnid": GOLDFISH,
        "label": "unclear",
        "source": "review",
        "decided_by": "rob",
        "posterior": None,
        "needs_adjudication": False,
        "verdicts": [
            {"reviewer": "rita", "verdict": "wrong", "at": (T0 + timedelta(minutes=2)).isoformat()},
            {"reviewer": "rob", "verdict": "unclear", "at": (T0 + timedelta(minutes=3)).isoformat()},
        ],
    }
    assert [entry["wnid"] for entry in a["items"]] == sorted(entry["wnid"] for entry in a["items"])
    adjudicated = next(entry for entry in b["items"] if entry["wnid"] == TENCH)
    assert (adjudicated["label"], adjudicated["source"], adjudicated["decided_by"]) == (
        "unclear",
        "adjudication",
        "ada",
    )
    assert c["problematic"] == {
        "reason": "other",
        "note": "a dog drawn on a mug, «ceramic»",
        "reviewer": "rob",
        "time_marked": T0.isoformat(),
        "time_reviewed": T0.isoformat(),
    }


@pytest.mark.parametrize("rule", ["single", "majority", "dawid_skene"])
def test_jsonl_round_trips_through_an_empty_database(rule, single, reviewers, tmp_path):
    if rule != "single":
        labelling.set_policy(dataset=single, rule=rule, overlap=2)
        vote(reviewers[2], "a.JPEG", GOLDFISH, "correct", 20)
        vote(reviewers[2], "b.JPEG", GREAT_WHITE, "wrong", 21)
    exported = tmp_path / "val.jsonl"
    call_command("export_multilabel", "--dataset", "val", "--format", "jsonl", "--out", str(exported))
    first = exported.read_text(encoding="utf-8")

    manifest = tmp_path / "manifest.csv"
    manifest.write_text("".join(f"{i.file_name},{i.original_wnid}\n" for i in Image.objects.order_by("position")))
    Dataset.objects.all().delete()
    User.objects.all().delete()
    call_command("import_images", "--manifest", str(manifest), "--dataset", "val")
    if rule != "single":
        labelling.set_policy(dataset=Dataset.objects.get(name="val"), rule=rule, overlap=2)
    out = io.StringIO()
    call_command("import_multilabel", str(exported), "--format", "jsonl", "--dataset", "val", stdout=out)
    again = tmp_path / "again.jsonl"
    call_command("export_multilabel", "--dataset", "val", "--format", "jsonl", "--out", str(again))

    assert again.read_text(encoding="utf-8") == first
    assert "3 images" in out.getvalue()
    rob = User.objects.get(username="rob")
    assert not rob.has_usable_password() and list(rob.groups.values_list("name", flat=True)) == ["reviewer"]
    assert Adjudication.objects.get().adjudicator.username == "ada"
    assert GoldenItem.objects.get().item.wnid == CHIHUAHUA
    # Restored verdicts are history too; pending counts follow the restored labels.
    assert VerdictChange.objects.count() == ReviewerVerdict.objects.count()
    pending = dict(Image.objects.values_list("file_name", "pending_items"))
    assert pending == {
        name: ReviewItem.objects.filter(image__file_name=name, verdict="unreviewed").count() for name in pending
    }


def jsonl_read_whole(dataset):
    """The JSON Lines export as it was written before it streamed: every label, verdict and flag of the dataset read
    at once, then one line per image in code-point order of the file names."""
    names = dict(User.objects.values_list("pk", "username"))
    verdicts = defaultdict(list)
    for verdict in ReviewerVerdict.objects.filter(item__dataset=dataset).order_by("updated_at", "pk"):
        at = verdict.updated_at.isoformat()
        verdicts[verdict.item_id].append({"reviewer": names[verdict.reviewer_id], "verdict": verdict.value, "at": at})
    posteriors = {
        row.item_id: {"correct": row.p_correct, "wrong": row.p_wrong, "unclear": row.p_unclear}
        for row in ConsensusPosterior.objects.filter(item__dataset=dataset)
    }
    items = defaultdict(list)
    for entry in ReviewItem.objects.filter(dataset=dataset).order_by("wnid"):
        items[entry.image_id].append(
            {
                "wnid": entry.wnid,
                "label": entry.verdict,
                "source": entry.source,
                "decided_by": names.get(entry.verdict_by_id),
                "posterior": None if entry.source in labelling.FIXED_SOURCES else posteriors.get(entry.pk),
                "needs_adjudication": entry.needs_adjudication,
                "verdicts": verdicts[entry.pk],
            }
        )
    flags = {
        flag.image_id: {
            "reason": flag.reason,
            "note": flag.note,
            "reviewer": names[flag.reviewer_id],
            "time_marked": flag.time_marked.isoformat(),
            "time_reviewed": flag.time_reviewed.isoformat(),
        }
        for flag in ProblematicFlag.objects.filter(image__dataset=dataset)
    }
    lines = [
        {
            "file_name": image.file_name,
            "original_wnid": image.original_wnid,
            "problematic": flags.get(image.pk),
            "items": items[image.pk],
        }
        for image in sorted(Image.objects.filter(dataset=dataset), key=lambda image: image.file_name)
    ]
    return "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)


def generated(name, n_images, reviewers, adjudicator):
    """A dataset of `n_images` images written straight into the tables: mixed-case and accented file names, three
    review items per image with most reviewers' verdicts (some given at the same moment), consensus labels (every
    other one with a posterior), every seventh item adjudicated, every fifth image without items, every tenth
    flagged."""
    dataset = Dataset.objects.create(name=name)
    prefixes = ["a", "B", "é", "Z", "_"]
    images = Image.objects.bulk_create(
        Image(dataset=dataset, position=i, file_name=f"{prefixes[i % 5]}{i:06d}.JPEG", original_wnid=TENCH)
        for i in range(n_images)
    )
    wnids = taxonomy.class_wnids()
    items = ReviewItem.objects.bulk_create(
        ReviewItem(
            dataset=dataset,
            image=image,
            wnid=wnids[(7 * image.position + 13 * k) % len(wnids)],
            verdict=("correct", "wrong", "unclear")[k],
            source="adjudication" if (3 * image.position + k) % 7 == 0 else "consensus",
            verdict_by=adjudicator if (3 * image.position + k) % 7 == 0 else None,
            needs_adjudication=k == 2,
        )
        for image in images
        if image.position % 5 != 4
        for k in range(3)
    )
    ConsensusPosterior.objects.bulk_create(
        ConsensusPosterior(item=entry, p_correct=0.5, p_wrong=0.25, p_unclear=0.25) for entry in items[::2]
    )
    ReviewerVerdict.objects.bulk_create(
        ReviewerVerdict(item=entry, reviewer=reviewer, value=("correct", "wrong", "dont_know")[(i + r) % 3],
                        updated_at=T0 + timedelta(seconds=(i * r) % 5))
        for i, entry in enumerate(items)
        for r, reviewer in enumerate(reviewers)
        if (i + r) % 4
    )  # fmt: skip
    ProblematicFlag.objects.bulk_create(
        ProblematicFlag(image=image, reason="drawing", note=f"note {image.position}", reviewer=reviewers[0],
                        time_marked=T0, time_reviewed=T0 + timedelta(hours=1))
        for image in images[::10]
    )  # fmt: skip
    return dataset


def test_the_streamed_jsonl_is_what_reading_everything_at_once_wrote(single, reviewers, admin_user, monkeypatch):
    labelling.set_policy(dataset=single, rule="majority", overlap=2)
    vote(reviewers[2], "a.JPEG", GOLDFISH, "correct", 20)
    vote(reviewers[2], "b.JPEG", GREAT_WHITE, "wrong", 21)
    services.set_problematic(
        image_id=Image.objects.get(file_name="a.JPEG").pk, reviewer=reviewers[2], reason="drawing", at=T0
    )
    assert export_text("val", "jsonl") == jsonl_read_whole(single)
    # A few rows per fetch and small chunks: images, items and verdicts cross every boundary.
    monkeypatch.setattr(selectors, "STREAMED_ROWS", 7)
    monkeypatch.setattr(jsonl, "CHUNK_CHARACTERS", 500)
    many = generated("many", 60, reviewers, admin_user)
    text = export_text("many", "jsonl")
    assert text == jsonl_read_whole(many)
    # Code points, whatever the database's collation: capitals before "_", lower case, then accented letters.
    names = [json.loads(line)["file_name"] for line in text.splitlines()]
    assert [names[0], names[12], names[24], names[36], names[48]] == [
        "B000001.JPEG", "Z000003.JPEG", "_000004.JPEG", "a000000.JPEG", "é000002.JPEG",
    ]  # fmt: skip
    assert len(list(formats.export(many, "jsonl"))) > 10


def export_peak(dataset):
    """(bytes of Python memory at the peak of the dataset's JSON Lines export, characters exported)."""
    tracemalloc.start()
    try:
        characters = sum(len(chunk) for chunk in formats.export(dataset, "jsonl"))
        return tracemalloc.get_traced_memory()[1], characters
    finally:
        tracemalloc.stop()


def test_the_jsonl_export_takes_as_little_memory_for_a_large_dataset_as_for_a_small_one(
    db, reviewers, admin_user, monkeypatch
):
    monkeypatch.setattr(selectors, "STREAMED_ROWS", 50)
    monkeypatch.setattr(jsonl, "CHUNK_CHARACTERS", 4096)
    small, large = generated("small", 100, reviewers, admin_user), generated("large", 800, reviewers, admin_user)
    export_peak(small)  # imports and first-use caches out of the way
    small_peak, small_characters = export_peak(small)
    large_peak, large_characters = export_peak(large)
    assert large_characters > 7 * small_characters
    # Reading everything at once took about as many times more memory as there is more data.
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)


def test_jsonl_under_another_rule_says_how_many_labels_differ(single, tmp_path):
    text = export_text("val", "jsonl")
    register_copy(tmp_path, "copy")
    labelling.set_policy(dataset=Dataset.objects.get(name="copy"), rule="unanimity", overlap=2)
    summary = load("copy", "jsonl", text)
    # One reviewer's label (a/tench, b/white shark, c/Japanese spaniel's don't know) is none under unanimity of
    # two; a/goldfish's two verdicts disagree: unclear still, but from consensus.
    assert summary["labels_unlike_file"] == 4
    assert summary["consensus"]["rule"] == "unanimity"


def test_importing_the_same_jsonl_twice_changes_nothing(single):
    text = export_text("val", "jsonl")
    before = database_state()
    summary = load("val", "jsonl", text)
    assert summary["verdicts_changed"] == 0 and summary["labels_unlike_file"] == 0
    assert database_state() == before
    assert export_text("val", "jsonl") == text


JSONL_ERRORS = [
    ("{", r"in.jsonl line 2: not valid JSON"),
    pytest.param("[" * 100_000 + "]" * 100_000, r"line 2: not valid JSON here \(nested too deeply\)", id="deep"),
    ('{"file_name": "a.JPEG"}', r"line 2: missing original_wnid, problematic, items"),
    ("LINE | extra", r"line 2: unknown keys extra"),
    ("LINE | file_name=zzz.JPEG", r"line 2: no image named 'zzz.JPEG' in dataset 'val'"),
    ("LINE | file_name=a.JPEG", r"line 2: a.JPEG is on line 1 already"),
    ("LINE | original_wnid=n02085620", r"line 2: original_wnid 'n02085620' is not the original label of b.JPEG"),
    ("ITEM | wnid=n123", r"line 2: items\[0\].wnid: 'n123' is not an ImageNet-1k wnid"),
    ("ITEM | label=maybe", r"items\[0\].label: 'maybe' is not one of"),
    ("ITEM | source=golden", r"items\[0\]: a label from golden is one of correct, wrong, unclear, with decided_by"),
    ("ITEM | posterior=2", r"items\[0\].posterior: expected an object"),
    ("VERDICT | verdict=unreviewed", r"verdicts\[0\].verdict: 'unreviewed' is not one of"),
    ("VERDICT | at=noon", r"verdicts\[0\].at: 'noon' is not an ISO-8601 time"),
    ("VERDICT | reviewer= x", r"verdicts\[0\].reviewer: ' x' is not a username"),
    ("FLAG | reason=ugly", r"line 2: problematic.reason: 'ugly' is not one of"),
]


@pytest.mark.parametrize(("change", "message"), JSONL_ERRORS)
def test_bad_jsonl_fails_naming_the_line_and_writes_nothing(change, message, single, tmp_path):
    first, second, *_ = export_text("val", "jsonl").splitlines()
    record = json.loads(second)  # b.JPEG: two items, the first one adjudicated
    record["items"][0]["verdicts"] = [{"reviewer": "newcomer", "verdict": "correct", "at": T0.isoformat()}]
    record["problematic"] = {"reason": "drawing", "note": "", "reviewer": "rob", "time_marked": T0.isoformat(),
                             "time_reviewed": T0.isoformat()}  # fmt: skip
    if "|" not in change:
        bad = change
    else:
        where, assignment = (part.strip() for part in change.split("|"))
        key, _, value = assignment.partition("=")
        target = {
            "LINE": record,
            "ITEM": record["items"][0],
            "VERDICT": record["items"][0]["verdicts"][0],
            "FLAG": record["problematic"],
        }[where]
        target[key] = json.loads(value) if value.isdigit() else value
        if key == "source":
            target["decided_by"] = None
        bad = json.dumps(record)
    register_copy(tmp_path, "copy")
    before = database_state()
    with pytest.raises(ImportFailed, match=message):
        load("val", "jsonl", f"{first}\n{bad}\n")
    assert database_state() == before
    assert not User.objects.filter(username="newcomer").exists()


# --- ReaL ---------------------------------------------------------------------------------------------------


def test_real_validity_comes_from_the_posterior_else_the_label(crowd, admin_user):
    assert json.loads(export_text("val", "real")) == [
        [CLASS_INDEX[TENCH], CLASS_INDEX[GOLDFISH]],  # tiger shark: P(correct) + P(unclear) / 2 = 0.25
        [CLASS_INDEX[TENCH]],  # one vote of two so far: no label, but the posterior (1, 0, 0)
        [],  # chihuahua: 1/3 + 0 < 1/2
    ]
    # An adjudication decides by its label, whatever the votes say.
    consensus.adjudicate(item_id=item("c.JPEG", CHIHUAHUA).pk, adjudicator=admin_user, value="correct")
    assert json.loads(export_text("val", "real"))[2] == [CLASS_INDEX[CHIHUAHUA]]


def test_real_import_makes_listed_classes_correct_and_the_others_wrong(single, tmp_path):
    register_copy(tmp_path, "copy")
    listed = [[CLASS_INDEX[GOLDFISH], CLASS_INDEX[TENCH]], [], [CLASS_INDEX[CHIHUAHUA]]]
    summary = load("copy", "real", json.dumps(listed))
    copy = {
        (name, wnid): verdict
        for name, wnid, verdict in ReviewItem.objects.filter(dataset__name="copy").values_list(
            "image__file_name", "wnid", "verdict"
        )
    }
    assert copy == {
        ("a.JPEG", TENCH): "correct",
        ("a.JPEG", GOLDFISH): "correct",  # created: the copy has no predictions
        ("b.JPEG", TENCH): "wrong",
        ("c.JPEG", CHIHUAHUA): "correct",
    }
    assert summary["verdicts"] == 4 and summary["verdicts_changed"] == 4
    imported = User.objects.get(username="imported")
    assert ReviewerVerdict.objects.filter(reviewer=imported).count() == 4
    assert set(VerdictChange.objects.filter(reviewer=imported).values_list("old", flat=True)) == {"unreviewed"}
    assert not Image.objects.filter(dataset__name="copy", pending_items__gt=0).exists()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([[], []], r"in.real: the file has 2 entries but dataset 'val' has 3 images"),
        ({"a.JPEG": []}, r"expected a JSON list"),
        ([[], [1000], []], r"entry 1 \(b.JPEG\): 1000 is not a class index \(0-999\)"),
        ([[], [True], []], r"entry 1 \(b.JPEG\): True is not a class index"),
        ([[], [], [3, 3]], r"entry 2 \(c.JPEG\): a class index is listed twice"),
        ([[], "0", []], r"entry 1 \(b.JPEG\): expected a list of class indices"),
    ],
)
def test_bad_real_file_fails_with_what_is_wrong_and_writes_nothing(document, message, single):
    before = database_state()
    with pytest.raises(ImportFailed, match=message):
        load("val", "real", json.dumps(document))
    assert database_state() == before


# --- every format -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", formats.IMPORT_FORMATS)
def test_every_format_round_trips_into_a_fresh_dataset(fmt, single, tmp_path):
    exported = export_text("val", fmt)
    register_copy(tmp_path, "copy")
    load("copy", fmt, exported)
    assert export_text("copy", fmt) == exported


@pytest.mark.parametrize("fmt", formats.IMPORT_FORMATS)
def test_a_failed_write_leaves_nothing_behind(fmt, single, tmp_path, monkeypatch):
    exported = export_text("val", fmt)
    register_copy(tmp_path, "copy")
    before = database_state()

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(labelling, "aggregate", broken)
    with pytest.raises(RuntimeError):
        load("copy", fmt, exported)
    assert database_state() == before


def test_label_imports_are_the_importers_verdicts_under_the_dataset_rule(crowd):
    """One more vote, not the final word: under majority of two a lone imported verdict decides nothing."""
    load("val", "real", json.dumps([[], [CLASS_INDEX[TENCH]], []]))
    assert item("b.JPEG", TENCH).verdict == "correct"  # rita and now the importer
    assert item("b.JPEG", GREAT_WHITE).verdict == "unreviewed"  # the importer's wrong alone
    assert Image.objects.get(file_name="b.JPEG").pending_items == 1
    assert item("c.JPEG", CHIHUAHUA).verdict == "wrong"  # ria, rob and the importer against rita


def test_csv_has_one_row_per_review_item(crowd):
    rows = list(csv.DictReader(io.StringIO(export_text("val", "csv"))))
    assert len(rows) == ReviewItem.objects.count()
    assert [(row["file_name"], row["wnid"]) for row in rows] == sorted((row["file_name"], row["wnid"]) for row in rows)
    goldfish = next(row for row in rows if row["wnid"] == GOLDFISH)
    assert goldfish == {
        "file_name": "a.JPEG",
        "wnid": GOLDFISH,
        "class_index": "1",
        "label": "unclear",
        "source": "consensus",
        "p_correct": "0.5",
        "p_wrong": "0.0",
        "p_unclear": "0.5",
        "needs_adjudication": "true",
        "verdicts": "2",
    }
    unvoted = next(row for row in rows if row["wnid"] == JAPANESE_SPANIEL)
    assert (unvoted["label"], unvoted["p_correct"], unvoted["verdicts"]) == ("unreviewed", "", "0")


# --- CLI and API --------------------------------------------------------------------------------------------


def test_cli_exports_every_format_and_imports_with_a_reviewer(single, tmp_path, capsys):
    for fmt in formats.EXPORT_FORMATS:
        out = io.StringIO()
        call_command("export_multilabel", "--dataset", "val", "--format", fmt, stdout=out)
        assert out.getvalue() == export_text("val", fmt)
    path = tmp_path / "real.json"
    path.write_text(export_text("val", "real"))
    register_copy(tmp_path, "copy")
    out = io.StringIO()
    call_command(
        "import_multilabel", str(path), "--format", "real", "--dataset", "copy", "--reviewer", "lab", stdout=out
    )
    assert out.getvalue().startswith("copy: 3 images, ")
    assert ReviewerVerdict.objects.filter(reviewer__username="lab").exists()
    path.write_text("[[], []]")
    with pytest.raises(CommandError, match="the file has 2 entries but dataset 'copy' has 3 images"):
        call_command("import_multilabel", str(path), "--format", "real", "--dataset", "copy")
    with pytest.raises(CommandError, match="invalid choice: 'csv'"):
        call_command("import_multilabel", str(path), "--format", "csv", "--dataset", "copy")
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(CommandError, match="not UTF-8 text"):
        call_command("import_multilabel", str(path), "--format", "real", "--dataset", "copy")


@pytest.mark.parametrize(
    ("fmt", "content_type", "file_name"),
    [
        ("tfds", "application/json", "val-multilabel-tfds.json"),
        ("real", "application/json", "val-multilabel-real.json"),
        ("jsonl", "application/jsonl", "val-multilabel-jsonl.jsonl"),
        ("csv", "text/csv; charset=utf-8", "val-multilabel-csv.csv"),
    ],
)
def test_api_exports_each_format(fmt, content_type, file_name, client, single, admin_user):
    client.force_login(admin_user)
    response = client.get("/api/datasets/val/export/", {"format": fmt})
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="{file_name}"'
    assert response.streaming
    assert b"".join(response.streaming_content).decode() == export_text("val", fmt)


def test_api_imports_each_format_and_refuses_bad_ones(client, single, admin_user, reviewers, tmp_path):
    register_copy(tmp_path, "copy")
    client.force_login(admin_user)
    for fmt in formats.IMPORT_FORMATS:
        upload = io.BytesIO(export_text("val", fmt).encode())
        upload.name = f"val.{fmt}"
        response = client.post("/api/datasets/copy/multilabel/", {"file": upload, "format": fmt})
        assert response.status_code == 201, response.content
        assert response.json()["format"] == fmt
    assert export_text("copy", "jsonl") != export_text("val", "jsonl")  # the admin's own verdicts came on top
    assert ReviewerVerdict.objects.filter(reviewer=admin_user, item__dataset__name="copy").exists()

    bad = io.BytesIO(b"[[]]")
    bad.name = "bad.json"
    response = client.post("/api/datasets/copy/multilabel/", {"file": bad, "format": "real"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "bad.json: the file has 1 entries but dataset 'copy' has 3 images; a ReaL file has one entry per "
        "image, in file-name order"
    }
    response = client.post("/api/datasets/copy/multilabel/", {"file": io.BytesIO(b"x"), "format": "csv"})
    assert response.status_code == 400 and "unknown format 'csv'" in response.json()["format"]
    client.force_login(reviewers[0])
    assert client.post("/api/datasets/copy/multilabel/", {"format": "real"}).status_code == 403
    assert client.get("/api/datasets/val/export/", {"format": "csv"}).status_code == 403


# --- the dataset page ---------------------------------------------------------------------------------------


@pytest.mark.browser
@BROWSER_DB
def test_dataset_page_exports_and_imports(logged_in_page, admin_user, image_folder, tmp_path):
    dataset = build_dataset(image_folder, tmp_path)
    services.set_verdict(item_id=item("a.JPEG", TENCH, DATASET).pk, reviewer=admin_user, value="correct", at=T0)
    page = logged_in_page(admin_user)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/datasets/{DATASET}/")
    card = page.locator("[data-testid=interchange]")
    options = card.locator("#export-format option")
    assert options.evaluate_all("all => all.map(o => o.value)") == list(formats.EXPORT_FORMATS)
    options = card.locator("#import-format option")
    assert options.evaluate_all("all => all.map(o => o.value)") == list(formats.IMPORT_FORMATS)

    card.get_by_label("Export as").select_option("jsonl")
    with page.expect_download() as download:
        card.get_by_role("button", name="Export", exact=True).click()
    assert download.value.suggested_filename == f"{DATASET}-multilabel-jsonl.jsonl"
    assert Path(download.value.path()).read_text(encoding="utf-8") == export_text(DATASET, "jsonl")

    before = database_state()
    bad = tmp_path / "short.json"
    bad.write_text("[[], []]")
    card.get_by_label("Import a file").set_input_files(str(bad))
    card.get_by_label("Its format").select_option("real")
    card.get_by_role("button", name="Preview", exact=True).click()
    error = card.locator("[data-testid=import-error]")
    error.wait_for(state="visible")
    assert error.inner_text() == (
        f"Nothing was imported: short.json: the file has 2 entries but dataset '{DATASET}' has 3 images; a ReaL "
        "file has one entry per image, in file-name order"
    )
    assert database_state() == before

    good = tmp_path / "real.json"
    good.write_text(json.dumps([[CLASS_INDEX[TENCH], CLASS_INDEX[GOLDFISH]], [CLASS_INDEX[TENCH]], []]))
    card.get_by_label("Import a file").set_input_files(str(good))
    card.get_by_label("Its format").select_option("real")
    card.get_by_role("button", name="Preview", exact=True).click()
    preview = card.locator("[data-testid=import-preview]")
    preview.wait_for(state="visible")
    assert "Verdicts changed: unreviewed → wrong 4, unreviewed → correct 2" in preview.inner_text()
    assert "1 image flagged problematic" in preview.inner_text()
    assert database_state() == before  # a preview writes nothing
    card.get_by_test_id("import-confirm").click()
    done = page.locator("[data-testid=import-done]")
    done.wait_for(state="visible")
    batch = ImportBatch.objects.get(kind="real")
    assert done.inner_text().startswith(f"Import #{batch.pk}: 3 images, 6 verdicts changed, 0 kept, 1 images flagged.")
    assert page.locator("[data-figure=reviewed_items]").inner_text() == str(ReviewItem.objects.count())
    assert json.loads(export_text(DATASET, "real")) == [
        [CLASS_INDEX[TENCH], CLASS_INDEX[GOLDFISH]],
        [CLASS_INDEX[TENCH]],
        [],
    ]
    page.reload()
    assert page.locator("[data-testid=import-done]").is_hidden()  # said once
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id(f"undo-{batch.pk}").click()
    done.wait_for(state="visible")
    assert done.inner_text().startswith(f"Undid import #{batch.pk}: 6 verdicts restored, 0 changed since and kept")
    history = (2, 4)  # the verdict and flag changes: the undo adds its own to the history
    after = database_state()
    assert [after[i] for i in range(len(after)) if i not in history] == [
        before[i] for i in range(len(before)) if i not in history
    ]
    assert page.get_by_test_id(f"import-{batch.pk}").inner_text().endswith(f"undone by #{batch.pk + 1}")
    assert errors == []
    assert dataset.name == DATASET
