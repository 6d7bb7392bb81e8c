"""REST API of the final review of a revision (admins only): thin views over finalreview.selectors and services.
Blacklisting and resampling go through the test sets' own endpoints."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from config.exceptions import NotFoundError
from finalreview import selectors, services
from finalreview.serializers import ClassReviewAnswer, MarksAnswer, MarksInput, ReviewClasses


class ReviewClassList(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="testsets_revisions_review_classes_list",
        responses=ReviewClasses,
        summary="The revision's classes with their marks (its own, or carried from the revision it was sampled from "
        "while the class's images are the same) and the review's progress",
    )
    def get(self, request, name, number):
        revision = selectors.revision_under_review(name, number)
        return Response(ReviewClasses(selectors.review_classes(revision)).data)


class ReviewClassDetail(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="testsets_revisions_review_class",
        responses=ClassReviewAnswer,
        summary="A class of the revision: its marks, its sampled images with their nearest neighbours per metric, "
        "and a sample of its reference images",
    )
    def get(self, request, name, number, wnid):
        revision = selectors.revision_under_review(name, number)
        answer = selectors.class_review(revision, wnid)
        if answer is None:
            raise NotFoundError(f"revision {revision.number} of test set {name!r} has no class {wnid[:40]!r}")
        return Response(ClassReviewAnswer(answer).data)


class ReviewClassMarks(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="testsets_revisions_review_class_marks",
        request=MarksInput,
        responses=MarksAnswer,
        summary="Mark a class of the revision reviewed or problematic, or note why (what is left out stays as it is)",
    )
    def patch(self, request, name, number, wnid):
        data = MarksInput(data=request.data)
        data.is_valid(raise_exception=True)
        marks = services.set_class_marks(
            testset_name=name, revision_number=number, wnid=wnid, user=request.user, **data.validated_data
        )
        return Response(MarksAnswer({"wnid": wnid, **marks}).data)
