"""Pages and image files for people in a browser; the pages talk to the API."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET
from rest_framework.exceptions import ValidationError

import taxonomy
from accounts.roles import can_review, is_admin, require_role
from annotate import access, browse, jobs, selectors
from annotate.images import resized_jpeg
from annotate.models import ClassifierModel, Dataset, Image, PredictionJob
from annotate.selectors import dataset_named
from annotate.served_files import cached_rendition, content_type_of, file_response
from annotate.tasks import runs_in_process


@login_required
@require_GET
def home(request):
    datasets = [selectors.dataset_status(dataset, viewer=request.user) for dataset in Dataset.objects.all()]
    return render(request, "frontend/home.html", {"datasets": datasets, "can_review": can_review(request.user)})


@login_required
@require_GET
def dataset_page(request, name):
    dataset = dataset_named(name)
    status = selectors.dataset_status(dataset, viewer=request.user)
    context = {
        "dataset": dataset,
        "status": status,
        "models": ClassifierModel.objects.filter(name__in=status["model_names"]),
        "can_review": can_review(request.user),
        "is_admin": is_admin(request.user),
    }
    if context["is_admin"]:
        context["imports"] = selectors.import_batches(dataset, limit=20)
    if context["can_review"]:
        context["progress"] = selectors.reviewer_progress(reviewer=request.user, dataset=dataset)
    return render(request, "frontend/dataset.html", context)


@login_required
@require_GET
def review_page(request, name):
    require_role(request.user, can_review, "Reviewing needs the reviewer or admin role.")
    dataset = dataset_named(name)
    wnid = request.GET.get("wnid", "")
    class_filter = taxonomy.get(wnid) if wnid and taxonomy.exists(wnid) else None
    listing = browsed_list(request)
    return render(
        request,
        "frontend/review.html",
        {
            "dataset": dataset,
            "class_filter": class_filter,
            # A class with no candidate here is an empty queue, not one reviewed to the end.
            "class_absent": class_filter is not None and not selectors.has_candidates(dataset, class_filter.wnid),
            "listing": listing,
            # The way back to the list, in the view it was opened from (the page adds the image on screen).
            "list_query": urlencode({**listing.query(), **list_view(request)}) if listing else "",
        },
    )


def list_view(request):
    """{"view": "table"} where the browsed list was opened from the images page's table, else {}."""
    return {"view": "table"} if QueryDict(request.GET.get("list", "")).get("view") == "table" else {}


def browsed_list(request):
    """The image browser's list that the review page walks with previous and next (?list=<its query>), or None
    where it walks the queue (no list, or one whose query is not valid)."""
    if "list" not in request.GET:
        return None
    try:
        return browse.image_list(QueryDict(request.GET["list"]))
    except ValidationError:
        return None


@login_required
@require_GET
def images_page(request, name):
    require_role(request.user, can_review, "Browsing a dataset's images needs the reviewer or admin role.")
    dataset = dataset_named(name)
    return render(
        request,
        "frontend/images.html",
        {
            "dataset": dataset,
            "statuses": browse.STATUSES,
            "sorts": {value: label for value, label in browse.SORT_LABELS.items() if value != "recent"},
            "models": browse.dataset_models(dataset),
            "model_top1": browse.MODEL_TOP1,
            "recent_verdicts": browse.RECENT_VERDICTS,
            "page_size": browse.PAGE_SIZE,
        },
    )


def torchvision_classifiers():
    from annotate.inference import classification_models  # imports torch: only this page needs it

    return classification_models()


@login_required
@require_GET
def jobs_page(request):
    recent = PredictionJob.objects.select_related("model", "dataset")[:50]
    return render(
        request,
        "frontend/jobs.html",
        {
            "jobs": [jobs.job_progress(job) for job in recent],
            "is_admin": is_admin(request.user),
            "datasets": Dataset.objects.all(),
            "architectures": torchvision_classifiers(),
            "defaults": {"batch_size": jobs.DEFAULT_BATCH_SIZE, "shard_size": jobs.DEFAULT_SHARD_SIZE},
            "in_process": runs_in_process(),
        },
    )


@login_required
@require_GET
def job_page(request, pk):
    job = get_object_or_404(PredictionJob.objects.select_related("model", "dataset"), pk=pk)
    return render(
        request,
        "frontend/job.html",
        {"job": jobs.job_progress(job), "is_admin": is_admin(request.user), "in_process": runs_in_process()},
    )


@login_required
@require_GET
def models_page(request):
    return render(request, "frontend/models.html", {"models": selectors.listed_models()})


@login_required
@require_GET
def model_page(request, name):
    model = get_object_or_404(ClassifierModel, name=name)
    recent = model.jobs.select_related("model", "dataset")[:20]
    return render(
        request,
        "frontend/model.html",
        {
            "model": model,
            "datasets": selectors.model_summary(model),
            "jobs": [jobs.job_progress(j) for j in recent],
            "is_admin": is_admin(request.user),
        },
    )


def _image_with_file(request, pk):
    # The display JPEG is byte for byte the one a phase serves by token: matching the two would tie a participant's
    # blind image to its id, and so to its labels.
    image = access.visible_image_or_404(request.user, pk, Image.objects.only("pk", "file", "file_name", "sha256"))
    if not image.file:
        raise Http404("This image is registered but its file has not arrived yet.")
    return image


@login_required
@require_GET
def image_display(request, pk):
    """The image resized for the review page, cached in storage after the first request."""
    return display_response(_image_with_file(request, pk))


def display_jpeg(image):
    """The display JPEG of an image with a file (its pk, file and sha256 loaded), cached in storage."""
    size = settings.DISPLAY_IMAGE_SIZE
    return cached_rendition(image, str(size), lambda data: resized_jpeg(data, size))


def display_response(image):
    """The display JPEG as a response, with no file name (shared by the evaluation phases' image view)."""
    return file_response(display_jpeg(image), content_type="image/jpeg")


@login_required
@require_GET
def image_original(request, pk):
    image = _image_with_file(request, pk)
    with image.file.open("rb") as handle:
        data = handle.read()
    return file_response(data, content_type=content_type_of(image.file.name), download_name=image.file_name)
