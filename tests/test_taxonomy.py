"""The WordNet parser, the committed ImageNet taxonomy and its search. No database needed."""

import json
from pathlib import Path

import pytest

import taxonomy
from taxonomy import wordnet

SYSTEM_WORDNET = Path("/usr/share/wordnet")

# Lines as in WordNet's data.noun, which ends each line with two spaces.
TINY_DATA_NOUN = "".join(
    line + "  \n"
    for line in [
        "  1 A made-up license header: every header line starts with two spaces.",
        "  2 ",
        "00000100 03 n 01 thing 0 002 ~ 00000200 n 0000 ~ 00000900 n 0000 | a made-up root",
        "00000200 05 n 02 big_cat 0 large_cat 0 003 @ 00000100 n 0000 ~ 00000300 n 0000 "
        "+ 01234567 v 0101 | a cat that is large",
        '00000300 05 n 01 lion 0 002 @ 00000200 n 0000 %p 00000900 n 0000 | a big cat; "the lion roared"',
        "00000400 18 n 01 Elsa 0 001 @i 00000300 n 0000 | a famous lioness",
        "00000900 03 n 01 mane 0 001 @ 00000100 n 0000 | long hair on the neck",
    ]
)


@pytest.fixture
def tiny_wordnet(tmp_path):
    (tmp_path / "data.noun").write_text(TINY_DATA_NOUN)
    return tmp_path


# --- the parser -------------------------------------------------------------------------------------


def test_parser_reads_words_gloss_and_hypernyms(tiny_wordnet):
    nouns = wordnet.read_nouns(tiny_wordnet)
    assert sorted(nouns) == ["n00000100", "n00000200", "n00000300", "n00000400", "n00000900"]
    assert nouns["n00000200"] == {
        "words": ["big cat", "large cat"],
        "gloss": "a cat that is large",
        "parents": ["n00000100"],
    }
    assert nouns["n00000300"]["parents"] == ["n00000200"]  # the part-holonym pointer is not a parent
    assert nouns["n00000300"]["gloss"] == 'a big cat; "the lion roared"'
    assert nouns["n00000100"]["parents"] == []


def test_instance_hypernym_is_a_parent(tiny_wordnet):
    assert wordnet.read_nouns(tiny_wordnet)["n00000400"]["parents"] == ["n00000300"]


def test_build_taxonomy_keeps_classes_and_ancestors_only(tiny_wordnet):
    built = wordnet.build_taxonomy(["n00000400", "n00000300"], tiny_wordnet)
    assert built["wordnet"] == "3.0"
    assert built["classes"] == ["n00000300", "n00000400"]
    assert list(built["synsets"]) == ["n00000100", "n00000200", "n00000300", "n00000400"]
    assert json.loads(wordnet.dumps(built)) == built


def test_build_taxonomy_names_an_unknown_wnid(tiny_wordnet):
    with pytest.raises(ValueError, match="n00000555"):
        wordnet.build_taxonomy(["n00000300", "n00000555"], tiny_wordnet)


def test_clean_word():
    assert wordnet.clean_word("Tinca_tinca") == "Tinca tinca"
    assert wordnet.clean_word("galore(ip)") == "galore"
    assert wordnet.clean_word("jack-o'-lantern") == "jack-o'-lantern"


# --- the committed data file ------------------------------------------------------------------------


@pytest.fixture
def system_wordnet():
    if not (SYSTEM_WORDNET / "data.noun").exists():
        pytest.skip("WordNet 3.0 is not installed at /usr/share/wordnet (apt install wordnet-base)")
    return SYSTEM_WORDNET


def test_committed_file_regenerates_exactly(system_wordnet):
    built = wordnet.build_taxonomy(taxonomy.class_wnids(), system_wordnet)
    assert wordnet.dumps(built) == taxonomy.DATA_FILE.read_text(encoding="utf-8")


def test_unknown_class_wnid_in_real_wordnet(system_wordnet):
    with pytest.raises(ValueError, match="n99999999"):
        wordnet.build_taxonomy([*taxonomy.class_wnids()[:3], "n99999999"], system_wordnet)


def test_counts():
    data = json.loads(taxonomy.DATA_FILE.read_text(encoding="utf-8"))
    assert len(data["synsets"]) == 1860
    assert len(taxonomy.class_wnids()) == 1000
    sizes = {name: len(taxonomy.split_classes(name)) for name in taxonomy.SPLITS}
    assert sizes == {
        "all": 1000,
        "objects": 590,
        "organisms": 410,
        "dogs": 118,
        "organisms_without_dogs": 292,
    }


def test_splits_partition_the_classes():
    all_classes = taxonomy.split_classes("all")
    assert taxonomy.split_classes("objects") | taxonomy.split_classes("organisms") == all_classes
    assert not taxonomy.split_classes("objects") & taxonomy.split_classes("organisms")
    assert taxonomy.split_classes("dogs") <= taxonomy.split_classes("organisms")
    with pytest.raises(ValueError, match="plants"):
        taxonomy.split_classes("plants")


def test_class_indices_follow_sorted_wnids():
    wnids = taxonomy.class_wnids()
    assert list(wnids) == sorted(wnids)
    assert taxonomy.class_index("n01440764") == 0
    assert taxonomy.wnid_for_index(0) == "n01440764"
    assert taxonomy.label("n01440764") == "tench"
    assert taxonomy.wnid_for_index(999) == wnids[-1]
    assert all(taxonomy.class_index(wnid) == i for i, wnid in enumerate(wnids))
    with pytest.raises(IndexError):
        taxonomy.wnid_for_index(1000)
    with pytest.raises(IndexError):
        taxonomy.wnid_for_index(-1)
    with pytest.raises(KeyError):
        taxonomy.class_index("n02084071")  # dog: a synset, but not a class


def test_lookup():
    tench = taxonomy.get("n01440764")
    assert tench.words == ("tench", "Tinca tinca")
    assert tench.class_index == 0 and tench.is_class
    assert taxonomy.exists("n00001740") and not taxonomy.is_class("n00001740")
    assert not taxonomy.exists("n99999999") and not taxonomy.is_class("n99999999")
    with pytest.raises(KeyError, match="n99999999"):
        taxonomy.get("n99999999")


def test_hierarchy():
    assert [s.wnid for s in taxonomy.roots()] == ["n00001740"]  # entity
    chihuahua = "n02085620"
    assert "n02084071" in taxonomy.ancestors(chihuahua)
    assert taxonomy.ancestors(chihuahua)[-1] == "n00001740"
    assert chihuahua in taxonomy.get("n02085374").children  # toy dog
    assert chihuahua in taxonomy.descendant_classes("n02084071")
    assert taxonomy.descendant_classes(chihuahua) == {chihuahua}
    assert taxonomy.descendant_classes("n00001740") == taxonomy.split_classes("all")
    for synset in map(taxonomy.get, taxonomy.class_wnids()):
        assert synset.children == () or synset.wnid in taxonomy.descendant_classes(synset.wnid)
        for parent in synset.parents:
            assert synset.wnid in taxonomy.get(parent).children


# --- search -----------------------------------------------------------------------------------------


def wnids(results):
    return [s.wnid for s in results]


def test_search_exact_wnid_first():
    assert wnids(taxonomy.search("n01440764"))[0] == "n01440764"
    assert wnids(taxonomy.search(" N01440764 "))[0] == "n01440764"


def test_search_exact_synonym_first():
    assert wnids(taxonomy.search("tench"))[0] == "n01440764"
    assert wnids(taxonomy.search("TINCA tinca"))[0] == "n01440764"
    assert wnids(taxonomy.search("white shark"))[0] == "n01484850"


def test_search_shark_finds_the_shark_classes():
    found = wnids(taxonomy.search("shark", classes_only=True))
    assert set(found) == {"n01484850", "n01491361", "n01494475"}  # great white, tiger, hammerhead
    assert {"n01484850", "n01491361", "n01494475"} <= set(wnids(taxonomy.search("shark")))


def test_search_prefix_and_multi_word():
    assert wnids(taxonomy.search("great white"))[0] == "n01484850"
    assert wnids(taxonomy.search("great wh"))[0] == "n01484850"
    assert wnids(taxonomy.search("white great"))[0] == "n01484850"  # all words, any order
    assert taxonomy.search("great zebra") == []  # every term must match


def test_search_ranks_synonyms_before_glosses():
    ranked = wnids(taxonomy.search("dog", limit=None))
    assert ranked[0] == "n02084071"
    # German shepherd dog (a whole word) before dogsled (a prefix) before wolfhound ("breed of dogs" in its gloss).
    assert ranked.index("n02106662") < ranked.index("n03218198") < ranked.index("n02090475")


TIGER_CAT, TABBY, PERSIAN_CAT, CATAMARAN, CHEETAH = "n02123159", "n02123045", "n02123394", "n02981792", "n02130308"
MADAGASCAR_CAT = "n02497673"  # ring-tailed lemur, Lemur catta: no cat


def test_search_ranks_whole_words_then_prefixes_then_glosses():
    """Issue 13: "cat" ranked catamaran first and tabby (tabby, tabby cat) out of the top six."""
    ranked = wnids(taxonomy.search("cat", limit=None, classes_only=True))
    assert TABBY in ranked[:3] and ranked[:3] == [TIGER_CAT, TABBY, PERSIAN_CAT]
    # Whole words of a synonym (the cats, then the lemur: no kind of cat), then prefixes, then the gloss.
    assert ranked.index(PERSIAN_CAT) < ranked.index(MADAGASCAR_CAT) < ranked.index(CATAMARAN)
    assert ranked.index(CATAMARAN) < ranked.index(CHEETAH)  # "spotted cat of Africa" in its gloss only
    everything = wnids(taxonomy.search("cat", limit=6))
    assert everything[:2] == ["n02121620", "n02127808"]  # cat, true cat; big cat, cat: synonyms equal to "cat"
    assert TIGER_CAT in everything and TABBY in everything


@pytest.mark.parametrize(
    "typo",
    ["tabbby", "taby", "tabyb", "tabbu", "TABBBY", "cta tabby"],  # added, left out, swapped, changed
)
def test_search_tolerates_one_typo(typo):
    assert wnids(taxonomy.search(typo, classes_only=True))[0] == TABBY


def test_search_puts_typo_matches_below_what_matches_as_typed():
    ranked = wnids(taxonomy.search("catt", limit=None, classes_only=True))
    assert ranked[0] == MADAGASCAR_CAT  # Lemur catta: a word that starts with "catt"
    assert ranked.index("n02106550") < ranked.index(TABBY)  # Rottweiler: "cattle dogs" in its gloss
    assert ranked.index(TABBY) < ranked.index(CATAMARAN)  # as "cat", one typo away: a whole word, then a prefix
    assert wnids(taxonomy.search("tench")) == ["n01440764"]  # a whole word is never taken for a typo
    assert taxonomy.search("tabbby catt") == []  # one typo only
    assert taxonomy.search("ct") == []  # too short to be told from others
    assert taxonomy.search("tabbby" * 1000) == []  # longer than any word: no typo of one (and no edits made)


def test_search_gloss_only_word():
    found = taxonomy.search("aquarium")  # only in the goldfish gloss
    assert "n01443537" in wnids(found)
    assert all("aquarium" not in " ".join(s.words).lower() for s in found)


def test_search_empty_and_limits():
    assert taxonomy.search("") == []
    assert taxonomy.search("   ") == []
    assert taxonomy.search("!?") == []
    assert len(taxonomy.search("a", limit=5)) == 5
    assert len(taxonomy.search("a", limit=None)) > 1000
    assert all(s.is_class for s in taxonomy.search("a", limit=None, classes_only=True))


# --- the management command -------------------------------------------------------------------------


@pytest.fixture
def django_command():
    django = pytest.importorskip("django")
    from django.conf import settings

    if not settings.configured:
        pytest.skip("Django settings are not configured")
    django.setup()
    from django.core.management import CommandError, call_command

    return call_command, CommandError


def test_command_check_passes_on_committed_file(system_wordnet, django_command):
    call_command, _ = django_command
    call_command("build_taxonomy", "--check")


def test_command_class_list_formats(system_wordnet, django_command, tmp_path):
    call_command, CommandError = django_command
    classes = list(taxonomy.class_wnids())
    text_list = tmp_path / "classes.txt"
    text_list.write_text("\n".join(reversed(classes)) + "\n")
    object_list = tmp_path / "classes.json"
    object_list.write_text(json.dumps([{"cid": i, "wnid": w} for i, w in enumerate(classes)]))
    for source in (text_list, object_list):
        call_command("build_taxonomy", "--check", "--classes", str(source))
    out = tmp_path / "small.json"
    (tmp_path / "few.json").write_text(json.dumps(classes[:2]))
    call_command("build_taxonomy", "--classes", str(tmp_path / "few.json"), "--out", str(out))
    assert json.loads(out.read_text())["classes"] == classes[:2]
    with pytest.raises(CommandError, match="out of date"):
        call_command("build_taxonomy", "--check", "--out", str(out), "--classes", str(text_list))
    (tmp_path / "bad.txt").write_text("n99999999\n")
    with pytest.raises(CommandError, match="n99999999"):
        call_command("build_taxonomy", "--classes", str(tmp_path / "bad.txt"), "--out", str(out))


def test_a_search_longer_than_any_synonym_is_refused_naming_its_limit(client, reviewer):
    client.force_login(reviewer)
    refused = client.get("/api/synsets/", {"q": "a " * 30_000})
    assert refused.status_code == 400
    assert refused.json() == {"q": "must be at most 200 characters; got 59999"}
    assert client.get("/api/synsets/", {"q": "tabby " * 30}).status_code == 200
