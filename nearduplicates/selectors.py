"""Reads of near-duplicate search: job progress, and where the search leaves each candidate."""

from typing import NamedTuple

import numpy as np
from django.db.models import Count, F, Q, Sum

from annotate.models import FINISHED_JOB_STATES, JobState
from nearduplicates import graph
from nearduplicates.jobs import FEATURES, SEARCHES
from nearduplicates.models import (
    DuplicateReview,
    Neighbour,
    Override,
    PairVerdict,
    ResolutionOverride,
    SearchJob,
    ShardPhase,
    Threshold,
)
from testsets.browse import with_frequency
from testsets.models import Candidate, SelectionFrequency


def search_progress(job):
    """A search's progress and that of the feature jobs it waits for; with an IVF index, its shards' builds."""
    job = SearchJob.objects.select_related("testset").get(pk=job.pk)
    feature_jobs = [
        {**FEATURES.progress(feature_job), "dataset": feature_job.feature_set.dataset.name}
        for feature_job in job.feature_jobs.select_related("feature_set__dataset").order_by("pk")
    ]
    building = job.shards.aggregate(
        shards=Count("pk", filter=Q(state=JobState.RUNNING, phase=ShardPhase.BUILDING)),
        vectors=Sum("vectors_indexed", default=0),
    )
    return {
        **SEARCHES.progress(job),
        "testset": job.testset.name,
        "metric": job.metric,
        "k": job.k,
        "architecture": job.architecture,
        "weights": job.weights,
        "index": job.index,
        "nprobe": job.nprobe,
        "shards_building": building["shards"],
        "vectors_indexed": building["vectors"],
        "against": list(job.against.order_by("name").values_list("name", flat=True)),
        "neighbours_written": job.neighbours_written,
        "feature_jobs": feature_jobs,
        "finished": job.state in FINISHED_JOB_STATES,
    }


def wait_for_search(job_id, on_progress=None, poll_seconds=1.0, timeout=None):
    """Block until the search is finished, reporting its progress; returns the last."""
    return SEARCHES.wait(job_id, lambda pk: search_progress(SearchJob(pk=pk)), on_progress, poll_seconds, timeout)


def _unreviewed_reason(metrics):
    if len(metrics) == 1:
        return f"unreviewed neighbour under the {metrics[0]} threshold"
    return f"unreviewed neighbours under the {', '.join(metrics[:-1])} and {metrics[-1]} thresholds"


class Standing(NamedTuple):
    """Where the near-duplicate search leaves each candidate of a test set: `unreviewed` {candidate id: metrics
    under whose threshold a neighbour waits for a verdict}, `resolution` (graph.Resolution over every candidate)."""

    unreviewed: dict
    resolution: graph.Resolution

    def held_back(self):
        """{candidate id: why it may not be sampled}: a neighbour under a threshold not reviewed yet, or the
        resolution of duplicates rejects it."""
        reasons = {candidate: _unreviewed_reason(sorted(metrics)) for candidate, metrics in self.unreviewed.items()}
        resolution = self.resolution
        for candidate, reason, related in zip(
            resolution.ids[~resolution.survives].tolist(),
            resolution.reasons[~resolution.survives].tolist(),
            resolution.related[~resolution.survives].tolist(),
            strict=True,
        ):
            reasons.setdefault(candidate, REJECTED.get(reason, reason).format(related=related))
        return reasons


REJECTED = {
    graph.TOUCHES_REFERENCE: "a duplicate of reference image {related} (directly or through other duplicates)",
    graph.DUPLICATE: "a duplicate of candidate {related}, which is kept",
    graph.OVERRIDE_REJECTED: "rejected by hand",
}


def standing(testset):
    """The near-duplicate standing of the test set's candidates (see Standing). A neighbour counts as under a
    metric's threshold at a distance of at most the threshold; neighbours sharing the candidate's source id need no
    verdict, since the source id joins them anyway; a verdict on a pair counts whichever of the two was the
    candidate it was given on. The resolution covers the candidates with a duplicate, a shared source id or an
    override, every other candidate being alone in its component: a few queries, however many candidates."""
    candidates = Candidate.objects.filter(testset=testset)
    shared_sources = (
        candidates.exclude(source_id="").values("source_id").annotate(n=Count("pk")).filter(n__gt=1).values("source_id")
    )
    sourced = dict(candidates.filter(source_id__in=shared_sources).values_list("image_id", "source_id"))
    reviewed, duplicates = set(), []
    for candidate, candidate_image, image, verdict in DuplicateReview.objects.filter(
        candidate__testset=testset
    ).values_list("candidate_id", "candidate__image_id", "image_id", "verdict"):
        reviewed.add(frozenset((candidate_image, image)))
        if verdict == PairVerdict.DUPLICATE:
            duplicates.append((candidate, image))
    unreviewed = {}
    for metric, limit in Threshold.objects.filter(testset=testset).values_list("metric", "value"):
        for candidate, candidate_image, image in Neighbour.objects.filter(
            testset=testset, metric=metric, distance__lte=limit
        ).values_list("candidate_id", "candidate__image_id", "image_id"):
            source = sourced.get(candidate_image)
            if frozenset((candidate_image, image)) in reviewed or (source and sourced.get(image) == source):
                continue
            unreviewed.setdefault(candidate, set()).add(metric)
    overrides = dict(
        ResolutionOverride.objects.filter(candidate__testset=testset).values_list("candidate_id", "decision")
    )
    return Standing(unreviewed, _resolution(testset, duplicates, set(sourced), overrides))


def _resolution(testset, duplicates, sourced_images, overrides):
    """graph.resolve over the candidates that have a duplicate, a shared source id or an override, with the
    classes' numbers of eligible high-frequency candidates counted over all."""
    involved = Candidate.objects.filter(testset=testset).filter(
        Q(pk__in={candidate for candidate, _ in duplicates} | set(overrides))
        | Q(image_id__in={image for _, image in duplicates} | sourced_images)
    )
    if not (duplicates or overrides or sourced_images):
        involved = involved.none()
    rows = list(
        with_frequency(involved, testset, "image_id", "wnid")
        .order_by("pk")
        .values_list("pk", "image_id", "wnid", "source_id", "blacklist_reason", "annotations", "frequency")
    )
    candidate_of_image = {image: pk for pk, image, *_ in rows}
    annotations = np.array([row[5] for row in rows], np.int64)
    return graph.resolve(
        graph.Candidates(
            ids=np.array([row[0] for row in rows], np.int64),
            classes=np.array([row[2] for row in rows], dtype=object),
            frequencies=np.array([np.nan if row[6] is None else row[6] for row in rows], np.float64),
            annotations=annotations,
            source_ids=np.array([row[3] for row in rows], dtype=object),
        ),
        duplicate_pairs=[(c, candidate_of_image[i]) for c, i in duplicates if i in candidate_of_image],
        reference_pairs=[(c, i) for c, i in duplicates if i not in candidate_of_image],
        counts=_high_frequency_counts(testset) if rows else {},
        keep=[c for c, decision in overrides.items() if decision == Override.KEEP],
        reject=[c for c, decision in overrides.items() if decision == Override.REJECT],
    )


def _high_frequency_counts(testset):
    """{wnid: its eligible candidates (enough annotations, not blacklisted) of frequency >= graph.HIGH_FREQUENCY}."""
    return dict(
        SelectionFrequency.objects.filter(
            testset=testset,
            image__candidate__testset=testset,
            image__candidate__wnid=F("wnid"),
            image__candidate__blacklist_reason="",
            annotations__gte=max(testset.min_annotations, 1),
            selected__gte=graph.HIGH_FREQUENCY * F("annotations"),
        )
        .order_by()
        .values("wnid")
        .annotate(n=Count("pk"))
        .values_list("wnid", "n")
    )


def held_back_candidates(testset):
    """{candidate id: why near-duplicate search holds it back from sampling}."""
    return standing(testset).held_back()


def thresholds_of(testset):
    """Per metric with neighbours: its threshold (value, proposal, who set it when), how many neighbours lie under
    it and how many candidates wait for a verdict under it."""
    waiting = {}
    for metrics in standing(testset).unreviewed.values():
        for metric in metrics:
            waiting[metric] = waiting.get(metric, 0) + 1
    rows = []
    for threshold in Threshold.objects.filter(testset=testset).select_related("set_by").order_by("metric"):
        rows.append(
            {
                "metric": threshold.metric,
                "value": threshold.value,
                "proposed": threshold.proposed,
                "set_by": threshold.set_by.username if threshold.set_by else None,
                "set_at": threshold.set_at,
                "under": Neighbour.objects.filter(
                    testset=testset, metric=threshold.metric, distance__lte=threshold.value
                ).count(),
                "waiting": waiting.get(threshold.metric, 0),
            }
        )
    return rows


def review_queue(testset):
    """The candidates that wait for a verdict on a neighbour under a threshold, those with the nearest such
    neighbour first: [(candidate id, nearest distance relative to its metric's threshold)]."""
    unreviewed = standing(testset).unreviewed
    limits = dict(Threshold.objects.filter(testset=testset).values_list("metric", "value"))
    nearest = {}
    for candidate, metric, distance in Neighbour.objects.filter(
        candidate__in=list(unreviewed), rank=1, metric__in=list(limits)
    ).values_list("candidate_id", "metric", "distance"):
        share = distance / limits[metric] if limits[metric] > 0 else 0.0
        nearest[candidate] = min(nearest.get(candidate, share), share)
    return sorted(unreviewed, key=lambda candidate: (nearest.get(candidate, 1.0), candidate))


def candidate_neighbours(testset, candidate):
    """A candidate's neighbours per metric, nearest first, each with its image, the dataset it is in, whether it
    lies under the metric's threshold and the verdict on the pair (whichever of the two it was given on)."""
    return neighbours_of(testset, [candidate]).get(candidate.pk, {})


def neighbours_of(testset, candidates, nearest=None):
    """candidate_neighbours of each of the test set's `candidates`, by candidate id (those without neighbours left
    out); `nearest`: only the nearest so many per metric. Four queries, however many candidates."""
    ids = [candidate.pk for candidate in candidates]
    candidate_of_image = {candidate.image_id: candidate.pk for candidate in candidates}
    limits = dict(Threshold.objects.filter(testset=testset).values_list("metric", "value"))
    verdicts = {
        (candidate, image): (verdict, by, at)
        for candidate, image, verdict, by, at in DuplicateReview.objects.filter(candidate__in=ids).values_list(
            "candidate_id", "image_id", "verdict", "reviewed_by__username", "reviewed_at"
        )
    }
    for other_image, image, verdict, by, at in DuplicateReview.objects.filter(
        image_id__in=list(candidate_of_image), candidate__testset=testset
    ).values_list("candidate__image_id", "image_id", "verdict", "reviewed_by__username", "reviewed_at"):
        verdicts.setdefault((candidate_of_image[image], other_image), (verdict, by, at))
    found = Neighbour.objects.filter(candidate__in=ids)
    if nearest is not None:
        found = found.filter(rank__lte=nearest)
    neighbours = {}
    for neighbour in found.select_related("image__dataset").order_by("candidate", "metric", "rank"):
        verdict, by, at = verdicts.get((neighbour.candidate_id, neighbour.image_id), ("", None, None))
        limit = limits.get(neighbour.metric)
        neighbours.setdefault(neighbour.candidate_id, {}).setdefault(neighbour.metric, []).append(
            {
                "image": neighbour.image,
                "rank": neighbour.rank,
                "distance": neighbour.distance,
                "under_threshold": limit is not None and neighbour.distance <= limit,
                "verdict": verdict,
                "reviewed_by": by,
                "reviewed_at": at,
            }
        )
    return neighbours


def duplicate_groups(testset):
    """The components of the resolution with more than one candidate or a reference image: per component its
    candidates (with their file names), whether each survives and why."""
    resolution = standing(testset).resolution
    names = dict(Candidate.objects.filter(pk__in=resolution.ids.tolist()).values_list("pk", "image__file_name"))
    groups = {}
    for candidate, survives, reason, related, component in zip(
        resolution.ids.tolist(),
        resolution.survives.tolist(),
        resolution.reasons.tolist(),
        resolution.related.tolist(),
        resolution.components.tolist(),
        strict=True,
    ):
        groups.setdefault(component, []).append(
            {
                "candidate": candidate,
                "file_name": names[candidate],
                "survives": survives,
                "reason": reason,
                "related": None if related < 0 else related,
            }
        )
    return [members for _, members in sorted(groups.items()) if len(members) > 1 or members[0]["related"] is not None]
