"""Training pages: the task list, the admins' task form, the labeling screen and the statistics."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.roles import is_admin, require_role
from annotate.models import ProblemReason
from training import selectors, services, stats
from training.forms import TaskForm
from training.models import PART_SIZE, TrainingTask

RECENT_WRONG_ANSWERS = 60


@login_required
@require_GET
def task_list(request):
    return render(
        request,
        "training/tasks.html",
        {"tasks": selectors.tasks_with_progress(request.user), "is_admin": is_admin(request.user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def task_new(request):
    require_role(request.user, is_admin, "Only admins create training tasks.")
    form = TaskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            task = services.create_training_task(created_by=request.user, **form.service_arguments())
        except services.TrainingInputError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Created “{task.name}”: {task.image_count} images in {task.part_count} parts.")
            return redirect("training")
    return render(request, "training/task_form.html", {"form": form})


@login_required
@require_GET
def label_page(request, pk):
    task = selectors.task_or_none(pk, with_images=False)
    if task is None:
        raise Http404("No such training task.")
    return render(
        request,
        "training/label.html",
        {
            "task": task,
            "progress": selectors.task_progress(task, request.user),
            "reasons": ProblemReason.choices,
            "part_size": PART_SIZE,
        },
    )


@login_required
@require_GET
def stats_page(request):
    admin = is_admin(request.user)
    username = request.GET.get("trainee", "")
    if username and username != request.user.get_username() and not admin:
        raise PermissionDenied("Only admins see other trainees' statistics.")
    trainee = request.user
    if admin and username:
        trainee = get_user_model().objects.filter(username=username).first()
        if trainee is None:
            raise Http404("No such user.")
    task = None
    if request.GET.get("task", "").isdigit():
        task = selectors.task_or_none(int(request.GET["task"]), with_images=False)
    context = {
        "is_admin": admin,
        "trainee": trainee,
        "task": task,
        "tasks": TrainingTask.objects.defer("image_ids").order_by("name"),
    }
    if admin:
        context["trainees"] = list(selectors.trainees_with_answers())
        if not username:
            context["overview"] = selectors.overview()
    if not admin or username:
        data = stats.trainee_stats(trainee, task, request.user)
        series = data["by_part"] if task is not None else data["by_day"]
        context.update(
            stats=data,
            series=series,
            chart=stats.line_chart(
                [row["accuracy"] for row in series],
                [f"Part {row['part']}" if task else f"{row['day']:%b} {row['day'].day}" for row in series],
            )
            if series
            else None,
        )
        if task is not None:
            wrong = selectors.answers_of(trainee, task, request.user).filter(correct=False)
            context["wrong_answers"] = [
                {
                    "answer": answer,
                    "yours": selectors.label_data(answer.wnid),
                    "expected": selectors.label_data(answer.expected_wnid),
                }
                for answer in wrong.order_by("-answered_at")[:RECENT_WRONG_ANSWERS]
            ]
            context["progress"] = selectors.task_progress(task, trainee)
    return render(request, "training/stats.html", context)
