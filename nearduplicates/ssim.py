"""DSSIM re-ranking of the neighbours the search found (issue 16): no Django here.

DSSIM = (1 - SSIM) / 2, SSIM as scikit-image's `structural_similarity` computes it with ImageNetV2's window of
35 pixels (uniform window, sample covariance, the default K1 = 0.01 and K2 = 0.03, mean over the positions whose
window lies inside the image), on the images decoded to SIZE × SIZE grey levels in [0, 1] (aspect ratio
ignored, as for the pixel vectors of features.py). 0 is identical, 0.5 unrelated, 1 inverted.

The statistics of one image (its local means and variances) are computed once per image (`SsimImage`) and the
neighbours of a candidate are compared in one batch: per pair only the local products' mean remains, one
separable box filter over the stacked neighbours. tests/test_near_duplicate_search.py checks the result against
`structural_similarity` itself. Measured on this 2-core machine (bench/near_duplicate_search_bench.py, one
candidate against 30 neighbours, 500×375 JPEG files, load average 3.5):

    size   decode + statistics per image   per pair     structural_similarity per pair
    128    0.9 ms                          0.2 ms       0.8-0.9 ms
    256    3.5-3.9 ms                      1.1-1.5 ms   3.8-7.7 ms

SIZE is 128: the 35-pixel window then spans about a quarter of the picture, which is coarse, but an edited copy
still scores far below a different picture (the tests), at a fifth of the time per pair of 256.
"""

import numpy as np
from scipy.ndimage import uniform_filter

from nearduplicates.features import thumbnail

SIZE = 128
WINDOW = 35
_K1 = 0.01
_K2 = 0.03
_STABILISERS = ((_K1 * 1.0) ** 2, (_K2 * 1.0) ** 2)  # (K·data range)², data range 1
_SAMPLE = WINDOW * WINDOW / (WINDOW * WINDOW - 1)  # sample covariance, as structural_similarity's default
_BATCH_PIXELS = 1 << 17  # pixels of the neighbours compared at once (1 MB of float64)


class SsimImage:
    """An image decoded for DSSIM with its local statistics: build it once per image and keep it while its
    candidates are re-ranked (a dict of id → SsimImage is the cache)."""

    __slots__ = ("pixels", "means", "variances")

    def __init__(self, pixels):
        pixels = np.asarray(pixels, dtype=np.float64)
        if pixels.ndim != 2 or min(pixels.shape) < WINDOW:
            raise ValueError(
                f"an SSIM image must be a 2-D grey image of at least {WINDOW}×{WINDOW}, not {pixels.shape}"
            )
        self.pixels = pixels
        self.means = _local_means(pixels)
        self.variances = _SAMPLE * (_local_means(pixels * pixels) - self.means**2)

    @classmethod
    def decode(cls, data, size=SIZE):
        """From the bytes of an image file (PIL.UnidentifiedImageError when they are not an image)."""
        return cls(thumbnail(data, (size, size), "L") / 255.0)


def dssim(image, others):
    """DSSIM of `image` against each of `others` (SsimImage of the same size), as float64 in input order."""
    shapes = {other.pixels.shape for other in others}
    if shapes - {image.pixels.shape}:
        raise ValueError(f"DSSIM needs images of one size: {image.pixels.shape} against {sorted(shapes)}")
    # A few neighbours at a time, so that the batch's temporaries stay in cache.
    step = max(1, _BATCH_PIXELS // image.pixels.size)
    return np.concatenate(
        [np.empty(0)] + [_dssim_batch(image, others[start : start + step]) for start in range(0, len(others), step)]
    )


def _dssim_batch(image, others):
    products = _local_means(np.stack([other.pixels for other in others]) * image.pixels, batch=True)
    means = np.stack([other.means for other in others])
    variances = np.stack([other.variances for other in others])
    covariances = _SAMPLE * (products - means * image.means)
    c1, c2 = _STABILISERS
    similarity = ((2 * image.means * means + c1) * (2 * covariances + c2)) / (
        (image.means**2 + means**2 + c1) * (image.variances + variances + c2)
    )
    return (1 - similarity.mean(axis=(1, 2))) / 2


def rerank(candidate, neighbours):
    """[(neighbour id, DSSIM)] of the candidate's (id, image) neighbours, nearest first, ties by id. Images are
    SsimImage or the bytes of an image file (decoded here; pass SsimImage to decode an image once for many
    candidates)."""
    if not neighbours:
        return []
    ids = np.array([neighbour_id for neighbour_id, _ in neighbours])
    distances = dssim(_prepared(candidate), [_prepared(image) for _, image in neighbours])
    order = np.lexsort((ids, distances))
    return [(ids[i].item(), distances[i].item()) for i in order]


def _prepared(image):
    return image if isinstance(image, SsimImage) else SsimImage.decode(image)


def _local_means(pixels, batch=False):
    """Means over WINDOW × WINDOW windows at the positions whose window lies inside the image (the last two
    axes; a leading axis of a batch is left alone)."""
    size = (1, WINDOW, WINDOW) if batch else WINDOW
    margin = (WINDOW - 1) // 2
    return uniform_filter(pixels, size=size)[..., margin:-margin, margin:-margin]
