"""The one exception type the sealing library raises."""


class CryptoError(ValueError):
    """Raised when anything cannot be sealed or opened. Never carries partial plaintext."""
