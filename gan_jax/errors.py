"""Errors a user can cause (bad config, bad workdir, bad checkpoint), each one clear message.

Entry points catch ``GanJaxError`` and print its message instead of a traceback.
"""


class GanJaxError(Exception):
    """An error caused by the user's input, with a message that says how to fix it."""


class ConfigError(GanJaxError, ValueError):
    """A config value is not allowed: names the key, the value and what is allowed."""

    def __init__(self, key: str, value, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"config error: {key}={value!r} is not allowed; allowed: {allowed}")


class WorkdirError(GanJaxError, OSError):
    """The working directory cannot be used."""


class CheckpointError(GanJaxError):
    """No usable checkpoint, or a resume the saved run does not allow (e.g. a changed model)."""


class DivergenceError(GanJaxError):
    """Training produced a non-finite loss, gradient norm or state; names the step and term."""


class DataError(GanJaxError):
    """A dataset cannot be read: names it, where it was looked for and how to prepare it."""
