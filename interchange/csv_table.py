"""CSV: one row per review item, for spreadsheets and data frames; export only."""

import io

import taxonomy
from annotate.spreadsheets import SafeWriter
from interchange import selectors

COLUMNS = (
    "file_name",
    "wnid",
    "class_index",
    "label",
    "source",
    "p_correct",
    "p_wrong",
    "p_unclear",
    "needs_adjudication",
    "verdicts",
)
NO_POSTERIOR = ("", "", "")
CHUNK_CHARACTERS = 1 << 20


def export_chunks(dataset):
    """The rows in file-name then wnid order; `verdicts` counts the reviewers with a current verdict on the item."""
    images = selectors.images_by_file_name(dataset)
    labels = selectors.labels_by_image(dataset)
    counts = selectors.verdict_counts(dataset)
    buffer = io.StringIO()
    writer = SafeWriter(buffer, lineterminator="\n")
    writer.writeheader(COLUMNS)
    for image_id, file_name, _ in images:
        writer.writerows(
            (
                file_name,
                label.wnid,
                taxonomy.class_index(label.wnid),
                label.label,
                label.source,
                *(label.posterior or NO_POSTERIOR),
                "true" if label.needs_adjudication else "false",
                counts.get(label.item_id, 0),
            )
            for label in labels.get(image_id, ())
        )
        if buffer.tell() > CHUNK_CHARACTERS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
