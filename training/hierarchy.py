"""The class hierarchy as the class picker browses it: a node's children, one level at a time.

The taxonomy holds the 1,000 classes and their WordNet ancestors only, so every node leads to
classes. A category with a single child adds a click and nothing to choose from: such chains are
folded into the node at their end, whose `via` lists the labels folded away (living thing › organism).
"""

import taxonomy

ROOT = "n00001740"  # entity


def node_data(synset, via=()):
    return {
        "wnid": synset.wnid,
        "label": synset.label,
        "words": list(synset.words),
        "gloss": synset.gloss,
        "is_class": synset.is_class,
        "classes_under": len(taxonomy.descendant_classes(synset.wnid)),
        "has_children": bool(synset.children),
        "via": list(via),
    }


def folded(synset):
    """The synset at the end of its chain of single-child categories, and the labels passed on the way."""
    via = []
    while not synset.is_class and len(synset.children) == 1:
        via.append(synset.label)
        synset = taxonomy.get(synset.children[0])
    return synset, via


def children(wnid=None):
    """A node (the root when None) and its children, sorted by label; KeyError for an unknown wnid."""
    node = taxonomy.get(wnid or ROOT)
    shown = [node_data(*folded(taxonomy.get(child))) for child in node.children]
    shown.sort(key=lambda entry: (entry["label"].lower(), entry["wnid"]))
    return {"node": node_data(node), "children": shown}
