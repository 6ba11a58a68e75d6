"""Read a secret (a password) from a file, such as a mounted Kubernetes Secret. Pure."""

from __future__ import annotations

from pathlib import Path

from fishshop_workers.errors import InputError

__all__ = ["SecretFileError", "read_secret_file"]


class SecretFileError(InputError, ValueError):
    """The file cannot give the secret; the message says why, never what it holds."""


def read_secret_file(path: Path, what: str, option: str = "") -> str:
    """The secret in ``path``; ``what`` names it in errors ("SASL password file"), and
    ``option`` (the flag that named the file) is suggested when the file is missing.

    One trailing newline is dropped, because ``echo`` and editors add one; any other
    whitespace belongs to the secret.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        hint = f": check {option}" if option else ""
        raise SecretFileError(f"{what} {path} not found{hint}") from None
    except IsADirectoryError:
        raise SecretFileError(
            f"{what} {path} is a folder: give the file that holds the password"
        ) from None
    except PermissionError:
        raise SecretFileError(
            f"{what} {path} cannot be read: permission denied for this user"
        ) from None
    except UnicodeDecodeError:
        raise SecretFileError(f"{what} {path} is not UTF-8 text") from None
    except OSError as error:
        raise SecretFileError(f"{what} {path} cannot be read: {error.strerror or error}") from None
    for ending in ("\r\n", "\n"):
        if text.endswith(ending):
            return text[: -len(ending)]
    return text
