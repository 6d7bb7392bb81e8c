"""Arrays kept in storage as .npz files: the vectors of feature blocks and the nearest lists of search shards."""

import io

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def save_arrays(name, **arrays):
    """Write the arrays to storage as one .npz under this name, replacing any file a killed run left there."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(buffer.getvalue()))


def load_arrays(name):
    with default_storage.open(name, "rb") as handle, np.load(handle) as arrays:
        return {key: arrays[key] for key in arrays.files}
