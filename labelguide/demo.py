"""The demo's page of the labeling guide: three cat classes that are easily mixed up."""

from labelguide.models import GuidePage
from labelguide.services import create_page

DEMO_GUIDE_TITLE = "Tabby vs tiger cat vs Egyptian cat"
DEMO_GUIDE_BODY = """Three cat classes that models and people often mix up.

Points to compare:

- **Tabby** (n02123045): a domestic cat whose coat has stripes, swirls or spots, often with an "M" mark
  on the forehead.
- **Tiger cat** (n02123159): a domestic cat with narrow, regular stripes like a tiger's. Where the coat
  would fit both tabby and tiger cat, mark the candidate Unclear rather than guessing.
- **Egyptian cat** (n02124075): a slim cat with large ears and a short coat with spots or faint stripes.
"""


def build_guide_demo(author):
    """The demo's guide page, written by `author`; nothing where it is there already."""
    if not GuidePage.objects.filter(title=DEMO_GUIDE_TITLE).exists():
        create_page(
            author=author, title=DEMO_GUIDE_TITLE, body=DEMO_GUIDE_BODY, wnids=["n02123045", "n02123159", "n02124075"]
        )
