"""REST API of the class taxonomy: synset search and lookup."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

import taxonomy
from config.query import int_schema, query_int, query_text, text_schema
from taxonomy.serializers import SynsetSerializer, synset_data

SYNSET_LIMIT = 100
# Longer than any synonym or gloss a query could mean; the search's time grows with the query's words.
SYNSET_QUERY_LENGTH = 200


class SynsetSearch(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("q", text_schema(SYNSET_QUERY_LENGTH), description="wnid, synonym or gloss words"),
            OpenApiParameter("classes_only", bool),
            OpenApiParameter("limit", int_schema(1, SYNSET_LIMIT), description="at most this many (default 20)"),
        ],
        responses=SynsetSerializer(many=True),
        summary="Ranked synset search",
    )
    def get(self, request):
        limit = query_int(request, "limit", default=20, minimum=1, maximum=SYNSET_LIMIT)
        classes_only = request.query_params.get("classes_only", "").lower() in {"1", "true", "yes"}
        query = query_text(request.query_params, "q", max_length=SYNSET_QUERY_LENGTH)
        found = taxonomy.search(query, limit=limit, classes_only=classes_only)
        return Response([synset_data(synset.wnid) for synset in found])


class SynsetDetail(APIView):
    @extend_schema(responses=SynsetSerializer, summary="One synset of the class hierarchy")
    def get(self, request, wnid):
        if not taxonomy.exists(wnid):
            raise NotFound(f"synset {wnid} does not exist")
        return Response(synset_data(wnid))
