class ImportFailed(Exception):
    """Input that cannot be imported; the message names the file, line or value at fault."""
