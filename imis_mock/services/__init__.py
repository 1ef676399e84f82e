"""Plain functions holding the rules. No request, flash or render_template in here."""


class ServiceError(Exception):
    """A rule was broken: the message is safe to show to the person who asked."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
