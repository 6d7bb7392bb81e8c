"""A wnid's one shape, and the one way to read a list of them from a form, a query or a file."""

import re

WNID_LENGTH = 9
WNID = r"n\d{8}"
WNID_PATTERN = re.compile(rf"^{WNID}$")
# A file named after its class, as ImageNet's training files are: n01440764_10026.JPEG.
LEADING_WNID = re.compile(rf"^({WNID})_")
_SEPARATORS = re.compile(r"[\s,;]+")


def parse_wnids(value):
    """The wnids of a list, or of text separated by commas, semicolons or white space, in order, lowercased (a
    wnid typed as N01440764 is meant); empty entries and None give none."""
    if value is None:
        return []
    if isinstance(value, str):
        value = _SEPARATORS.split(value)
    return [str(wnid).strip().lower() for wnid in value if str(wnid).strip()]
