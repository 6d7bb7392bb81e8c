from config.exceptions import DomainError


class InferenceError(DomainError):
    """A model, weights or checkpoint that cannot be used; the message says what to do."""


class ImportFailed(DomainError):
    """Input that cannot be imported; the message names the file, line or value at fault."""
