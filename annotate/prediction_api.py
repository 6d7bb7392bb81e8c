"""REST API of the model testbed: prediction jobs on the Celery workers and model summaries."""

from pathlib import Path

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from annotate import jobs, selectors
from annotate.models import ClassifierModel, PredictionJob
from annotate.serializers import ClassifierModelSerializer


class PredictionJobInput(serializers.Serializer):
    model = serializers.CharField(help_text="torchvision classification model, e.g. resnet50")
    dataset = serializers.CharField()
    weights = serializers.CharField(default="DEFAULT", help_text="DEFAULT, an enum name, a checkpoint path or none")
    batch_size = serializers.IntegerField(default=jobs.DEFAULT_BATCH_SIZE, min_value=1, max_value=4096)
    shard_size = serializers.IntegerField(default=jobs.DEFAULT_SHARD_SIZE, min_value=1, max_value=100_000)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)

    def validate_weights(self, weights):
        """A checkpoint named over HTTP must be a file under CHECKPOINT_ROOTS: the web never reads other files."""
        from annotate.inference import ModelSpec  # imports torch, as starting the job does anyway

        if not ModelSpec("", weights).checkpoint:
            return weights
        path = Path(weights).resolve()
        roots = [Path(root).resolve() for root in settings.CHECKPOINT_ROOTS]
        if not any(path.is_relative_to(root) for root in roots):
            raise ValidationError(f"checkpoints must lie under {', '.join(map(str, roots))}; {weights} does not")
        return weights


class JobProgress(serializers.Serializer):
    """A job's progress (jobs.job_progress), for the schema."""

    id = serializers.IntegerField()
    model = serializers.CharField()
    architecture = serializers.CharField()
    weights = serializers.CharField()
    random_weights = serializers.BooleanField()
    batch_size = serializers.IntegerField()
    shard_size = serializers.IntegerField()
    dataset = serializers.CharField()
    state = serializers.CharField()
    error = serializers.CharField(allow_blank=True)
    shards_total = serializers.IntegerField()
    shards_done = serializers.IntegerField()
    images_total = serializers.IntegerField()
    images_done = serializers.IntegerField()
    images_failed = serializers.IntegerField()
    images_per_second = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.IntegerField(allow_null=True)
    new_review_items = serializers.IntegerField(allow_null=True, help_text="null until the job finishes")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class AdminWrites(IsAdmin):
    """Everyone logged in reads; only admins start or cancel jobs."""

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS and request.user.is_authenticated or super().has_permission(request, view)


def job_or_404(pk):
    return get_object_or_404(PredictionJob.objects.select_related("model", "dataset"), pk=pk)


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
        model = get_object_or_404(ClassifierModel, name=name)
        return Response({**ClassifierModelSerializer(model).data, "datasets": selectors.model_summary(model)})
