"""The ImageNet-1k class taxonomy (taxonomy.hierarchy), asked by every app as `taxonomy.label(wnid)` and so on; the
wnid's one pattern and parser (taxonomy.wnids)."""

from taxonomy.hierarchy import (
    DATA_FILE,
    SPLITS,
    Synset,
    ancestors,
    class_index,
    class_wnids,
    descendant_classes,
    exists,
    get,
    is_class,
    label,
    roots,
    search,
    split_classes,
    typo_corrections,
    wnid_for_index,
)

__all__ = [
    "DATA_FILE",
    "SPLITS",
    "Synset",
    "ancestors",
    "class_index",
    "class_wnids",
    "descendant_classes",
    "exists",
    "get",
    "is_class",
    "label",
    "roots",
    "search",
    "split_classes",
    "typo_corrections",
    "wnid_for_index",
]
