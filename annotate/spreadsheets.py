"""CSV files people open in a spreadsheet: a text cell that starts like a formula is kept as text."""

import csv

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's list of CSV injection triggers).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text_cell(value):
    """The value, with a text that a spreadsheet would run as a formula prefixed by an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer whose text cells never start a formula."""

    def __init__(self, handle, **options):
        self._writer = csv.writer(handle, **options)

    def writerow(self, row):
        return self._writer.writerow([as_text_cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)
