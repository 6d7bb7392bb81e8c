"""Near-duplicate recall of the features of nearduplicates/features.py, and their extraction speed.

Recall: lightly edited copies (a crop of 1-4% per side, scaled to 50-90%, brightness +-5-15%, JPEG quality 50-85:
all four edits on each copy) of 100 of the 1,000 real sample images are searched, exactly (FAISS flat L2; Hamming
for the hash), among the 1,000 originals. Per metric: the share of copies whose nearest neighbour is their original
(goal 100%), and how well copies rank closer than clean images: each copy's distance to its original against each
original's distance to its nearest other original (none of them has a planted copy in the index), as the share of
(copy, clean) pairs in the right order ("pairs ok"), and the threshold with the fewest errors (copies missed above
it, clean images flagged at or under it). Metrics: pixel vectors at several sizes (and raw pixels, the baseline of
the normalisation), CNN penultimate features of each arch with random weights (raw and scaled to length 1; real
weights too where the torch hub cache has them), the 64-bit pHash.

Speed: images/s of each extraction on this machine; the CNN's batched extractor (a running worker's: the model
compiled first, timed apart) against a naive loop that decodes whole images and runs one at a time in fp32.

    .venv/bin/python bench/near_duplicate_recall_bench.py [--archs resnet18 vgg11] [--copies 100]
        [--pixel-sizes 8 16 32] [--batch-size 32] [--naive-images 100] [--seed 0] [--json FILE]

Images: ../shared/data/imagenet-samples (skipped with a message when absent). Needs no database.
Goals: recall 100% for pixel and CNN; CNN extraction >= 3x the naive loop on a CPU.
"""

import argparse
import io
import os
import platform
import random
import time

import benchlib
import numpy as np

COPY_EDITS = "crop 1-4% per side, scale 50-90%, brightness +-5-15%, JPEG quality 50-85"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", nargs="+", default=["resnet18", "vgg11"], help="the naive loop runs the first")
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument("--pixel-sizes", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--naive-images", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="FILE")
    return parser.parse_args()


def edited_copy(data, rng):
    from PIL import Image as PILImage
    from PIL import ImageEnhance

    with PILImage.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
    width, height = image.size
    left, top, right, bottom = (rng.uniform(0.01, 0.04) for _ in range(4))
    image = image.crop(
        (round(width * left), round(height * top), round(width * (1 - right)), round(height * (1 - bottom)))
    )
    scale = rng.uniform(0.5, 0.9)
    image = image.resize((round(image.width * scale), round(image.height * scale)), PILImage.Resampling.BILINEAR)
    image = ImageEnhance.Brightness(image).enhance(1 + rng.choice([-1, 1]) * rng.uniform(0.05, 0.15))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=rng.randint(50, 85))
    return out.getvalue()


def computed(results):
    """The values of (key, value, error) results, in order, or exit naming the first file that failed."""
    values = []
    for key, value, error in results:
        if error:
            raise SystemExit(f"error: image {key} could not be read: {error}")
        values.append(value)
    return np.stack(values)


def l2_recall(originals, copies, planted):
    """(found, copy distances, clean nearest distances) under exact L2 search with FAISS."""
    import faiss

    index = faiss.IndexFlatL2(originals.shape[1])
    index.add(np.ascontiguousarray(originals, dtype=np.float32))
    _, nearest = index.search(np.ascontiguousarray(copies, dtype=np.float32), 1)
    found = nearest[:, 0] == planted
    to_original = np.linalg.norm(copies - originals[planted], axis=1)
    squared, neighbours = index.search(np.ascontiguousarray(originals, dtype=np.float32), 2)
    # An image is its own nearest neighbour; take the other one (an exact duplicate in the sample may come first).
    itself = neighbours == np.arange(len(originals))[:, None]
    clean = np.sqrt(np.maximum(np.where(itself[:, :1], squared[:, 1:], squared[:, :1])[:, 0], 0))
    return found, to_original, clean


def hamming_recall(originals, copies, planted):
    from nearduplicates.features import hamming_distances

    distances = hamming_distances(copies[:, None], originals[None, :]).astype(float)
    to_original = distances[np.arange(len(copies)), planted]
    distances[np.arange(len(copies)), planted] = np.inf
    # Ties are common among 65 possible distances: a copy counts as found only strictly nearer its original.
    found = to_original < distances.min(axis=1)
    among_originals = hamming_distances(originals[:, None], originals[None, :]).astype(float)
    np.fill_diagonal(among_originals, np.inf)
    return found, to_original, among_originals.min(axis=1)


def separation(found, to_original, clean):
    """Recall and how copies' distances stand against clean images' nearest distances."""
    order = np.sort(clean)
    # Share of (copy, clean) pairs where the copy is nearer (ties count half): 1.0 is perfect separation.
    below = np.searchsorted(order, to_original, side="right")
    strictly_below = np.searchsorted(order, to_original, side="left")
    ranked = 1 - (strictly_below + below) / 2 / len(order)
    thresholds = np.unique(np.concatenate([to_original, clean]))
    missed = (to_original[None, :] > thresholds[:, None]).sum(axis=1)
    flagged = (clean[None, :] <= thresholds[:, None]).sum(axis=1)
    best = int(np.argmin(missed + flagged))
    return {
        "recall": float(found.mean()),
        "copy_median": float(np.median(to_original)),
        "copy_max": float(to_original.max()),
        "clean_min": float(clean.min()),
        "clean_p1": float(np.percentile(clean, 1)),
        "clean_median": float(np.median(clean)),
        "pairs_in_order": float(ranked.mean()),
        "threshold": float(thresholds[best]),
        "copies_missed": int(missed[best]),
        "clean_flagged": int(flagged[best]),
    }


def measured(speed, name, count, compute):
    """compute(), with the images/s it ran at stored as speed[name]."""
    with benchlib.timed(speed, name):
        value = compute()
    speed[name] = count / speed[name]
    return value


def naive_features(arch, files):
    """One image at a time: a whole decode, the weights' transforms, a batch of one in fp32, no threads."""
    import torch
    import torchvision
    from PIL import Image as PILImage

    from nearduplicates.features import without_head

    model, _ = without_head(torchvision.models.get_model(arch, weights=None).eval())
    transform = torchvision.models.get_model_weights(arch).DEFAULT.transforms()
    vectors = []
    for data in files:
        with torch.no_grad():
            vectors.append(model(transform(PILImage.open(io.BytesIO(data)).convert("RGB")).unsqueeze(0))[0].numpy())
    return vectors


def naive_pixels(files, size):
    """A whole decode and resize per image, no threads: what `pixel_vectors` does without draft mode."""
    from PIL import Image as PILImage

    return [
        np.asarray(PILImage.open(io.BytesIO(data)).convert("RGB").resize((size, size)), dtype=np.float32)
        for data in files
    ]


class Planted:
    """The originals, their edited copies and which original each copy came from."""

    def __init__(self, files, copies, seed):
        rng = random.Random(seed)
        self.files = files
        self.planted = np.array(rng.sample(range(len(files)), copies))
        self.copies = [edited_copy(files[i], rng) for i in self.planted]
        self.originals_entries = list(enumerate(files))
        self.copy_entries = list(enumerate(self.copies))


def pixel_metrics(data, sizes, speed, metrics):
    from nearduplicates.features import PIXEL_SIZE, pixel_vectors, thumbnail

    for size in sizes:
        originals = measured(
            speed,
            f"pixel {size}x{size}",
            len(data.files),
            lambda s=size: computed(pixel_vectors(data.originals_entries, s)),
        )
        copies = computed(pixel_vectors(data.copy_entries, size))
        metrics[f"pixel {size}x{size}x3 (mean off, length 1)"] = separation(*l2_recall(originals, copies, data.planted))

    def raw_pixels(files):
        return np.stack([thumbnail(d, (PIXEL_SIZE, PIXEL_SIZE), "RGB").ravel() / 255 for d in files])

    metrics[f"pixel {PIXEL_SIZE}x{PIXEL_SIZE}x3 raw (baseline)"] = separation(
        *l2_recall(raw_pixels(data.files), raw_pixels(data.copies), data.planted)
    )
    measured(
        speed,
        f"naive pixel loop {PIXEL_SIZE}x{PIXEL_SIZE} (whole decode)",
        len(data.files),
        lambda: naive_pixels(data.files, PIXEL_SIZE),
    )


def hash_metrics(data, speed, metrics):
    from nearduplicates.features import perceptual_hashes

    originals = measured(speed, "pHash", len(data.files), lambda: computed(perceptual_hashes(data.originals_entries)))
    copies = computed(perceptual_hashes(data.copy_entries))
    metrics["pHash 64-bit (Hamming)"] = separation(*hamming_recall(originals, copies, data.planted))


def cnn_metrics(data, arch, weights, label, args, speed, metrics):
    """Recall of the arch's features, raw and scaled to length 1, and the batched extractor's images/s."""
    import torch

    from annotate.inference import ModelSpec
    from nearduplicates.features import FeatureExtractor, unit_length

    torch.manual_seed(args.seed)
    start = time.perf_counter()
    extractor = FeatureExtractor(ModelSpec(arch, weights), batch_size=args.batch_size, normalise=False)
    # A worker compiles its model once and keeps it: warm it up apart, so that the rate is a running worker's.
    computed(extractor.extract(data.originals_entries[: args.batch_size]))
    speed[f"{arch} {label}: one-time model load + compile, s"] = time.perf_counter() - start
    originals, copies = measured(
        speed,
        f"{arch} {label}: batched extractor",
        len(data.files) + len(data.copies),
        lambda: (computed(extractor.extract(data.originals_entries)), computed(extractor.extract(data.copy_entries))),
    )
    metrics[f"{arch} {label}, raw ({extractor.dimension}-d)"] = separation(*l2_recall(originals, copies, data.planted))
    metrics[f"{arch} {label}, length 1"] = separation(
        *l2_recall(unit_length(originals), unit_length(copies), data.planted)
    )


def main():
    args = parse_args()
    samples = benchlib.SHARED_DATA / "imagenet-samples"
    if not samples.is_dir():
        print(f"skipped: {samples} is absent (set RELABEL_SHARED_DATA to the real data); nothing was measured")
        return
    import torch

    from annotate.inference import ModelSpec, hub_checkpoint

    data = Planted([path.read_bytes() for path in sorted(samples.iterdir())], args.copies, args.seed)
    speed, metrics = {}, {}
    pixel_metrics(data, args.pixel_sizes, speed, metrics)
    hash_metrics(data, speed, metrics)
    for arch in args.archs:
        cnn_metrics(data, arch, "none", "random weights", args, speed, metrics)
        if arch == args.archs[0]:
            # Right after the batched run of the same arch, so that both meet about the same load of the machine.
            naive = data.files[: args.naive_images]
            measured(speed, f"{arch}: naive one-image loop", len(naive), lambda a=arch, f=naive: naive_features(a, f))
        default_weights = ModelSpec(arch).validate()
        if hub_checkpoint(default_weights).is_file():
            cnn_metrics(data, arch, "DEFAULT", str(default_weights), args, speed, metrics)
        else:
            print(f"{arch}: no real weights ({hub_checkpoint(default_weights)} is absent), random weights only")
    arch = args.archs[0]
    speedup = speed[f"{arch} random weights: batched extractor"] / speed[f"{arch}: naive one-image loop"]

    load = f"load average {benchlib.LOAD_AT_START[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end"
    machine = f"{platform.processor() or 'cpu'}, {os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads"
    header = ["metric", "recall", "copy med", "copy max", "clean min", "clean p1", "clean med", "pairs ok"]
    benchlib.print_table(
        f"Recall of {args.copies} edited copies among {len(data.files)} originals ({COPY_EDITS}); {load}",
        [*header, "threshold", "missed", "flagged"],
        [[name, *m.values()] for name, m in metrics.items()],
    )
    rows = [[name if name.endswith(", s") else f"{name}, images/s", value] for name, value in speed.items()]
    rows.append([f"{arch} speedup, batched / naive (goal >= 3x on CPU)", speedup])
    benchlib.print_table(f"Extraction speed, {machine}; {load}", ["measure", "value"], rows)
    benchlib.write_json(
        args.json,
        "near_duplicate_recall",
        None,
        {
            "archs": args.archs,
            "copies": args.copies,
            "edits": COPY_EDITS,
            "metrics": metrics,
            "speed": speed,
            "speedup": speedup,
        },
        {"recall_pixel_and_cnn": 1.0, "cnn_speedup_on_cpu": ">= 3"},
    )


if __name__ == "__main__":
    main()
