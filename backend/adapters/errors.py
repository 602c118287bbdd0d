"""Dependency failures the API turns into 503 and the worker into a retry."""


class DependencyUnavailable(RuntimeError):
    def __init__(self, dependency: str, reason: str):
        super().__init__(f"{dependency} unavailable: {reason}")
        self.dependency = dependency
