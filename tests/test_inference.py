"""The inference engine on its own: no database."""

import pytest
import torch

from annotate.inference import Classifier, InferenceError, ModelSpec
from tests.conftest import jpeg_bytes

IMAGES = [(i, jpeg_bytes(color=(40 * i, 255 - 30 * i, 90), size=(200, 150))) for i in range(5)]


def predictions(classifier):
    return {key: (top, probabilities) for key, top, probabilities, _ in classifier.predict(IMAGES)}


def seeded(**options):
    torch.manual_seed(7)
    return Classifier(ModelSpec("resnet18", "none"), device="cpu", batch_size=4, **options)


def test_compiled_bf16_classifier_agrees_with_plain_eager_fp32():
    eager = predictions(seeded(compile=False, bf16=False))
    compiled = predictions(seeded(compile=True))
    assert set(compiled) == set(eager) == {0, 1, 2, 3, 4}
    for key, (top, probabilities) in eager.items():
        assert len(top) == 5 and probabilities == sorted(probabilities, reverse=True)
        assert compiled[key][1] == pytest.approx(probabilities, abs=2e-2)


def test_undecodable_entries_are_reported_and_the_rest_predicted():
    classifier = seeded(compile=False)
    results = list(classifier.predict([*IMAGES[:2], ("broken", b"\xff\xd8 not really")]))
    errors = {key: error for key, _, _, error in results if error}
    assert set(errors) == {"broken"}
    assert [key for key, top, _, _ in results if top] == [0, 1]


def test_stopping_between_batches():
    classifier = seeded(compile=False)
    results = list(classifier.predict(IMAGES, on_batch=lambda: False))
    assert [key for key, *_ in results] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ModelSpec("resnet18", "IMAGENET1K_V9"), "choose one of IMAGENET1K_V1"),
        (ModelSpec("maskrcnn_resnet50_fpn", "none"), "is not a torchvision classification model"),
        (ModelSpec("resnet18", "/no/such.pth"), "checkpoint /no/such.pth does not exist"),
    ],
)
def test_bad_specs(spec, message):
    with pytest.raises(InferenceError, match=message):
        spec.validate()


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save(seeded(compile=False).model.state_dict(), path)
    with pytest.raises(InferenceError, match="does not fit resnet34"):
        Classifier(ModelSpec("resnet34", str(path)), device="cpu", compile=False)
