"""What every concern's settings class shares: the MEDSEGTEXT_ prefix, immutability,
comma-separated lists, bounded numbers, and errors that name the variable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PREFIX = "MEDSEGTEXT_"
ROOT = Path(__file__).resolve().parents[2]  # the repository (or the image's /app)


class SettingsError(RuntimeError):
    pass


def _comma_separated(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


#: A comma-separated list in the environment ("a, b,"), a tuple in Python.
CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_separated)]


# Bounded numbers: a zero or negative timeout, size or count, or a port no socket can use, is
# refused when the settings are read, naming its variable, and not found at the first use.
#: A count, size or time that must be at least 1 (a timeout of 0 would fail every call).
AtLeastOne = Annotated[int, Field(ge=1)]
#: A count or time where 0 has a meaning (off, no wait), but a negative value none.
NotNegative = Annotated[int, Field(ge=0)]
#: A time in seconds that may have a fraction and must be above 0.
PositiveSeconds = Annotated[float, Field(gt=0)]
#: A TCP port.
Port = Annotated[int, Field(ge=1, le=65535)]
#: A share in per cent.
Percent = Annotated[int, Field(ge=0, le=100)]


def prefixed_or(conventional: str, field: str) -> Any:
    """An alias: MEDSEGTEXT_<FIELD>, or when that is unset a conventional name (DATABASE_URL)."""
    return AliasChoices(f"{PREFIX}{field.upper()}", conventional)


class Section(BaseSettings):
    """What every concern shares: the prefix, immutability and errors that name the variable.
    Settings inherits every concern, so a validator's name must be unique across them (one of
    two alike would silently replace the other)."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True, populate_by_name=True)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as e:
            raise SettingsError(_describe(e)) from None

    @classmethod
    def env_name(cls, field: str) -> str:
        """The variable that sets ``field`` (the MEDSEGTEXT_ one where there are two)."""
        return f"{PREFIX}{field.upper()}"

    @classmethod
    def env_names(cls) -> set[str]:
        """Every environment variable these settings read."""
        names = set()
        for name, info in cls.model_fields.items():
            names.add(cls.env_name(name))
            if isinstance(info.validation_alias, AliasChoices):
                names.update(
                    a for a in info.validation_alias.choices if isinstance(a, str) and a.isupper()
                )
        return names

    def environment_variables(self) -> dict[str, str]:
        """The environment that makes another process read these same settings."""
        env = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is not None:
                env[self.env_name(name)] = (
                    ",".join(value) if isinstance(value, tuple) else str(value)
                )
        return env


# pydantic's bound errors, said as the bound: "must be at least 1"
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "above"),
    "less_than_equal": ("le", "at most"),
}


def _describe(error: ValidationError) -> str:
    """One line per bad value. Our checks' messages already name their variable; pydantic's
    own (not an integer, out of range...) get the variable and the value in front."""
    lines = []
    for e in error.errors(include_url=False):
        if e["type"] == "value_error":
            lines.append(str(e["ctx"]["error"]))
            continue
        field = str(e["loc"][0]) if e["loc"] else ""
        name = field if field.isupper() else Section.env_name(field)
        message = e["msg"]
        if (bound := _BOUNDS.get(e["type"])) is not None:
            limit = e["ctx"][bound[0]]
            message = f"must be {bound[1]} {int(limit) if limit == int(limit) else limit}"
        lines.append(f"{name}: {e['input']!r}: {message}")
    return "; ".join(lines)
