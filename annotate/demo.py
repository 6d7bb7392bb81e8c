"""A self-contained demo: real photos shipped with scikit-image, generated images, simulated models.

Nothing here needs the network or files outside installed packages.
"""

import json
from pathlib import Path

from django.contrib.auth.models import Group, User
from PIL import Image as PILImage
from PIL import ImageDraw

import taxonomy
from accounts import roles
from annotate.image_import import import_image_folder
from annotate.models import ClassifierModel, Dataset, Prediction
from annotate.prediction_import import import_predictions

DEMO_DATASET = "demo"
DEMO_USERS = (
    ("admin", "admin", roles.ADMIN),
    ("reviewer", "reviewer", roles.REVIEWER),
    ("trainee", "trainee", roles.TRAINEE),
)
# scikit-image sample photo -> its ImageNet class and classes a model could plausibly confuse it with.
REAL_PHOTOS = {
    "chelsea.png": ("n02123045", ["n02124075", "n02123159"]),
    "coffee.png": ("n07920052", ["n03063599", "n07930864"]),
    "rocket.jpg": ("n04266014", ["n03773504", "n04008634"]),
    "motorcycle_left.png": ("n03785016", ["n03791053", "n03792782"]),
    "camera.png": ("n04485082", ["n04069434", "n03976467"]),
    "horse.png": ("n02389026", ["n03538406", "n02391049"]),
}
GENERATED_IMAGES = 18
SIMULATED_MODELS = ("simulated-resnet", "simulated-vit", "simulated-convnext")


def _sample_photo_dir():
    import skimage

    return Path(skimage.__file__).parent / "data"


def _generated_image(rng, index):
    width, height = 480, 360
    top = tuple(rng.randrange(40, 220) for _ in range(3))
    bottom = tuple(rng.randrange(40, 220) for _ in range(3))
    image = PILImage.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        mix = y / height
        draw.line([(0, y), (width, y)], fill=tuple(int(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True)))
    for _ in range(rng.randrange(2, 6)):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(20, 90)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(rng.randrange(256) for _ in range(3)))
    draw.text((12, height - 24), f"generated demo image {index + 1}", fill=(255, 255, 255))
    return image


def _confusions(rng, wnid):
    """Classes that share a parent with `wnid` in the hierarchy: plausible model mistakes."""
    siblings = set()
    for parent in taxonomy.get(wnid).parents:
        siblings |= taxonomy.descendant_classes(parent)
    siblings.discard(wnid)
    pool = sorted(siblings) or list(taxonomy.class_wnids())
    return rng.sample(pool, min(4, len(pool)))


def _write_images(folder, rng):
    labels = {}
    photos = _sample_photo_dir()
    for name, (wnid, confusions) in REAL_PHOTOS.items():
        target = folder / wnid
        target.mkdir(parents=True, exist_ok=True)
        with PILImage.open(photos / name) as photo:
            photo.convert("RGB").save(target / f"photo_{Path(name).stem}.jpg", quality=92)
        labels[f"photo_{Path(name).stem}.jpg"] = (wnid, confusions)
    classes = taxonomy.class_wnids()
    for index in range(GENERATED_IMAGES):
        wnid = classes[rng.randrange(len(classes))]
        (folder / wnid).mkdir(parents=True, exist_ok=True)
        name = f"generated_{index + 1:02d}.jpg"
        _generated_image(rng, index).save(folder / wnid / name, quality=90)
        labels[name] = (wnid, _confusions(rng, wnid))
    return labels


def _simulated_predictions(rng, labels, accuracy):
    rows = []
    for name, (wnid, confusions) in sorted(labels.items()):
        ranked = [wnid, *confusions] if rng.random() < accuracy else [*confusions[:1], wnid, *confusions[1:]]
        ranked = list(dict.fromkeys(ranked))[:5]
        scores = sorted((rng.random() for _ in ranked), reverse=True)
        total = sum(scores) * 1.2
        rows.append({"file_name": name, "wnids": ranked, "scores": [round(s / total, 4) for s in scores]})
    return rows


def create_demo_users():
    created = []
    for username, password, role in DEMO_USERS:
        user, new = User.objects.get_or_create(username=username)
        if new:
            user.set_password(password)
            user.is_staff = user.is_superuser = role == roles.ADMIN
            user.save()
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        created.append((username, password, role))
    return created


def build_demo_dataset(rng, workdir):
    """The demo dataset of sample photos and generated images, with the predictions of three simulated models,
    written under `workdir`. Returns (image folder, {file name: (wnid, confusions)}, {model: predictions file}) for
    the demos built on the same images, or None where the dataset is there already."""
    dataset = Dataset.objects.filter(name=DEMO_DATASET).first()
    if dataset is not None and Prediction.objects.filter(image__dataset=dataset).exists():
        return None
    folder = Path(workdir) / "images"
    labels = _write_images(folder, rng)
    import_image_folder(dataset_name=DEMO_DATASET, directory=folder)
    Dataset.objects.filter(name=DEMO_DATASET).update(
        description="Demo: scikit-image sample photos and generated images with simulated model predictions."
    )
    predictions = {}
    for model_name, accuracy in zip(SIMULATED_MODELS, (0.55, 0.7, 0.8), strict=True):
        path = predictions[model_name] = Path(workdir) / f"{model_name}.json"
        path.write_text(json.dumps(_simulated_predictions(rng, labels, accuracy)))
        import_predictions(model_name=model_name, dataset_name=DEMO_DATASET, path=path)
    ClassifierModel.objects.filter(name__in=SIMULATED_MODELS).update(
        simulated=True, description="Simulated predictions for the demo, not a real model."
    )
    return folder, labels, predictions
