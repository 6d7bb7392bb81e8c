"""Candidates that an app above this one holds back from sampling, with why: near-duplicate search registers
itself when ready (nearduplicates.apps), so that sampling, the eligible counts and the candidate browser leave out
what it has not cleared. Without such an app nothing is held back."""

_sources = []


def hold_back_with(source):
    """Register `source(testset)`, which answers {candidate id: why it may not be sampled}."""
    if source not in _sources:
        _sources.append(source)


def held_back(testset):
    """{candidate id: why} over every registered source; the first source's reason where several hold one back."""
    reasons = {}
    for source in _sources:
        for candidate, reason in source(testset).items():
            reasons.setdefault(candidate, reason)
    return reasons
