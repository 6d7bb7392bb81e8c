"""Every one of the 1,000 classes gets its class page from the start, generated from WordNet."""

from django.db import migrations


def create_class_pages(apps, schema_editor):
    # The generation code is plain Python over the committed taxonomy; `manage.py generate_guide`
    # reruns it later (creating missing pages, refreshing the generated part, never the body).
    import taxonomy
    from labelguide import generation

    GuidePage = apps.get_model("labelguide", "GuidePage")
    PageClass = apps.get_model("labelguide", "PageClass")
    existing = set(GuidePage.objects.values_list("slug", flat=True))
    wnids = [wnid for wnid in taxonomy.class_wnids() if wnid not in existing]
    GuidePage.objects.bulk_create(
        [
            GuidePage(
                slug=wnid,
                title=generation.class_page_title(wnid),
                kind="class",
                generated=generation.class_page_markdown(wnid),
            )
            for wnid in wnids
        ],
        batch_size=500,
    )
    pages = GuidePage.objects.filter(slug__in=wnids, kind="class")
    PageClass.objects.bulk_create([PageClass(page=page, wnid=page.slug) for page in pages], batch_size=500)


def remove_class_pages(apps, schema_editor):
    apps.get_model("labelguide", "GuidePage").objects.filter(kind="class").delete()


class Migration(migrations.Migration):
    dependencies = [("labelguide", "0001_initial")]

    operations = [migrations.RunPython(create_class_pages, remove_class_pages)]
