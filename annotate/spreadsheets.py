"""CSV files people open in a spreadsheet: a text cell that starts like a formula is kept as text.

Every text cell is quoted, so that a spreadsheet that splits lines on another separator (";" where "," is the
decimal mark) still reads each cell whole, and a cell whose first character other than white space starts a
formula (in ASCII or full width) gets an apostrophe in front, which spreadsheets show as text.
"""

import csv

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's CSV injection triggers, and their
# full-width forms, which some spreadsheets fold to ASCII).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def as_text_cell(value):
    """The value, with a text that a spreadsheet would run as a formula prefixed by an apostrophe."""
    if isinstance(value, str) and (value.startswith(FORMULA_STARTS) or value.lstrip().startswith(FORMULA_STARTS)):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer that quotes text cells and never lets one start a formula; the header, the program's own column
    names, goes as it is."""

    def __init__(self, handle, **options):
        self._header = csv.writer(handle, **options)
        self._writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC, **options)

    def writeheader(self, names):
        return self._header.writerow(names)

    def writerow(self, row):
        return self._writer.writerow([as_text_cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


class _Line:
    """A file that hands back what is written to it: a writer's writerow then returns the line it wrote."""

    def write(self, line):
        return line


def csv_lines(header, rows):
    """The header and the rows as CSV lines, one at a time (for a streamed download or a file), text cells safe."""
    writer = SafeWriter(_Line())
    yield writer.writeheader(header)
    for row in rows:
        yield writer.writerow(row)


def write_csv(path, lines):
    """Write CSV lines (the header first, as csv_lines gives them) to the file at `path`; returns the rows written
    after the header."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        handle.write(next(lines))
        written = 0
        for line in lines:
            handle.write(line)
            written += 1
    return written
