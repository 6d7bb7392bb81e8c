"""How synsets travel in the API."""

from rest_framework import serializers

import taxonomy


class SynsetSerializer(serializers.Serializer):
    wnid = serializers.CharField()
    words = serializers.ListField(child=serializers.CharField())
    gloss = serializers.CharField()
    class_index = serializers.IntegerField(allow_null=True)
    parents = serializers.ListField(child=serializers.CharField())
    children = serializers.ListField(child=serializers.CharField())


def synset_data(wnid):
    synset = taxonomy.get(wnid)
    return {
        "wnid": wnid,
        "words": list(synset.words),
        "gloss": synset.gloss,
        "class_index": synset.class_index,
        "parents": list(synset.parents),
        "children": list(synset.children),
    }
