"""Reads of a dataset's consensus policy: how many reviewers decide each of its items, and by which rule."""

from annotate.models import ConsensusPolicy


def policy_of(dataset):
    """The dataset's policy (no query where it was selected with the dataset); an unsaved single-reviewer one
    where it has none."""
    try:
        return dataset.consensus_policy
    except ConsensusPolicy.DoesNotExist:
        return ConsensusPolicy(dataset=dataset)


def policy_for(dataset_id):
    """The dataset's policy; an unsaved single-reviewer one where it has none."""
    return ConsensusPolicy.objects.filter(dataset_id=dataset_id).first() or ConsensusPolicy(dataset_id=dataset_id)
