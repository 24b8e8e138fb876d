"""The one exception type a user ever sees: a message and a hint, printed on one line."""


class UserError(Exception):
    """Something the user can fix (a path, an argument, a camera); never a bug."""

    def __init__(self, message: str, hint: str = "", exit_code: int = 1):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message
