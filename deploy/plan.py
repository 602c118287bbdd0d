"""A deployment plan: an ordered list of boto3 calls, printable as JSON lines (``--dry-run``),
checkable offline against botocore's API models, and executable with a boto3 session.

A later step refers to an earlier step's answer with a ``{{step_id.output}}`` placeholder inside
any string parameter (e.g. a target group ARN that AWS only knows once it exists); ``outputs``
names where in the answer each value is found (a dotted path, numbers index lists). Everything
whose name AWS derives from ours (role and log group ARNs) is written out in full instead, so the
dry run shows the real value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLACEHOLDER = re.compile(r"\{\{([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)\}\}")


class PlanError(RuntimeError):
    """A plan that cannot run: an unknown reference, a failed expectation."""


@dataclass(frozen=True)
class Step:
    id: str
    service: str  # boto3 client name: "ecs", "elbv2", "application-autoscaling", ...
    operation: str  # boto3 method name (snake_case), or a waiter name when ``wait`` is set
    params: dict[str, Any]
    outputs: dict[str, str] = field(default_factory=dict)
    wait: bool = False  # run ``client.get_waiter(operation).wait(**params)``
    expect: dict[str, Any] = field(default_factory=dict)  # dotted path -> required value
    files: dict[str, str] = field(default_factory=dict)  # param -> local file opened as its value
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "step": self.id,
            "service": self.service,
            "operation": self.operation,
            "params": self.params,
        }
        for name in ("outputs", "expect", "files", "note"):
            value = getattr(self, name)
            if value:
                out[name] = value
        if self.wait:
            out["wait"] = True
        return out


def to_jsonl(steps: Iterable[Step]) -> str:
    return "".join(json.dumps(s.as_json(), sort_keys=False) + "\n" for s in steps)


def placeholders(value: Any) -> Iterator[tuple[str, str]]:
    """Every (step id, output) referenced anywhere inside ``value``."""
    if isinstance(value, str):
        yield from PLACEHOLDER.findall(value)
    elif isinstance(value, dict):
        for v in value.values():
            yield from placeholders(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from placeholders(v)


def check_references(steps: list[Step]) -> list[str]:
    """Problems with the plan's wiring: duplicate ids, references to later or unknown outputs."""
    problems: list[str] = []
    known: dict[str, set[str]] = {}
    for step in steps:
        if step.id in known:
            problems.append(f"{step.id}: duplicate step id")
        for ref_step, ref_out in placeholders(step.params):
            if ref_step not in known:
                problems.append(f"{step.id}: refers to {ref_step!r}, not an earlier step")
            elif ref_out not in known[ref_step]:
                problems.append(f"{step.id}: {ref_step!r} has no output {ref_out!r}")
        known[step.id] = set(step.outputs)
    return problems


def resolve(value: Any, results: dict[str, dict[str, Any]]) -> Any:
    """``value`` with every placeholder replaced by the earlier step's output."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:  # keep the output's own type (a list, a number)
            return _lookup(results, *whole.groups())
        return PLACEHOLDER.sub(lambda m: str(_lookup(results, *m.groups())), value)
    if isinstance(value, dict):
        return {k: resolve(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, results) for v in value]
    return value


def _lookup(results: dict[str, dict[str, Any]], step_id: str, name: str) -> Any:
    try:
        return results[step_id][name]
    except KeyError:
        raise PlanError(f"no output {name!r} from step {step_id!r}") from None


def dig(data: Any, path: str) -> Any:
    """``dig({"a": [{"b": 1}]}, "a.0.b") == 1``."""
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def _botocore_session() -> Any:
    import botocore.session

    return botocore.session.get_session()


def validate(steps: list[Step], session: Any = None) -> list[str]:
    """Check every call against botocore's models of the AWS APIs, offline: the operation (or
    waiter) exists and its parameters are what the API accepts. Returns the problems found."""
    from botocore.validate import ParamValidator
    from botocore.waiter import WaiterModel

    session = session or _botocore_session()
    problems = check_references(steps)
    validator = ParamValidator()
    for step in steps:
        try:
            model = session.get_service_model(step.service)
        except Exception as e:
            problems.append(f"{step.id}: unknown service {step.service!r} ({e})")
            continue
        if step.wait:
            waiters: WaiterModel = session.get_waiter_model(step.service)
            by_snake = {_snake(n): n for n in waiters.waiter_names}
            if step.operation not in by_snake:
                problems.append(f"{step.id}: {step.service} has no waiter {step.operation!r}")
                continue
            api_name = waiters.get_waiter(by_snake[step.operation]).operation
            params = {k: v for k, v in step.params.items() if k != "WaiterConfig"}
        else:
            by_snake = {_snake(n): n for n in model.operation_names}
            if step.operation not in by_snake:
                problems.append(f"{step.id}: {step.service} has no operation {step.operation!r}")
                continue
            api_name = by_snake[step.operation]
            params = {**step.params, **{k: b"" for k in step.files}}
        report = validator.validate(params, model.operation_model(api_name).input_shape)
        if report.has_errors():
            problems.append(f"{step.id}: {step.service}.{api_name}: {report.generate_report()}")
    return problems


def _snake(name: str) -> str:
    from botocore import xform_name

    return str(xform_name(name))


def execute(steps: list[Step], session: Any, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the plan with a boto3 ``session``; stops at the first failure (AWS's own error).

    Returns every step's outputs. Not idempotent: the ``create`` plan is for a first deployment,
    the ``update`` plan for every release after it (see deploy/README.md).
    """
    clients: dict[str, Any] = {}
    results: dict[str, dict[str, Any]] = {}
    for n, step in enumerate(steps, 1):
        client = clients.get(step.service)
        if client is None:
            client = clients[step.service] = session.client(step.service)
        params = resolve(step.params, results)
        log(f"[{n}/{len(steps)}] {step.service}.{step.operation} ({step.id})")
        if step.wait:
            client.get_waiter(step.operation).wait(**params)
            answer: Any = {}
        else:
            with ExitStack() as files:
                opened = {k: files.enter_context(Path(p).open("rb")) for k, p in step.files.items()}
                answer = getattr(client, step.operation)(**params, **opened)
        results[step.id] = {name: dig(answer, path) for name, path in step.outputs.items()}
        for path, wanted in step.expect.items():
            try:
                got = dig(answer, path)
            except (KeyError, IndexError, TypeError):
                got = "<absent>"
            if got != wanted:
                raise PlanError(f"{step.id}: {path} is {got!r}, expected {wanted!r}")
    return results
