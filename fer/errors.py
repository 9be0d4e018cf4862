"""The user's mistakes, told apart from bugs: every entry point prints these as one line and exits with 2.

A bug (anything else) keeps its traceback, so reports of real defects stay useful.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the user gave is wrong (a value, a file); the message names it and what was expected."""


class ConfigError(UserError, ValueError):
    """A configuration value of the wrong type, out of range, or not one of the allowed choices."""


class DataError(UserError, ValueError):
    """Bad input data; the message names the file and what was expected."""


class InputFileError(UserError, FileNotFoundError):
    """A path the user gave does not exist or is not the kind of file the option expects."""


class SourceError(UserError, RuntimeError):
    """A camera, video or image folder that cannot be read."""
