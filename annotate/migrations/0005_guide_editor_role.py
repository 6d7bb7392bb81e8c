from django.db import migrations


def create_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="guide_editor")


def remove_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="guide_editor").delete()


class Migration(migrations.Migration):
    dependencies = [("annotate", "0004_review_item_reviewer_index")]

    operations = [migrations.RunPython(create_role, remove_role)]
