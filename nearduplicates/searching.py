"""What a near-duplicate search does between its start and its end: plan its shards (and which index they use),
search one shard's part, and write the merged neighbours. The numeric work is nearduplicates.search (FAISS) and
nearduplicates.ssim; a shard's IVF index is nearduplicates.ivf_searching's."""

from typing import NamedTuple

import numpy as np
from django.db import transaction
from django.utils import timezone

from annotate.bulk import insert_columns
from annotate.models import Image
from nearduplicates import index_choice, thresholds
from nearduplicates.models import (
    VECTOR_METRICS,
    FeatureBlock,
    FeatureSet,
    Metric,
    Neighbour,
    SearchIndex,
    SearchShard,
    Threshold,
)
from nearduplicates.storage import load_arrays
from testsets.frequency_tasks import most_similar_classes
from testsets.models import Candidate

NO_NEIGHBOUR = -1
# Candidates per DSSIM shard: each reads its candidates' files and those of their neighbours.
DSSIM_SHARD_SIZE = 200


class Part(NamedTuple):
    """One shard's nearest lists: `query_ids` (image ids of candidates), `distances` and `ids` (n × k, nearest
    first, NO_NEIGHBOUR past the last), and how many reference vectors or pairs it searched."""

    arrays: dict
    searched: int


def feature_sets_of(job):
    """The feature sets a vector search reads: the pool's (the candidates) first, then each reference dataset's."""
    datasets = [job.testset.pool_id, *job.against.order_by("name").values_list("pk", flat=True)]
    sets = {
        feature_set.dataset_id: feature_set
        for feature_set in FeatureSet.objects.filter(
            dataset_id__in=datasets, metric=job.metric, architecture=job.architecture, weights=job.weights
        )
    }
    return [sets[dataset] for dataset in datasets if dataset in sets]


def plan_shards(job):
    """Create the job's shards and return their ids: for vectors, groups of whole reference blocks of about
    `job.shard_size` vectors each (the candidates' own block among them, to find copies among candidates); for
    DSSIM, groups of candidates. An `auto` index becomes the one the search uses."""
    if job.metric == Metric.SSIM:
        candidates = list(Candidate.objects.filter(testset=job.testset).order_by("pk").values_list("pk", flat=True))
        groups = [
            {"image_ids": candidates[start : start + DSSIM_SHARD_SIZE]}
            for start in range(0, len(candidates), DSSIM_SHARD_SIZE)
        ]
        total = len(candidates)
        index = SearchIndex.EXACT  # every pair it is given, re-ranked: no index
    else:
        feature_sets = feature_sets_of(job)
        blocks = list(
            FeatureBlock.objects.filter(feature_set__in=feature_sets, count__gt=0)
            .order_by("feature_set_id", "pk")
            .values_list("pk", "count", "feature_set__dataset_id")
        )
        groups, size = [], 0
        for block, count, _ in blocks:
            if not groups or size + count > job.shard_size:
                groups.append({"image_ids": [], "blocks": []})
                size = 0
            groups[-1]["blocks"].append(block)
            size += count
        total = sum(count for _, count, _ in blocks)
        queries = sum(count for _, count, dataset in blocks if dataset == job.testset.pool_id)
        dimension = next((feature_set.dimension for feature_set in feature_sets if feature_set.dimension), None)
        index = _index_used(job, total, dimension, queries)
    job.images_total = total
    job.index = index
    job.save(update_fields=["images_total", "index"])
    SearchShard.objects.bulk_create(SearchShard(job=job, index=i, **group) for i, group in enumerate(groups))
    return list(job.shards.order_by("index").values_list("pk", flat=True))


def _index_used(job, n_reference, dimension, n_queries):
    """The index asked for, or for `auto` the one index_choice measured for this size; pHash vectors (64-d) are
    searched exactly whatever their number."""
    if job.index != SearchIndex.AUTO:
        return job.index
    if job.metric == Metric.PHASH or not dimension:
        return SearchIndex.EXACT
    return index_choice.choose_index(n_reference, dimension, n_queries)


def candidate_vectors(job):
    """(image ids, vectors) of the test set's candidates in the pool's feature set, by image id."""
    pool_set = FeatureSet.objects.get(
        dataset_id=job.testset.pool_id, metric=job.metric, architecture=job.architecture, weights=job.weights
    )
    ids, vectors = _read_blocks(FeatureBlock.objects.filter(feature_set=pool_set))
    order = np.argsort(ids, kind="stable")
    return ids[order], vectors[order]


def _read_blocks(blocks):
    arrays = [load_arrays(path) for path in blocks.order_by("pk").values_list("path", flat=True)]
    if not arrays:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    return np.concatenate([a["ids"] for a in arrays]), np.concatenate([a["vectors"] for a in arrays])


def search_part(job, shard):
    if job.metric == Metric.SSIM:
        return _dssim_part(job, shard)
    from nearduplicates import search  # torch loads only in the workers that search

    query_ids, queries = candidate_vectors(job)
    if job.index == SearchIndex.IVF:
        from nearduplicates.ivf_searching import ivf_top_k

        distances, ids = ivf_top_k(job, shard, query_ids, queries)
    else:
        distances, ids = search.exact_top_k(queries, shard_blocks(shard), k=job.k, exclude_ids=query_ids)
    searched = sum(FeatureBlock.objects.filter(pk__in=shard.blocks).values_list("count", flat=True))
    return Part({"query_ids": query_ids, "distances": distances, "ids": ids}, searched)


def shard_blocks(shard, after_each=None):
    """The shard's reference blocks (ids, vectors), read one at a time; `after_each(count)` is called once a block
    has been used."""
    paths = dict(FeatureBlock.objects.filter(pk__in=shard.blocks).values_list("pk", "path"))
    for block in shard.blocks:
        arrays = load_arrays(paths[block])
        yield arrays["ids"], arrays["vectors"]
        if after_each:
            after_each(len(arrays["ids"]))


def _dssim_part(job, shard):
    """DSSIM between each candidate of the shard and its pHash, pixel and CNN neighbours of its own class or its
    most similar class, nearest first."""
    from nearduplicates import ssim  # decodes with the features' code, which loads torch

    candidates = list(Candidate.objects.filter(pk__in=shard.image_ids).select_related("image").order_by("pk"))
    similar = most_similar_classes(job.testset.reference, {candidate.wnid for candidate in candidates})
    found = {}
    for candidate_id, image_id, wnid in (
        Neighbour.objects.filter(candidate__in=candidates, metric__in=VECTOR_METRICS)
        .values_list("candidate_id", "image_id", "image__original_wnid")
        .order_by("candidate_id", "image_id")
    ):
        found.setdefault(candidate_id, {})[image_id] = wnid
    neighbour_files = {
        image.pk: image
        for image in Image.objects.filter(pk__in={i for n in found.values() for i in n}).only("pk", "file")
    }
    k = job.k
    query_ids = np.array([candidate.image_id for candidate in candidates], np.int64)
    distances = np.full((len(candidates), k), np.inf, np.float32)
    ids = np.full((len(candidates), k), NO_NEIGHBOUR, np.int64)
    decoded = {}

    def prepared(image):
        """The image decoded for SSIM once per shard; None when its file cannot be read as an image."""
        if image.pk not in decoded:
            try:
                with image.file.open("rb") as handle:
                    decoded[image.pk] = ssim.SsimImage.decode(handle.read())
            except (OSError, ValueError):
                decoded[image.pk] = None
        return decoded[image.pk]

    pairs = 0
    for row, candidate in enumerate(candidates):
        classes = {candidate.wnid, similar.get(candidate.wnid)}
        own = prepared(candidate.image)
        others = [
            (image_id, prepared(neighbour_files[image_id]))
            for image_id, wnid in found.get(candidate.pk, {}).items()
            if wnid in classes
        ]
        others = [(image_id, image) for image_id, image in others if image is not None]
        if own is None or not others:
            continue
        ranked = ssim.rerank(own, others)[:k]
        pairs += len(others)
        ids[row, : len(ranked)] = [image_id for image_id, _ in ranked]
        distances[row, : len(ranked)] = [distance for _, distance in ranked]
    return Part({"query_ids": query_ids, "distances": distances, "ids": ids}, pairs)


def write_neighbours(job, parts):
    """Replace the test set's neighbours under the job's metric with the shards' merged lists; returns how many
    were written. Vector shards searched the same candidates against different references: their lists merge.
    DSSIM shards each re-ranked their own candidates: their lists join."""
    if not parts:
        query_ids = np.zeros(0, np.int64)
        distances, ids = np.zeros((0, job.k), np.float32), np.zeros((0, job.k), np.int64)
    elif job.metric == Metric.SSIM:
        query_ids = np.concatenate([part["query_ids"] for part in parts])
        distances = np.concatenate([part["distances"] for part in parts])
        ids = np.concatenate([part["ids"] for part in parts])
    else:
        from nearduplicates import search

        query_ids = parts[0]["query_ids"]
        distances, ids = search.merge_top_k([(part["distances"], part["ids"]) for part in parts], job.k)
    candidate_of = dict(Candidate.objects.filter(testset=job.testset).values_list("image_id", "pk"))
    known = np.array([query in candidate_of for query in query_ids.tolist()], bool)
    rows, ranks = np.nonzero((ids != NO_NEIGHBOUR) & known[:, None])
    candidates = np.array([candidate_of[query] for query in query_ids[known].tolist()], np.int64)
    candidate_rows = np.cumsum(known) - 1
    with transaction.atomic():
        Neighbour.objects.filter(testset=job.testset, metric=job.metric).delete()
        written = insert_columns(
            Neighbour,
            {
                "testset": job.testset_id,
                "candidate": candidates[candidate_rows[rows]],
                "metric": job.metric,
                "rank": (ranks + 1).astype(np.int16),
                "image": ids[rows, ranks],
                "distance": distances[rows, ranks].astype(np.float64),
                "search": job.pk,
            },
        )
        _propose_threshold(job, distances[:, 0])
    return written


def _propose_threshold(job, nearest):
    """Propose the metric's threshold from the new nearest distances: a first search sets it to the proposal, a
    later one updates the proposal beside the value people chose."""
    if not np.isfinite(nearest).any():
        return
    proposed = thresholds.proposed_threshold(nearest)
    threshold, created = Threshold.objects.get_or_create(
        testset=job.testset,
        metric=job.metric,
        defaults={"value": proposed, "proposed": proposed, "set_by": job.created_by, "set_at": timezone.now()},
    )
    if not created:
        Threshold.objects.filter(pk=threshold.pk).update(proposed=proposed)
