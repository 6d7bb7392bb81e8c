"""The ImageNet-1k class taxonomy: the 1,000 classes and their WordNet 3.0 hypernym ancestors.

Read once from the committed annotate/data/taxonomy.json (rebuilt by ``manage.py build_taxonomy``).
Plain Python, no Django. A class's index is its position among the sorted class wnids (0-999).
"""

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "taxonomy.json"

ORGANISM = "n00004475"  # organism, being
DOG = "n02084071"  # dog, domestic dog, Canis familiaris
SPLITS = ("all", "objects", "organisms", "dogs", "organisms_without_dogs")

_TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Synset:
    wnid: str
    words: tuple
    gloss: str
    parents: tuple
    children: tuple
    class_index: int | None

    @property
    def label(self):
        return self.words[0]

    @property
    def is_class(self):
        return self.class_index is not None


@cache
def _load():
    """(synsets by wnid, sorted class wnids), built from the data file on first use."""
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    classes = tuple(sorted(data["classes"]))
    index = {wnid: i for i, wnid in enumerate(classes)}
    children = {wnid: [] for wnid in data["synsets"]}
    for wnid, entry in data["synsets"].items():
        for parent in entry["parents"]:
            children[parent].append(wnid)
    synsets = {
        wnid: Synset(
            wnid=wnid,
            words=tuple(entry["words"]),
            gloss=entry["gloss"],
            parents=tuple(entry["parents"]),
            children=tuple(sorted(children[wnid])),
            class_index=index.get(wnid),
        )
        for wnid, entry in data["synsets"].items()
    }
    return synsets, classes


def get(wnid):
    """The Synset for a wnid; KeyError if it is not in the taxonomy."""
    try:
        return _load()[0][wnid]
    except KeyError:
        raise KeyError(f"unknown synset {wnid!r}") from None


def exists(wnid):
    return wnid in _load()[0]


def label(wnid):
    return get(wnid).words[0]


def class_wnids():
    """The 1,000 class wnids, sorted; the position of each is its class index."""
    return _load()[1]


def is_class(wnid):
    synset = _load()[0].get(wnid)
    return synset is not None and synset.class_index is not None


def class_index(wnid):
    """The class index (0-999) of a class wnid; KeyError for anything that is not a class."""
    index = get(wnid).class_index
    if index is None:
        raise KeyError(f"{wnid!r} ({label(wnid)}) is not an ImageNet class")
    return index


def wnid_for_index(index):
    classes = class_wnids()
    if not 0 <= index < len(classes):
        raise IndexError(f"class index {index} is out of range 0-{len(classes) - 1}")
    return classes[index]


def roots():
    """Synsets without parents (for ImageNet only n00001740, entity)."""
    return tuple(s for s in _load()[0].values() if not s.parents)


@cache
def ancestors(wnid):
    """Every hypernym above wnid (not wnid itself), nearest first, each once."""
    seen = []
    frontier = list(get(wnid).parents)
    while frontier:
        following = []
        for parent in frontier:
            if parent not in seen:
                seen.append(parent)
                following.extend(get(parent).parents)
        frontier = following
    return tuple(seen)


@cache
def descendant_classes(wnid):
    """The class wnids at or under wnid."""
    synset = get(wnid)
    found = {wnid} if synset.class_index is not None else set()
    for child in synset.children:
        found |= descendant_classes(child)
    return frozenset(found)


@cache
def split_classes(name):
    """The class wnids of a named split (see SPLITS)."""
    everything = frozenset(class_wnids())
    organisms, dogs = descendant_classes(ORGANISM), descendant_classes(DOG)
    splits = {
        "all": everything,
        "objects": everything - organisms,
        "organisms": organisms,
        "dogs": dogs,
        "organisms_without_dogs": organisms - dogs,
    }
    if name not in splits:
        raise ValueError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
    return splits[name]


def _words(text):
    """' word word ...': a word-prefix test becomes a substring test, ' ' + term in _words(text)."""
    return " " + " ".join(_TOKEN.findall(text.lower()))


@cache
def _search_index(classes_only=False):
    """Per synset, sorted by label: (synset, its lowercase synonyms, their _words, _words of synonyms and
    gloss). Synonyms are framed by newlines ("\\nhammerhead\\nhammerhead shark\\n"), so that matching
    is done by substring tests, which keeps search fast."""
    index = []
    for synset in sorted(_load()[0].values(), key=lambda s: (s.words[0].lower(), s.wnid)):
        if classes_only and synset.class_index is None:
            continue
        synonyms = "\n" + "".join(" ".join(word.lower().split()) + "\n" for word in synset.words)
        synonym_words = "\n" + "".join(_words(word) + "\n" for word in synset.words)
        index.append((synset, synonyms, synonym_words, synonym_words + _words(synset.gloss)))
    return index


def _position(framed, found_at):
    """Which synonym of a newline-framed list the character at found_at belongs to (0 = first)."""
    return framed.count("\n", 0, found_at + 1) - 1


def _rank(text, terms, synonyms, synonym_words):
    """(rank, synonym position) of a synset with a synonym word starting with every term."""
    found_at = synonyms.find(f"\n{text}\n")
    if found_at >= 0:
        return 1, _position(synonyms, found_at)
    found_at = synonyms.find(f"\n{text}")
    if found_at >= 0:
        return 2, _position(synonyms, found_at)
    for position, words in enumerate(synonym_words.split("\n")[1:-1]):
        if all(term in words for term in terms):
            return 3, position
    return 4, 0


def search(query, limit=20, classes_only=False):
    """Synsets matching query, best first.

    Ranks: exact wnid; a synonym equal to the query; a synonym starting with it; every query term
    starting a word of one synonym; every term starting a word of the synonyms or gloss. Within a
    rank, a match on an earlier synonym wins, then the label alphabetically. Case-insensitive;
    multi-word queries need all their terms; limit=None returns every match.
    """
    text = " ".join(query.lower().split())
    terms = [" " + term for term in _TOKEN.findall(text)]
    ranked = []
    if text in _load()[0] and (is_class(text) or not classes_only):
        ranked.append(((0, 0), get(text)))
    matches = _search_index(classes_only) if terms else []
    for term in terms:
        matches = [entry for entry in matches if term in entry[3]]
    named = matches  # the matches whose synonyms alone hold every term: ranks 1 to 3
    for term in terms:
        named = [entry for entry in named if term in entry[2]]
    ranked += [(_rank(text, terms, synonyms, words), synset) for synset, synonyms, words, _ in named]
    named_wnids = {entry[0].wnid for entry in named} | {text}
    ranked += [((4, 0), entry[0]) for entry in matches if entry[0].wnid not in named_wnids]
    ranked.sort(key=lambda item: item[0])  # stable: equal ranks stay in label order
    return [synset for _, synset in ranked[:limit]]
