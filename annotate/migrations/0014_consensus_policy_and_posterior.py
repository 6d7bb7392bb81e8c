"""The review core owns how items get their label: ConsensusPolicy and ConsensusPosterior join annotate's state
on the tables consensus made for them (no row moves), and their content types follow, so that the permissions
granted on them stay granted."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = ("consensuspolicy", "consensusposterior")


def content_types_to(app_label, other):
    def move(apps, schema_editor):
        content_types = apps.get_model("contenttypes", "ContentType")
        content_types.objects.using(schema_editor.connection.alias).filter(
            app_label=other, model__in=MOVED
        ).update(app_label=app_label)

    return move


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0013_browse_indexes"),
        ("consensus", "0002_policy_and_posterior_move_to_annotate"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ConsensusPosterior",
                    fields=[
                        (
                            "item",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                primary_key=True,
                                related_name="posterior",
                                serialize=False,
                                to="annotate.reviewitem",
                            ),
                        ),
                        ("p_correct", models.FloatField()),
                        ("p_wrong", models.FloatField()),
                        ("p_unclear", models.FloatField()),
                    ],
                    options={"db_table": "consensus_consensusposterior"},
                ),
                migrations.CreateModel(
                    name="ConsensusPolicy",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        (
                            "overlap",
                            models.PositiveSmallIntegerField(
                                default=1, help_text="How many reviewers must decide each item before it has a label."
                            ),
                        ),
                        (
                            "rule",
                            models.CharField(
                                choices=[
                                    ("single", "Single reviewer"),
                                    ("unanimity", "Unanimity"),
                                    ("majority", "Majority"),
                                    ("dawid_skene", "Dawid-Skene"),
                                ],
                                default="single",
                                max_length=12,
                            ),
                        ),
                        (
                            "golden_rate",
                            models.FloatField(
                                default=0.1,
                                help_text=(
                                    "Share of the images handed to a reviewer that are golden ones they have not "
                                    "answered."
                                ),
                            ),
                        ),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "dataset",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="consensus_policy",
                                to="annotate.dataset",
                            ),
                        ),
                        (
                            "updated_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"db_table": "consensus_consensuspolicy", "verbose_name_plural": "consensus policies"},
                ),
            ],
        ),
        migrations.RunPython(content_types_to("annotate", "consensus"), content_types_to("consensus", "annotate")),
    ]
