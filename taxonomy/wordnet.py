"""Build the ImageNet class taxonomy from a WordNet 3.0 noun database.

Plain Python (no Django), so the data file can be regenerated and tested anywhere.

Each synset line of ``data.noun`` reads::

    offset lex_filenum ss_type w_cnt word lex_id [word lex_id ...] p_cnt [ptr ...] | gloss

where ``w_cnt`` is two hex digits, ``p_cnt`` three decimal digits, and each pointer is
``symbol target_offset pos source/target``. The license header lines start with two spaces.
"""

import json
import re
from pathlib import Path

from taxonomy.wnids import WNID_PATTERN

WORDNET_VERSION = "3.0"

# "@" links a synset to its hypernym, "@i" an instance (a named individual) to the class it belongs to.
# Both are followed, so an instance is placed under its class. For the ImageNet-1k classes the choice
# does not matter: none of the classes or their ancestors carries an "@i" pointer, and "@" alone and
# "@" + "@i" both give the same 1,860 synsets, all under the single root n00001740 (entity).
HYPERNYM_POINTERS = frozenset({"@", "@i"})

_SYNTACTIC_MARKER = re.compile(r"\((?:a|p|ip)\)$")


def wnid_for_offset(offset):
    return f"n{int(offset):08d}"


def clean_word(word):
    """'Tinca_tinca' -> 'Tinca tinca'; drops a trailing adjective marker like '(a)'."""
    return _SYNTACTIC_MARKER.sub("", word).replace("_", " ")


def parse_line(line):
    """One data.noun line -> (wnid, {"words", "gloss", "parents"}), or None for a header line."""
    if not line.strip() or line.startswith("  "):
        return None
    head, _, gloss = line.partition(" | ")
    fields = head.split()
    word_count = int(fields[3], 16)
    words = [clean_word(fields[4 + 2 * i]) for i in range(word_count)]
    at = 4 + 2 * word_count
    pointer_count = int(fields[at])
    parents = []
    for i in range(pointer_count):
        symbol, target, pos, _source_target = fields[at + 1 + 4 * i : at + 5 + 4 * i]
        if symbol in HYPERNYM_POINTERS and pos == "n":
            parents.append(wnid_for_offset(target))
    return wnid_for_offset(fields[0]), {"words": words, "gloss": gloss.strip(), "parents": parents}


def _synset_lines(wordnet_dir):
    """data.noun's synset lines (not the license header) keyed by wnid, left unparsed until needed."""
    with open(Path(wordnet_dir) / "data.noun", encoding="utf-8") as f:
        return {wnid_for_offset(line[:8]): line.rstrip("\n") for line in f if line[:1].isdigit()}


def read_nouns(wordnet_dir):
    """All noun synsets of a WordNet dictionary folder, keyed by wnid."""
    return {wnid: parse_line(line)[1] for wnid, line in _synset_lines(wordnet_dir).items()}


def build_taxonomy(class_wnids, wordnet_dir):
    """The classes plus every hypernym ancestor, as a JSON-serialisable dict."""
    lines = _synset_lines(wordnet_dir)
    classes = sorted(set(class_wnids))
    for wnid in classes:
        if not WNID_PATTERN.match(wnid) or wnid not in lines:
            raise ValueError(f"class {wnid!r} is not a noun synset in WordNet at {wordnet_dir}")
    keep = {}
    pending = list(classes)
    while pending:
        wnid = pending.pop()
        if wnid not in keep:
            keep[wnid] = parse_line(lines[wnid])[1]
            pending.extend(keep[wnid]["parents"])
    return {
        "wordnet": WORDNET_VERSION,
        "classes": classes,
        "synsets": {wnid: keep[wnid] for wnid in sorted(keep)},
    }


def dumps(taxonomy):
    """Deterministic JSON text: sorted keys, one synset per line, trailing newline."""
    synset_lines = ",\n".join(
        f"    {json.dumps(wnid)}: {json.dumps(taxonomy['synsets'][wnid], sort_keys=True, ensure_ascii=False)}"
        for wnid in sorted(taxonomy["synsets"])
    )
    return (
        "{\n"
        f'  "classes": {json.dumps(taxonomy["classes"])},\n'
        f'  "synsets": {{\n{synset_lines}\n  }},\n'
        f'  "wordnet": {json.dumps(taxonomy["wordnet"])}\n'
        "}\n"
    )
