from django.core.management.base import BaseCommand

from labelguide.services import generate_class_pages


class Command(BaseCommand):
    help = (
        "Create missing class pages of the labeling guide and regenerate the part generated from WordNet and "
        "the class hierarchy; titles and the text experts wrote are never changed."
    )

    def handle(self, *args, **options):
        counts = generate_class_pages()
        self.stdout.write(
            f"class pages: {counts['created']} created, {counts['updated']} regenerated, "
            f"{counts['unchanged']} unchanged"
        )
