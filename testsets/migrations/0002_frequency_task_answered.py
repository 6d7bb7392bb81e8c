from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce


def count_answers(apps, schema_editor):
    """Every task's `answered` from its assignments, as submit_assignment and import_selections keep it after."""
    FrequencyTask = apps.get_model("testsets", "FrequencyTask")
    Assignment = apps.get_model("testsets", "Assignment")
    per_task = (
        Assignment.objects.filter(task=OuterRef("pk")).order_by().values("task").annotate(n=Count("pk")).values("n")
    )
    FrequencyTask.objects.update(answered=Coalesce(Subquery(per_task), 0))


class Migration(migrations.Migration):
    dependencies = [
        ("testsets", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="frequencytask",
            name="answered",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(count_answers, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="frequencytask",
            index=models.Index(
                condition=models.Q(("answered__lt", models.F("assignments_wanted"))),
                fields=["testset", "answered"],
                name="frequency_task_open",
            ),
        ),
    ]
