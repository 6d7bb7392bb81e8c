"""One search shard through an IVF index (nearduplicates.search's build_ivf and search_ivf) of its own reference
blocks: the reference stays spread over the workers, and the shards' approximate lists merge as exact ones do.
While it builds, the shard's `phase` and `vectors_indexed` show how far it is in the job's progress."""

import numpy as np
from django.db.models import F

from nearduplicates import search
from nearduplicates.models import FeatureBlock, SearchShard, ShardPhase
from nearduplicates.searching import shard_blocks

# The training sample is drawn the same way each time: a shard redone builds the same index.
TRAINING_SEED = 16


def ivf_top_k(job, shard, query_ids, queries):
    """The approximate k nearest of each query among the shard's blocks, the query's own id left out."""
    index = build_shard_index(shard)
    SearchShard.objects.filter(pk=shard.pk).update(phase=ShardPhase.SEARCHING)
    return search.search_ivf(index, queries, job.k, exclude_ids=query_ids, nprobe=job.nprobe)


def build_shard_index(shard):
    """The IVF index of the shard's blocks, trained on a sample drawn from all of them (blocks follow the images'
    order, often by class, which the first blocks do not represent). The blocks are read twice, for the sample and
    to be added, so that memory holds the index and one block."""
    SearchShard.objects.filter(pk=shard.pk).update(phase=ShardPhase.BUILDING, vectors_indexed=0)
    counts = dict(FeatureBlock.objects.filter(pk__in=shard.blocks).values_list("pk", "count"))
    total = sum(counts.values())
    wanted = min(total, search.ivf_list_count(total) * search.TRAINING_POINTS_PER_LIST)
    chosen = np.sort(np.random.default_rng(TRAINING_SEED).choice(total, wanted, replace=False))
    starts = np.cumsum([0, *(counts[block] for block in shard.blocks)])[:-1]
    sample = [
        vectors[chosen[(chosen >= start) & (chosen < start + len(ids))] - start]
        for (ids, vectors), start in zip(shard_blocks(shard), starts, strict=True)
    ]

    def indexed(count):
        SearchShard.objects.filter(pk=shard.pk).update(vectors_indexed=F("vectors_indexed") + count)

    return search.build_ivf(shard_blocks(shard, after_each=indexed), total, training_vectors=np.concatenate(sample))
