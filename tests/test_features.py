"""The features of the near-duplicate search on their own: no database."""

import io
import random

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image as PILImage
from PIL import ImageDraw, ImageEnhance

from annotate.inference import ModelSpec, build_model, classification_models, reference_weights
from nearduplicates.features import (
    FeatureExtractor,
    hamming_distances,
    hash_vectors,
    perceptual_hashes,
    pixel_vectors,
    without_head,
)

BROKEN = ("broken", b"\xff\xd8 not really a JPEG")


def scene(seed, size=(160, 120)):
    """A JPEG with structure: a two-colour gradient under a few filled shapes, all drawn from the seed."""
    rng = random.Random(seed)
    width, height = size
    start, end = (np.array([rng.randrange(256) for _ in range(3)]) for _ in range(2))
    ramp = np.linspace(0, 1, width)[None, :, None]
    pixels = np.broadcast_to(start + (end - start) * ramp, (height, width, 3)).astype(np.uint8)
    image = PILImage.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x, y = rng.randrange(width - 30), rng.randrange(height - 30)
        box = (x, y, x + rng.randrange(20, 60), y + rng.randrange(20, 50))
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    return encoded(image)


def encoded(image, quality=90):
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def edited_copy(data):
    """The edits of a careless copy: 3% cropped off each side, scaled to 80%, 12% brighter, re-encoded at 60."""
    with PILImage.open(io.BytesIO(data)) as image:
        width, height = image.size
        dx, dy = round(width * 0.03), round(height * 0.03)
        copy = image.crop((dx, dy, width - dx, height - dy))
        copy = copy.resize((round(copy.width * 0.8), round(copy.height * 0.8)), PILImage.Resampling.BILINEAR)
        return encoded(ImageEnhance.Brightness(copy).enhance(1.12), quality=60)


SCENES = [(seed, scene(seed)) for seed in range(8)]


def vectors_of(results):
    assert all(error is None for _, _, error in results)
    return np.stack([vector for _, vector, _ in results])


def test_an_edited_copy_is_nearer_its_original_than_any_other_image_in_pixel_space():
    originals = vectors_of(list(pixel_vectors(SCENES)))
    copies = vectors_of(list(pixel_vectors((seed, edited_copy(data)) for seed, data in SCENES)))
    assert originals.shape == (8, 768) and originals.dtype == np.float32
    assert np.allclose(np.linalg.norm(originals, axis=1), 1, atol=1e-5)
    distances = np.linalg.norm(copies[:, None] - originals[None], axis=2)
    to_original = distances.diagonal().copy()
    np.fill_diagonal(distances, np.inf)
    assert (to_original < distances.min(axis=1)).all()
    # The copies stand apart from the originals' distances to each other, so one threshold separates them.
    between_originals = np.linalg.norm(originals[:, None] - originals[None], axis=2)[~np.eye(8, dtype=bool)]
    assert to_original.max() < between_originals.min()


def test_a_brighter_copy_has_nearly_the_same_pixel_vector():
    with PILImage.open(io.BytesIO(SCENES[0][1])) as image:
        brighter = encoded(ImageEnhance.Brightness(image).enhance(1.1))
    (_, original, _), (_, copy, _) = pixel_vectors([SCENES[0], (0, brighter)])
    assert np.linalg.norm(original - copy) < 0.1


def test_the_hash_survives_re_encoding_and_edits_and_tells_different_images_apart():
    originals = np.array([value for _, value, _ in perceptual_hashes(SCENES)])
    with PILImage.open(io.BytesIO(SCENES[0][1])) as image:
        re_encoded = encoded(image, quality=40)
    (_, re_encoded_hash, _), *_ = perceptual_hashes([(0, re_encoded)])
    copies = np.array([value for _, value, _ in perceptual_hashes((seed, edited_copy(data)) for seed, data in SCENES)])
    assert originals.dtype == np.uint64 and len(set(originals)) == 8
    assert hamming_distances(re_encoded_hash, originals[0]) <= 2
    distances = hamming_distances(copies[:, None], originals[None, :])
    assert distances.diagonal().max() <= 10
    assert distances[~np.eye(8, dtype=bool)].min() >= 16


def test_undecodable_files_are_reported_by_every_kind_and_the_rest_computed():
    extractor = FeatureExtractor(ModelSpec("resnet18", "none"), device="cpu", batch_size=2, compile=False)
    for results in (
        list(pixel_vectors([SCENES[0], BROKEN, SCENES[1]])),
        list(perceptual_hashes([SCENES[0], BROKEN, SCENES[1]])),
        list(extractor.extract([SCENES[0], BROKEN, SCENES[1]])),
    ):
        assert [key for key, value, _ in results if value is not None] == [0, 1]
        errors = {key: error for key, _, error in results if error}
        assert list(errors) == ["broken"] and errors["broken"].startswith("UnidentifiedImageError")


def extractor(architecture, **options):
    torch.manual_seed(3)
    return FeatureExtractor(ModelSpec(architecture, "none"), device="cpu", compile=False, **options)


@pytest.mark.parametrize(
    ("architecture", "dimension"),
    [("resnet18", 512), ("vgg11", 4096), ("mobilenet_v3_small", 1024), ("squeezenet1_1", 512), ("vit_b_16", 768)],
)
def test_penultimate_features_of_several_architectures(architecture, dimension):
    model = extractor(architecture, batch_size=2)
    vectors = vectors_of(list(model.extract(SCENES[:2])))
    assert model.dimension == dimension and vectors.shape == (2, dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    assert not np.allclose(vectors[0], vectors[1])


def test_features_in_batches_equal_features_one_by_one():
    batched = extractor("resnet18", batch_size=3, bf16=False, normalise=False)
    one_by_one = extractor("resnet18", batch_size=1, bf16=False, normalise=False)
    together = vectors_of(list(batched.extract(SCENES[:5])))
    alone = vectors_of(list(one_by_one.extract(SCENES[:5])))
    assert np.linalg.norm(together, axis=1).min() > 0
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-5 * np.abs(alone).max())


def families():
    """One classification model of each torchvision module (resnet, vgg, vit, swin, squeezenet, regnet...), and
    vit_h_14, whose only weights (SWAG) take 518-pixel images where the architecture's default is 224."""
    first = {}
    for name in classification_models():
        first.setdefault(torchvision.models.get_model_builder(name).__module__, name)
    return sorted({*first.values(), "vit_h_14"})


@pytest.mark.parametrize("architecture", families())
def test_every_family_loses_exactly_its_classification_head(architecture):
    """Shapes only, at the size its transforms crop to: on the meta device nothing is computed (regnet's builder
    needs real numbers: the CPU)."""
    size = reference_weights(architecture, None).transforms().crop_size[0]
    try:
        with torch.device("meta"):
            model = build_model(architecture, None)
    except NotImplementedError:
        model = build_model(architecture, None).to("meta")
    model, dimension = without_head(model.eval())
    with torch.no_grad():
        features = model(torch.empty(2, 3, size, size, device="meta"))
    assert features.shape == (2, dimension)


def test_hash_vectors_are_the_hash_bits_whose_squared_distance_is_the_hamming_distance():
    hashes = np.array([value for _, value, _ in perceptual_hashes(SCENES)])
    vectors = vectors_of(list(hash_vectors(SCENES)))
    assert vectors.shape == (8, 64) and vectors.dtype == np.float32 and set(np.unique(vectors)) <= {0.0, 1.0}
    squared = ((vectors[:, None] - vectors[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(squared, hamming_distances(hashes[:, None], hashes[None, :]))
