"""Prediction.top5: the class indices of each prediction's ranked wnids, filled in for the predictions stored
before it; the column is nullable only while it is filled."""

from itertools import islice

from django.db import migrations

import annotate.models
from annotate.bulk import update_rows

CHUNK = 100_000


def fill_top5(apps, schema_editor):
    prediction = apps.get_model("annotate", "Prediction")
    rows = prediction.objects.order_by().values_list("pk", "wnids").iterator(chunk_size=CHUNK)
    while chunk := list(islice(rows, CHUNK)):
        update_rows(prediction, ["top5"], ((pk, annotate.models.ranked_classes(wnids)) for pk, wnids in chunk))


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0010_import_batches"),
    ]

    operations = [
        migrations.AddField(
            model_name="prediction",
            name="top5",
            field=annotate.models.RankedClassesField(null=True),
        ),
        migrations.RunPython(fill_top5, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="prediction",
            name="top5",
            field=annotate.models.RankedClassesField(
                help_text="The class indices of `wnids` (RANKED_FORMAT), for scoring."
            ),
        ),
    ]
