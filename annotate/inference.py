"""Batched inference with torchvision models: no Django here.

One engine (BatchedModel) runs a model over (key, file bytes) entries: decoding runs in threads
(Pillow releases the GIL), inference in fixed-size channels_last batches under
`torch.inference_mode()`, compiled by torch.compile with frozen weights, and under bf16 autocast
on CUDA and on CPUs with bf16 matrix units (AMX, AVX512-BF16). Classifier turns its outputs into
top-5 classes; nearduplicates.features.FeatureExtractor into penultimate-layer features.
Set RELABEL_TORCH_COMPILE=0 or RELABEL_INFERENCE_BF16=0 to turn either off.
"""

import io
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch
import torch._inductor.config as inductor_config
import torchvision
from PIL import Image as PILImage

from annotate.errors import InferenceError

__all__ = [
    "BatchedModel",
    "Classifier",
    "InferenceError",
    "ModelSpec",
    "build_model",
    "classification_models",
    "decode_in_threads",
    "hub_checkpoint",
    "reference_weights",
]

RANDOM_WEIGHTS = "none"
DEFAULT_WEIGHTS = "DEFAULT"
TOP_K = 5
NUM_CLASSES = 1000


def classification_models():
    return torchvision.models.list_models(module=torchvision.models)


@dataclass(frozen=True)
class ModelSpec:
    architecture: str
    weights: str = DEFAULT_WEIGHTS

    @property
    def random(self):
        return self.weights.lower() == RANDOM_WEIGHTS

    @property
    def checkpoint(self):
        return not self.random and ("/" in self.weights or self.weights.endswith((".pth", ".pt")))

    def validate(self):
        """Check the names without loading anything; returns the weights enum member or None."""
        if self.architecture not in classification_models():
            examples = ", ".join(classification_models()[:6])
            raise InferenceError(
                f"{self.architecture!r} is not a torchvision classification model (e.g. {examples}; "
                "see torchvision.models.list_models())"
            )
        if self.random:
            return None
        if self.checkpoint:
            if not Path(self.weights).is_file():
                raise InferenceError(f"checkpoint {self.weights} does not exist")
            return None
        enum = torchvision.models.get_model_weights(self.architecture)
        member = self.weights.split(".")[-1]
        if member == DEFAULT_WEIGHTS:
            return enum.DEFAULT
        if member not in enum.__members__:
            raise InferenceError(
                f"{self.weights!r} are not weights of {self.architecture}; choose one of "
                f"{', '.join(name for name in enum.__members__ if name != DEFAULT_WEIGHTS)}, {DEFAULT_WEIGHTS}, none, "
                "or a checkpoint path"
            )
        return enum[member]

    def label(self):
        """The weights as shown to people: an enum name, 'random weights' or the checkpoint file."""
        weights = self.validate()
        if weights is not None:
            return str(weights)
        return "random weights" if self.random else f"checkpoint {Path(self.weights).name}"


def hub_checkpoint(weights):
    """Where torch.hub keeps the file of an enum's weights; this machine cannot download it."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def _state_dict(spec, weights):
    if weights is not None:
        path = hub_checkpoint(weights)
        if not path.is_file():
            raise InferenceError(
                f"weights {weights} are not in the local torch hub cache: download {weights.url} "
                f"on a machine with internet access and put it at {path}"
            )
    else:
        path = Path(spec.weights)
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises what its unpickler meets: IndexError, UnpicklingError, RuntimeError...
        raise InferenceError(f"{path} is not a checkpoint torch can load: {type(exc).__name__}: {exc}") from exc
    if isinstance(loaded, dict):
        for key in ("state_dict", "model"):
            if isinstance(loaded.get(key), dict):
                return loaded[key]
    return loaded


def default_device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def bf16_available(device):
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return torch.ops.mkldnn._is_mkldnn_bf16_supported()


def _env_flag(name):
    return os.environ.get(name, "1").strip().lower() not in {"0", "false", "no", "off"}


def reference_weights(architecture, weights):
    """The weights that shape the model and its eval transforms: the chosen ones, else the architecture's default
    (whose file need not be here: random weights and checkpoints keep the arch's reference input size)."""
    return weights or torchvision.models.get_model_weights(architecture).DEFAULT


def build_model(architecture, weights):
    """The architecture with untrained parameters, shaped for `weights` (or for its reference weights where None).

    ViT weights fine-tuned at another resolution (SWAG: 384 or 518 pixels) need a model built for that image size;
    every other torchvision classifier takes its input size from the input."""
    options = {}
    if architecture.startswith("vit_"):
        options["image_size"] = reference_weights(architecture, weights).meta["min_size"][0]
    return torchvision.models.get_model(architecture, weights=None, num_classes=NUM_CLASSES, **options)


def decode_in_threads(entries, prepare, threads, ahead):
    """Yield (key, prepare(file bytes), None) for (key, file bytes) entries, in order, or (key, None, error) for a
    file `prepare` cannot read; at most `ahead` files are in flight, so memory stays bounded on any number."""

    def attempt(entry):
        key, data = entry
        try:
            return key, prepare(data), None
        except Exception as exc:  # noqa: BLE001 - any undecodable file is recorded as failed, not fatal
            return key, None, f"{type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(threads) as pool:
        pending = deque()
        for entry in entries:
            pending.append(pool.submit(attempt, entry))
            if len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class BatchedModel:
    """A loaded model with its eval transforms, run over batches of image files.

    Subclasses say what a batch's float32 outputs become (`_results(keys, outputs)`, an iterable of one result per
    key) and what an undecodable file becomes (`_failed(key, error)`), and may reshape the model before it is moved
    and compiled (`_adapt(model)`)."""

    def __init__(self, spec, device=None, batch_size=32, decode_threads=2, compile=None, bf16=None):
        weights = spec.validate()
        self.device = torch.device(device) if device else default_device()
        self.batch_size = batch_size
        self.decode_threads = decode_threads
        model = build_model(spec.architecture, weights)
        if not spec.random:
            try:
                model.load_state_dict(_state_dict(spec, weights))
            except RuntimeError as exc:
                raise InferenceError(f"{spec.weights} does not fit {spec.architecture}: {exc}") from exc
        self.transform = reference_weights(spec.architecture, weights).transforms()
        self.on_cuda = self.device.type == "cuda"
        self.bf16 = (_env_flag("RELABEL_INFERENCE_BF16") if bf16 is None else bf16) and bf16_available(self.device)
        self.compiled = _env_flag("RELABEL_TORCH_COMPILE") if compile is None else compile
        # channels_last pays on oneDNN CPUs as well as on CUDA.
        model = self._adapt(model).eval().to(self.device, memory_format=torch.channels_last)
        if self.compiled:
            # Frozen weights let inductor fold batch norms and prepack convolutions for inference.
            inductor_config.freezing = True
            model = torch.compile(model, dynamic=False)
        self.model = model

    def _adapt(self, model):
        return model

    def _prepare(self, data):
        with PILImage.open(io.BytesIO(data)) as image:
            size = self.transform.resize_size[0]
            image.draft("RGB", (size, size))
            return self.transform(image.convert("RGB"))

    def _run(self, entries, on_batch=None):
        batch = []
        # Two batches decoded ahead keep the model busy without holding a whole shard's tensors.
        for key, tensor, error in decode_in_threads(entries, self._prepare, self.decode_threads, 2 * self.batch_size):
            if error:
                yield self._failed(key, error)
                continue
            batch.append((key, tensor))
            if len(batch) == self.batch_size:
                yield from self._infer(batch)
                batch = []
                if on_batch and on_batch() is False:
                    return
        if batch:
            yield from self._infer(batch)

    def _infer(self, batch):
        keys = [key for key, _ in batch]
        tensors = [tensor for _, tensor in batch]
        if self.compiled:
            # One input shape for the compiled graph: pad a short last batch, drop its extra outputs.
            tensors += tensors[-1:] * (self.batch_size - len(tensors))
        inputs = torch.stack(tensors)
        with torch.inference_mode():
            if self.on_cuda:
                inputs = inputs.pin_memory().to(self.device, non_blocking=True)
            inputs = inputs.contiguous(memory_format=torch.channels_last)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                outputs = self.model(inputs)[: len(keys)]
            # Finished here: inference mode must not stay on in the caller's code between two yields.
            results = list(self._results(keys, outputs.float()))
        yield from results


class Classifier(BatchedModel):
    """A classification model predicting the top-5 classes of image files."""

    def predict(self, entries, on_batch=None):
        """Yield (key, wnid indices, probabilities, error) for (key, file bytes) entries.

        `on_batch` is called after each batch and may return False to stop early.
        """
        return self._run(entries, on_batch)

    def _failed(self, key, error):
        return key, None, None, error

    def _results(self, keys, logits):
        probabilities, indices = torch.softmax(logits, dim=1).topk(TOP_K, dim=1)
        for key, top, probs in zip(keys, indices.cpu().tolist(), probabilities.cpu().tolist(), strict=True):
            yield key, top, probs, None
