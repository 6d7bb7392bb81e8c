"""Features of image files for the near-duplicate search: no Django here.

Three kinds, each with one entry point over (key, file bytes) entries that yields (key, value, error) in order,
with an undecodable file reported by its error rather than raised:

- `pixel_vectors`: the image squashed to 16×16 RGB, minus its mean, scaled to length 1 (768-d float32).
- `FeatureExtractor.extract`: the penultimate-layer features of any torchvision classification model (what its
  classification head receives; VGG-16's is fc7, 4,096-d, as ImageNetV2 used), scaled to length 1 by default.
- `perceptual_hashes`: a 64-bit perceptual hash (pHash, from the DCT) as uint64, compared by Hamming distance
  (`hamming_distances`): a cheap first pass. `hash_vectors` gives its 64 bits as a 0/1 float32 vector, whose
  squared L2 distance to another is their Hamming distance, for the search of vectors.

The choices were measured by bench/near_duplicate_recall_bench.py: 100 of the 1,000 real sample images copied with
a crop of 1-4% per side, a resize, a brightness change and a JPEG re-encode, searched among the originals. Every
metric below finds each copy's original first; what differs is how far copies stand from clean images' nearest
neighbours (errors at the best threshold, of 100 copies and 1,000 clean images):
- pixels: raw 16×16 pixels make 20 errors; without the mean and at length 1, 3 (brightness and contrast then cost
  nothing). 8×8 makes 4, 32×32 makes 4: crops shift fine grids further. 16×16 keeps 768-d vectors, 4 GB for 1.33
  million reference images (32×32: 16 GB).
- hash: a 64-bit dHash (signs of neighbour differences) misses 1 copy and makes 22 errors, with clean images 4 bits
  apart; the pHash makes 5, no clean pair under 12 bits.
- CNN features: scaled to length 1 they beat raw features (random-weight VGG-11: 35 errors raw, 18 at length 1,
  recall 96% raw and 100% at length 1; random-weight ResNet-18: recall 46% raw, 84% at length 1, as its globally
  pooled random filters say little about an image: use a VGG for tests with random weights).
"""

import functools
import io

import numpy as np
from PIL import Image as PILImage
from scipy.fft import dctn
from torch import nn

from annotate.inference import NUM_CLASSES, BatchedModel, InferenceError, decode_in_threads

__all__ = [
    "DecodedVectors",
    "FeatureExtractor",
    "classification_head",
    "hamming_distances",
    "hash_vector",
    "hash_vectors",
    "perceptual_hash",
    "perceptual_hashes",
    "thumbnail",
    "pixel_vector",
    "pixel_vectors",
    "unit_length",
    "without_head",
]

PIXEL_SIZE = 16
PIXEL_DIMENSION = PIXEL_SIZE * PIXEL_SIZE * 3
# Vectors computed without a model between two checks that the job still wants them.
DECODED_BATCH = 256
HASH_THUMBNAIL = 32
HASH_SIDE = 8
HASH_BITS = HASH_SIDE * HASH_SIDE
# Files decoded ahead of the caller: enough to keep the decoding threads busy, few enough to bound memory.
DECODE_AHEAD = 256


def unit_length(vectors):
    """The vectors (rows) as float32 scaled to length 1; an all-zero vector stays zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1)


def thumbnail(data, size, mode):
    """The image in `mode` squashed to `size` (width, height), aspect ratio ignored so that a crop of a few percent
    moves every pixel only a little, as float32."""
    with PILImage.open(io.BytesIO(data)) as image:
        # JPEG: decode at 1/2, 1/4 or 1/8 scale, still at least `size`; several times faster than a full decode.
        image.draft(mode, size)
        return np.asarray(image.convert(mode).resize(size, PILImage.Resampling.BILINEAR), dtype=np.float32)


def pixel_vector(data, size=PIXEL_SIZE):
    """A size×size×3 vector under which an edited copy stays near its original in L2: without its mean and scaled
    to length 1, so that brightness and contrast changes vanish. An image of one flat colour gives zeros."""
    pixels = thumbnail(data, (size, size), "RGB").ravel()
    return unit_length(pixels - pixels.mean())


def pixel_vectors(entries, size=PIXEL_SIZE, threads=2):
    """Yield (key, pixel vector, error) for (key, file bytes) entries."""
    return decode_in_threads(entries, functools.partial(pixel_vector, size=size), threads, DECODE_AHEAD)


class DecodedVectors:
    """Vectors computed from each file alone, without a model (pixel_vectors, hash_vectors), behind the interface
    of FeatureExtractor for the feature jobs: `on_batch` is asked after every DECODED_BATCH images whether to go
    on."""

    def __init__(self, vectors, dimension):
        self.vectors = vectors
        self.dimension = dimension

    def extract(self, entries, on_batch=None):
        for done, result in enumerate(self.vectors(entries), start=1):
            yield result
            if on_batch and done % DECODED_BATCH == 0 and on_batch() is False:
                return


def perceptual_hash(data):
    """The 64-bit pHash of the image as uint64: whether each of the 8×8 lowest frequencies of the DCT of its 32×32
    grey thumbnail is above their median. Brightness changes scale all of them alike, and JPEG re-encoding, resizing
    and small crops alter mostly the high frequencies left out."""
    frequencies = dctn(thumbnail(data, (HASH_THUMBNAIL, HASH_THUMBNAIL), "L"), norm="ortho")[:HASH_SIDE, :HASH_SIDE]
    # The mean brightness (the DC term) would pull the median; it is left out of it.
    bits = frequencies > np.median(frequencies.ravel()[1:])
    return np.packbits(bits).view(">u8")[0].astype(np.uint64)


def perceptual_hashes(entries, threads=2):
    """Yield (key, pHash as uint64, error) for (key, file bytes) entries."""
    return decode_in_threads(entries, perceptual_hash, threads, DECODE_AHEAD)


def hash_vector(data):
    """The pHash's 64 bits, highest first, as a float32 vector of 0s and 1s: the squared L2 distance between two
    such vectors is the Hamming distance of their hashes."""
    return np.unpackbits(np.array([perceptual_hash(data)], ">u8").view(np.uint8)).astype(np.float32)


def hash_vectors(entries, threads=2):
    """Yield (key, hash vector, error) for (key, file bytes) entries."""
    return decode_in_threads(entries, hash_vector, threads, DECODE_AHEAD)


def hamming_distances(hashes, others):
    """The number of differing bits between uint64 hashes, broadcast as numpy does (one hash against many, or a
    column of hashes against a row for the whole table)."""
    return np.bitwise_count(np.asarray(hashes, dtype=np.uint64) ^ np.asarray(others, dtype=np.uint64)).astype(np.int64)


def classification_head(model):
    """(name, module) of the layer that maps features to the ImageNet classes: the last Linear with 1,000 outputs
    in module order (resnet `fc`, vgg and convnext `classifier.N`, vit `heads.head`, swin `head`...), or squeezenet's
    1×1 Conv2d. The auxiliary heads of googlenet and inception_v3 come before it and only run in training."""
    heads = [
        (name, module)
        for name, module in model.named_modules()
        if (isinstance(module, nn.Linear) and module.out_features == NUM_CLASSES)
        or (isinstance(module, nn.Conv2d) and module.out_channels == NUM_CLASSES)
    ]
    if not heads:
        raise InferenceError(f"{type(model).__name__} has no layer with {NUM_CLASSES} outputs to take features before")
    return heads[-1]


def without_head(model):
    """The model with its classification head replaced by the identity, and the dimension of what it then outputs."""
    name, head = classification_head(model)
    model.set_submodule(name, nn.Identity())
    return model, head.in_features if isinstance(head, nn.Linear) else head.in_channels


class FeatureExtractor(BatchedModel):
    """Penultimate-layer features of a torchvision classification model, batched like its predictions.

    `normalise` scales each vector to length 1 (the default): L2 distances then ignore how strongly an image
    activates the network, copies ranked nearer their originals in the bench (see above), and thresholds keep one
    scale (0 to 2) across models. `dimension` is the length of the vectors."""

    def __init__(self, spec, normalise=True, **options):
        self.normalise = normalise
        super().__init__(spec, **options)

    def extract(self, entries, on_batch=None):
        """Yield (key, float32 vector, error) for (key, file bytes) entries.

        `on_batch` is called after each batch and may return False to stop early.
        """
        return self._run(entries, on_batch)

    def _adapt(self, model):
        model, self.dimension = without_head(model)
        return model

    def _failed(self, key, error):
        return key, None, error

    def _results(self, keys, features):
        vectors = features.cpu().numpy()
        if self.normalise:
            vectors = unit_length(vectors)
        return [(key, vector, None) for key, vector in zip(keys, vectors, strict=True)]
