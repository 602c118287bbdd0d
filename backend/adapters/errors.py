"""Dependency failures the API turns into 503 and the worker into a retry."""


class DependencyUnavailable(RuntimeError):
    def __init__(self, dependency: str, reason: str):
        super().__init__(f"{dependency} unavailable: {reason}")
        self.dependency = dependency


class ObjectMissing(LookupError):
    """The store answered, but the object is not there: a data problem, not an outage."""

    def __init__(self, key: str):
        super().__init__(f"stored object {key!r} is missing")
        self.key = key
