"""REST API of the model testbed: prediction jobs on the Celery workers and model summaries."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from annotate import jobs, selectors
from annotate.models import ClassifierModel, PredictionJob
from annotate.serializers import ClassifierModelSerializer, JobProgress, PredictionJobInput
from config.exceptions import NotFoundError


class AdminWrites(IsAdmin):
    """Everyone logged in reads; only admins start or cancel jobs."""

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS and request.user.is_authenticated or super().has_permission(request, view)


def job_or_404(pk):
    job = PredictionJob.objects.select_related("model", "dataset").filter(pk=pk).first()
    if job is None:
        raise NotFoundError(f"prediction job {pk} does not exist")
    return job


class PredictionJobList(APIView):
    permission_classes = [AdminWrites]

    @extend_schema(
        responses=JobProgress(many=True),
        operation_id="prediction_jobs_list",
        summary="Prediction jobs, newest first (the latest 100)",
    )
    def get(self, request):
        recent = PredictionJob.objects.select_related("model", "dataset")[:100]
        return Response([jobs.job_progress(job) for job in recent])

    @extend_schema(request=PredictionJobInput, responses={201: JobProgress}, summary="Start a prediction job")
    def post(self, request):
        data = PredictionJobInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        job = jobs.start_prediction_job(
            architecture=values["model"],
            dataset_name=values["dataset"],
            weights=values["weights"],
            batch_size=values["batch_size"],
            shard_size=values["shard_size"],
            name=values.get("name") or None,
            user=request.user,
        )
        return Response(jobs.job_progress(job_or_404(job.pk)), status=status.HTTP_201_CREATED)


class PredictionJobDetail(APIView):
    @extend_schema(responses=JobProgress, summary="A job's progress: shards, images/s, ETA")
    def get(self, request, pk):
        return Response(jobs.job_progress(job_or_404(pk)))


class PredictionJobCancel(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=JobProgress, summary="Cancel a job: its shards stop")
    def post(self, request, pk):
        job = job_or_404(pk)
        jobs.cancel_job(job.pk)
        return Response(jobs.job_progress(job_or_404(job.pk)))


class ModelDetail(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="A classifier model and its predictions per dataset")
    def get(self, request, name):
        model = ClassifierModel.objects.filter(name=name).first()
        if model is None:
            raise NotFoundError(f"model {name!r} does not exist")
        return Response({**ClassifierModelSerializer(model).data, "datasets": selectors.model_summary(model)})
