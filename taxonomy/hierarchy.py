"""The ImageNet-1k class taxonomy: the 1,000 classes and their WordNet 3.0 hypernym ancestors.

Read once from the committed taxonomy/data/taxonomy.json (rebuilt by ``manage.py build_taxonomy``).
Plain Python, no Django. A class's index is its position among the sorted class wnids (0-999).
"""

import itertools
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
TYPO_MIN_LENGTH = 3  # shorter words are one typo away from too many others


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


def _framed(text):
    """' word word ... ': whether a term starts a word, or is one, becomes a substring test of ' term' or
    ' term '."""
    return " " + "".join(word + " " for word in _TOKEN.findall(text.lower()))


@dataclass(frozen=True, slots=True)
class _Entry:
    synset: Synset
    synonyms: tuple  # lowercase, single-spaced
    synonym_words: tuple  # _framed(synonym), per synonym
    named: str  # the words of every synonym: "\n".join(synonym_words)
    described: str  # the words of every synonym and of the gloss


@dataclass(frozen=True)
class _Index:
    entries: tuple  # sorted by label, so that a stable sort leaves equal ranks in label order
    words: frozenset  # every word of the entries
    letters: str  # every character of those words: what a typo may have replaced or left out
    longest: int  # the length of the longest word: a longer term is no typo of one


@cache
def _search_index(classes_only=False):
    """The synsets (or the classes only) as search entries: words framed so that matching is done by substring
    tests, which keeps search fast."""
    entries = []
    for synset in sorted(_load()[0].values(), key=lambda s: (s.words[0].lower(), s.wnid)):
        if classes_only and synset.class_index is None:
            continue
        synonyms = tuple(" ".join(word.lower().split()) for word in synset.words)
        synonym_words = tuple(_framed(word) for word in synset.words)
        named = "\n".join(synonym_words)
        entries.append(_Entry(synset, synonyms, synonym_words, named, named + "\n" + _framed(synset.gloss)))
    words = frozenset(word for entry in entries for word in entry.described.split())
    return _Index(tuple(entries), words, "".join(sorted(set("".join(words)))), max(map(len, words)))


@cache
def _synonym_owners():
    """{lowercase synonym: wnids of the synsets that have it}, over the whole hierarchy."""
    owners = {}
    for synset in _load()[0].values():
        for word in synset.words:
            owners.setdefault(" ".join(word.lower().split()), set()).add(synset.wnid)
    return owners


def _one_edit_away(term, words, letters):
    """The words one typo away from term: a letter left out, added or changed, or two neighbours swapped."""
    splits = [(term[:i], term[i:]) for i in range(len(term) + 1)]
    edits = {head + tail[1:] for head, tail in splits if tail}
    edits |= {head + tail[1] + tail[0] + tail[2:] for head, tail in splits if len(tail) > 1}
    edits |= {head + letter + tail[1:] for head, tail in splits if tail for letter in letters}
    edits |= {head + letter + tail for head, tail in splits for letter in letters}
    return sorted(edits & words)


def _typo_spellings(terms, index):
    """Per term, the words it stands for where one term is taken for a typo: the term that is no whole word of
    the index (and long enough to be told from others) stands for the words one typo away from it; the others
    for themselves. None where no term, or more than one, can be such a typo."""
    typos = [
        i
        for i, term in enumerate(terms)
        if TYPO_MIN_LENGTH <= len(term) <= index.longest + 1 and term not in index.words
    ]
    if len(typos) != 1:
        return None
    spellings = [(term,) for term in terms]
    spellings[typos[0]] = tuple(_one_edit_away(terms[typos[0]], index.words, index.letters))
    return spellings


@dataclass(frozen=True)
class _Query:
    texts: tuple  # the query, or where a term was taken for a typo, the query as each correction reads
    starts: tuple  # per term, its spellings framed as word starts (" cat"): tuples where a typo gave several
    wholes: tuple  # the same framed as whole words (" cat ")
    broader: frozenset  # the synsets one of texts names: their hyponyms are kinds of what the query asks for


def _query(spellings):
    texts = tuple(" ".join(combination) for combination in itertools.product(*spellings))
    owners = _synonym_owners()

    def framed(end):
        return tuple(
            f" {options[0]}{end}" if len(options) == 1 else tuple(f" {spelling}{end}" for spelling in options)
            for options in spellings
        )

    return _Query(texts, framed(""), framed(" "), frozenset().union(*(owners.get(each, ()) for each in texts)))


def _holds(framed, patterns):
    """Whether framed text holds every pattern (a string, or a tuple of spellings any of which will do)."""
    for pattern in patterns:
        if isinstance(pattern, str):
            if pattern not in framed:
                return False
        elif not any(spelling in framed for spelling in pattern):
            return False
    return True


def _sort_key(entry, query):
    """(rank, not a kind of the query, no synonym starting with it, synonym length, synonym position).

    Ranks: 1 a synonym is the query; 2 every term is a whole word of one synonym; 3 every term starts a word of
    one synonym; 4 every term is a whole word of the synonyms or the gloss; 5 every term starts one. A kind of
    what the query names (tabby cat for "cat") comes first within its rank, then the shortest synonym.
    """
    kind_of = bool(query.broader) and not query.broader.isdisjoint(ancestors(entry.synset.wnid))
    best = None
    if _holds(entry.named, query.starts):  # else no single synonym holds every term
        for position, (synonym, words) in enumerate(zip(entry.synonyms, entry.synonym_words, strict=True)):
            if synonym in query.texts:
                rank = 1
            elif _holds(words, query.wholes):
                rank = 2
            elif _holds(words, query.starts):
                rank = 3
            else:
                continue
            key = (rank, not kind_of, not synonym.startswith(query.texts), len(synonym), position)
            best = key if best is None or key < best else best
    return best or (4 if _holds(entry.described, query.wholes) else 5, not kind_of, True, 0, 0)


def _ranked(entries, spellings):
    """The entries holding every term in one of its spellings, best first (see _sort_key)."""
    query = _query(spellings)
    matches = [entry for entry in entries if _holds(entry.described, query.starts)]
    return sorted(matches, key=lambda entry: _sort_key(entry, query))


def typo_corrections(query, limit=5):
    """The query read with one typo fixed, as search() reads it below its own matches ("tabbby" -> "tabby"): its
    one term that is no whole word of a synonym or gloss, taken for each word one typo away; [] where none is."""
    terms = _TOKEN.findall(" ".join(query.lower().split()))
    spellings = _typo_spellings(terms, _search_index()) if terms else None
    if not spellings:
        return []
    return [" ".join(combination) for combination in itertools.islice(itertools.product(*spellings), limit)]


def search(query, limit=20, classes_only=False):
    """Synsets matching query, best first.

    An exact wnid comes first, then the ranks of _sort_key: synonyms equal to the query, whole words of a
    synonym, words of a synonym starting with the terms, then the same in the gloss. Case-insensitive;
    multi-word queries need all their terms, in any order. Below those, where there is room, the matches of
    the query with one typo fixed (a letter left out, added, changed, or two swapped) in its one term that is
    no whole word. limit=None returns every match.
    """
    text = " ".join(query.lower().split())
    terms = _TOKEN.findall(text)
    index = _search_index(classes_only)
    found = [get(text)] if text in _load()[0] and (is_class(text) or not classes_only) else []
    exact = _ranked(index.entries, [(term,) for term in terms]) if terms else []
    found += [entry.synset for entry in exact]
    corrected = _typo_spellings(terms, index)
    if corrected and (limit is None or len(found) < limit):
        seen = {entry.synset.wnid for entry in exact}
        found += [entry.synset for entry in _ranked(index.entries, corrected) if entry.synset.wnid not in seen]
    return found[:limit]
