"""End-to-end prediction throughput: the sharded job pipeline against a naive loop, in one run.

Both read the stored files, decode, apply the weights' eval transforms, run the model and write
predictions to PostgreSQL. The pipeline is annotate.jobs (threaded decode, channels_last batches under
inference_mode, bf16 autocast on CUDA, one bulk write per shard); the naive loop handles one image at a
time with PIL, no batching, and one INSERT per image. Also prints where the pipeline's time goes.

    .venv/bin/python bench/predict.py [--arch resnet50] [--images 1000] [--naive-images 100]
        [--batch-size 64] [--shard-size 250] [--json FILE]

Images: the 1,000 real JPEGs of ../shared/data/imagenet-samples. Goal on a CPU: pipeline >= 3x naive.
"""

import argparse
import io
import platform
import shutil
import tempfile
import time
from pathlib import Path

import benchlib


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--images", type=int, default=1000, help="images for the pipeline (at most 1,000)")
    parser.add_argument("--naive-images", type=int, default=100, help="images for the naive loop")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--shard-size", type=int, default=250)
    parser.add_argument("--database-url")
    parser.add_argument("--json", metavar="FILE")
    return parser.parse_args()


def import_samples(count):
    from annotate.image_import import import_image_folder

    source = benchlib.require_shared("imagenet-samples")
    folder = Path(tempfile.mkdtemp(prefix="relabel-bench-predict-"))
    for path in sorted(source.iterdir())[:count]:
        shutil.copy(path, folder / path.name)
    import_image_folder(dataset_name="bench-predict", directory=folder)
    shutil.rmtree(folder)


def stage_breakdown(classifier, images, results):
    """Time each stage of the pipeline on its own, over the same images, with the warmed-up model."""
    import torch

    from annotate.bulk import insert_rows
    from annotate.models import ClassifierModel, Prediction, ranked_classes

    with benchlib.timed(results, "read_s"):
        files = []
        for image in images:
            with image.file.open("rb") as handle:
                files.append((image.pk, handle.read()))
    with benchlib.timed(results, "decode_transform_1_thread_s"):
        tensors = [classifier._prepare(data) for _, data in files[:100]]
    results["decode_transform_ms_per_image"] = results["decode_transform_1_thread_s"] * 1000 / len(tensors)
    batch = torch.stack(tensors[: classifier.batch_size] * (classifier.batch_size // len(tensors) + 1))[
        : classifier.batch_size
    ]
    if classifier.on_cuda:
        torch.cuda.synchronize()
    with benchlib.timed(results, "compute_one_batch_s"):
        list(classifier._infer(list(enumerate(batch))))
        if classifier.on_cuda:
            torch.cuda.synchronize()
    results["compute_images_per_s"] = classifier.batch_size / results["compute_one_batch_s"]
    model = ClassifierModel.objects.create(name="bench-write-only")
    wnids = ["n01440764"] * 5
    rows = [(model.pk, pk, "n01440764", wnids, [0.2] * 5, ranked_classes(wnids)) for pk, _ in files]
    with benchlib.timed(results, "db_write_s"):
        insert_rows(Prediction, ["model", "image", "top1_wnid", "wnids", "scores", "top5"], rows)
    results["db_write_images_per_s"] = len(rows) / results["db_write_s"]


def naive_loop(arch, images, device, results):
    """One image at a time: PIL decode, the weights' transforms, a batch of one, one INSERT."""
    import torch
    import torchvision
    from PIL import Image as PILImage

    import taxonomy
    from annotate.models import ClassifierModel, Prediction

    model = torchvision.models.get_model(arch, weights=None).eval().to(device)
    transform = torchvision.models.get_model_weights(arch).DEFAULT.transforms()
    registry = ClassifierModel.objects.create(name="bench-naive", architecture=arch, weights="none")
    wnids = taxonomy.class_wnids()
    start = time.perf_counter()
    for image in images:
        with image.file.open("rb") as handle:
            picture = PILImage.open(io.BytesIO(handle.read())).convert("RGB")
        with torch.no_grad():
            probabilities = torch.softmax(model(transform(picture).unsqueeze(0).to(device)), dim=1)[0]
        scores, top = probabilities.topk(5)
        Prediction.objects.create(
            model=registry,
            image=image,
            top1_wnid=wnids[top[0]],
            wnids=[wnids[i] for i in top.tolist()],
            scores=scores.tolist(),
        )
    results["naive_s"] = time.perf_counter() - start
    results["naive_images_per_s"] = len(images) / results["naive_s"]


def main():
    args = parse_args()
    database_url = benchlib.setup_django(reset=True, database_url=args.database_url)
    import torch

    from annotate import jobs
    from annotate.inference import default_device
    from annotate.models import Image, JobState

    device = default_device()
    results = {
        "arch": args.arch,
        "device": torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or "cpu",
        "torch_threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
    }
    import_samples(min(args.images, 1000))
    images = list(Image.objects.filter(dataset__name="bench-predict").order_by("position"))
    results["images"] = len(images)

    # A worker loads and compiles a model once and keeps it for every shard it runs: warm it up here,
    # timed on its own, so that the pipeline below measures a running worker's throughput.
    with benchlib.timed(results, "model_load_and_compile_s"):
        classifier = jobs._classifier(args.arch, "none", args.batch_size)
        with images[0].file.open("rb") as handle:
            list(classifier._infer([(0, classifier._prepare(handle.read()))]))
    stage_breakdown(classifier, images, results)

    start = time.perf_counter()
    job = jobs.start_prediction_job(
        architecture=args.arch,
        weights="none",
        dataset_name="bench-predict",
        batch_size=args.batch_size,
        shard_size=args.shard_size,
    )
    finished = jobs.wait_for_job(job.pk, poll_seconds=0.2)
    results["pipeline_s"] = time.perf_counter() - start
    if finished["state"] != JobState.DONE:
        raise SystemExit(f"the job ended {finished['state']}: {finished['error']}")
    results["pipeline_images_per_s"] = finished["images_done"] / results["pipeline_s"]
    results["pipeline_with_compile_images_per_s"] = finished["images_done"] / (
        results["pipeline_s"] + results["model_load_and_compile_s"]
    )

    naive_loop(args.arch, images[: args.naive_images], device, results)
    results["speedup"] = results["pipeline_images_per_s"] / results["naive_images_per_s"]

    benchlib.print_table(
        f"{args.arch}, random weights, {results['device']}, {results['torch_threads']} torch threads",
        ["measure", "value"],
        [
            ["pipeline: images", results["images"]],
            ["pipeline: seconds", results["pipeline_s"]],
            ["pipeline: images/s (running worker)", results["pipeline_images_per_s"]],
            ["one-time model load + compile, s", results["model_load_and_compile_s"]],
            ["pipeline: images/s counting the compile", results["pipeline_with_compile_images_per_s"]],
            ["naive loop: images", min(args.naive_images, len(images))],
            ["naive loop: images/s", results["naive_images_per_s"]],
            ["speedup (goal >= 3x on CPU)", results["speedup"]],
            ["stage: read files, s", results["read_s"]],
            ["stage: decode+transform, ms/image (1 thread)", results["decode_transform_ms_per_image"]],
            ["stage: compute, images/s (one batch)", results["compute_images_per_s"]],
            ["stage: database write, images/s", results["db_write_images_per_s"]],
        ],
    )
    benchlib.write_json(args.json, "predict", database_url, results, {"speedup_on_cpu": ">= 3"})


if __name__ == "__main__":
    main()
