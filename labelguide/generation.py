"""The generated part of class pages: Markdown from WordNet and the class hierarchy. Plain Python.

Used by the data migration that creates the 1,000 class pages and by `manage.py generate_guide`;
what it writes is replaced on every regeneration, so experts write in the page body instead.
"""

import taxonomy

RELATED_CLASSES_SHOWN = 24


def class_page_title(wnid):
    return taxonomy.label(wnid)


def _class_link(wnid):
    return f"[{_escape(taxonomy.label(wnid))}](/guide/wnid/{wnid}/)"


def _escape(text):
    """WordNet words as literal Markdown text (a few contain characters Markdown would act on)."""
    return "".join(f"\\{char}" if char in "\\`*_[]()#<>!|" else char for char in text)


def hierarchy_path(wnid):
    """The synsets from the root down to wnid along each synset's first parent."""
    path = [wnid]
    while taxonomy.get(path[-1]).parents:
        path.append(taxonomy.get(path[-1]).parents[0])
    return path[::-1]


def related_classes(wnid):
    """(the nearest hypernym with other classes under it, those classes): the likeliest look-alikes."""
    for ancestor in taxonomy.ancestors(wnid):
        others = taxonomy.descendant_classes(ancestor) - {wnid}
        if others:
            return ancestor, sorted(others, key=lambda other: (taxonomy.label(other).lower(), other))
    return None, []


def class_page_markdown(wnid):
    synset = taxonomy.get(wnid)
    lines = [
        "### WordNet",
        "",
        f"- **Synonyms:** {', '.join(_escape(word) for word in synset.words)}",
        f"- **Definition:** {_escape(synset.gloss)}",
        f"- **wnid:** `{wnid}` · **class index:** {synset.class_index}",
        "",
        "### In the class hierarchy",
        "",
    ]
    path = hierarchy_path(wnid)
    lines.append(" › ".join([_escape(taxonomy.label(node)) for node in path[:-1]] + [f"**{_escape(synset.label)}**"]))
    other_parents = synset.parents[1:]
    if other_parents:
        names = ", ".join(f"*{_escape(taxonomy.label(parent))}*" for parent in other_parents)
        lines += ["", f"Also a kind of {names}."]
    ancestor, related = related_classes(wnid)
    if related:
        shown = ", ".join(_class_link(other) for other in related[:RELATED_CLASSES_SHOWN])
        more = len(related) - RELATED_CLASSES_SHOWN
        tail = f" and {more} more" if more > 0 else ""
        lines += ["", f"Other classes under *{_escape(taxonomy.label(ancestor))}*: {shown}{tail}."]
    return "\n".join(lines) + "\n"
