"""The neighbours found, as CSV lines for export_near_duplicates and the API."""

from annotate.spreadsheets import csv_lines
from nearduplicates.models import Neighbour

NEIGHBOUR_COLUMNS = ("candidate", "neighbour", "neighbour_dataset", "metric", "distance", "rank")


def neighbour_lines(testset):
    """Every stored neighbour of the test set's candidates, by candidate file name, metric and rank: CSV lines,
    the header first; names are file names."""
    rows = (
        Neighbour.objects.filter(testset=testset)
        .order_by("candidate__image__file_name", "metric", "rank")
        .values_list(
            "candidate__image__file_name", "image__file_name", "image__dataset__name", "metric", "distance", "rank"
        )
        .iterator(chunk_size=5000)
    )
    return csv_lines(NEIGHBOUR_COLUMNS, rows)
