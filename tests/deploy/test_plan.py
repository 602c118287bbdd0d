"""The plan machinery: offline validation against botocore's models, placeholders, execution."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deploy.plan import PlanError, Step, dig, execute, resolve, to_jsonl, validate


def test_validation_catches_wrong_parameters_operations_and_waiters() -> None:
    """The validator is only worth running if it rejects what AWS would reject."""
    steps = [
        Step(
            "td",
            "ecs",
            "register_task_definition",
            {"family": "x", "containerDefinitions": [{"name": "c", "cpu": "1"}], "bogus": 1},
        ),
        Step("tg", "elbv2", "create_target_group", {"Name": "x", "Port": "80"}),
        Step("nope", "ecs", "create_servcie", {}),
        Step("w", "ecs", "tasks_stoped", {}, wait=True),
        Step("svc", "nonexistent-service", "x", {}),
    ]
    problems = "\n".join(validate(steps))
    assert 'Unknown parameter in input: "bogus"' in problems
    assert "containerDefinitions[0].cpu" in problems
    assert "Port" in problems
    assert "has no operation 'create_servcie'" in problems
    assert "has no waiter 'tasks_stoped'" in problems
    assert "unknown service 'nonexistent-service'" in problems


def test_validation_checks_required_parameters_and_waiter_arguments() -> None:
    problems = "\n".join(
        validate(
            [
                Step("a", "iam", "create_role", {"RoleName": "r"}),
                Step("b", "ecs", "tasks_stopped", {"cluster": "c", "tasks": 3}, wait=True),
            ]
        )
    )
    assert "Missing required parameter" in problems and "AssumeRolePolicyDocument" in problems
    assert "b: ecs.DescribeTasks" in problems


def test_references_must_point_to_earlier_outputs() -> None:
    problems = validate(
        [
            Step("a", "ecs", "describe_clusters", {"clusters": ["{{b.arn}}"]}),
            Step("b", "ecs", "describe_clusters", {}, outputs={"arn": "clusters.0.clusterArn"}),
            Step("c", "ecs", "describe_clusters", {"clusters": ["{{b.name}}"]}),
            Step("c", "ecs", "describe_clusters", {}),
        ]
    )
    assert problems == [
        "a: refers to 'b', not an earlier step",
        "c: 'b' has no output 'name'",
        "c: duplicate step id",
    ]


def test_resolve_keeps_whole_values_and_formats_embedded_ones() -> None:
    results = {"lb": {"arn": "arn:aws:x", "ids": ["a", "b"]}}
    assert resolve({"k": ["{{lb.arn}}", "pre-{{lb.arn}}"], "n": 3, "l": "{{lb.ids}}"}, results) == {
        "k": ["arn:aws:x", "pre-arn:aws:x"],
        "n": 3,
        "l": ["a", "b"],
    }
    with pytest.raises(PlanError, match="no output 'dns' from step 'lb'"):
        resolve("{{lb.dns}}", results)
    assert dig({"a": [{"b": 1}]}, "a.0.b") == 1


class FakeWaiter:
    def __init__(self, log: list[Any], name: str):
        self.log, self.name = log, name

    def wait(self, **params: Any) -> None:
        self.log.append(("wait", self.name, params))


class FakeClient:
    """Records calls and answers from a table; stands in for a boto3 client."""

    def __init__(self, service: str, log: list[Any], answers: dict[str, Any]):
        self.service, self.log, self.answers = service, log, answers

    def get_waiter(self, name: str) -> FakeWaiter:
        return FakeWaiter(self.log, name)

    def __getattr__(self, operation: str) -> Any:
        def call(**params: Any) -> Any:
            body = params.get("Body")
            if hasattr(body, "read"):
                params = {**params, "Body": body.read()}
            self.log.append((self.service, operation, params))
            return self.answers.get(operation, {})

        return call


class FakeSession:
    def __init__(self, answers: dict[str, Any]):
        self.log: list[Any] = []
        self.answers = answers

    def client(self, service: str) -> FakeClient:
        return FakeClient(service, self.log, self.answers)


def test_execute_threads_outputs_into_later_calls_and_opens_files(tmp_path: Path) -> None:
    blob = tmp_path / "model.tar.gz"
    blob.write_bytes(b"archive")
    steps = [
        Step(
            "tg",
            "elbv2",
            "create_target_group",
            {"Name": "t"},
            outputs={"arn": "TargetGroups.0.TargetGroupArn"},
        ),
        Step("rule", "elbv2", "create_rule", {"Actions": [{"TargetGroupArn": "{{tg.arn}}"}]}),
        Step("up", "s3", "put_object", {"Bucket": "b", "Key": "k"}, files={"Body": str(blob)}),
        Step("w", "ecs", "tasks_stopped", {"tasks": ["{{tg.arn}}"]}, wait=True),
    ]
    session = FakeSession({"create_target_group": {"TargetGroups": [{"TargetGroupArn": "arn:tg"}]}})
    results = execute(steps, session, log=lambda _: None)
    assert results["tg"] == {"arn": "arn:tg"}
    assert session.log == [
        ("elbv2", "create_target_group", {"Name": "t"}),
        ("elbv2", "create_rule", {"Actions": [{"TargetGroupArn": "arn:tg"}]}),
        ("s3", "put_object", {"Bucket": "b", "Key": "k", "Body": b"archive"}),
        ("wait", "tasks_stopped", {"tasks": ["arn:tg"]}),
    ]


def test_execute_stops_when_an_expectation_fails() -> None:
    steps = [
        Step("result", "ecs", "describe_tasks", {}, expect={"tasks.0.containers.0.exitCode": 0}),
        Step("after", "ecs", "create_service", {}),
    ]
    session = FakeSession({"describe_tasks": {"tasks": [{"containers": [{"exitCode": 1}]}]}})
    with pytest.raises(PlanError, match=r"exitCode is 1, expected 0"):
        execute(steps, session, log=lambda _: None)
    assert [c[1] for c in session.log] == ["describe_tasks"]  # nothing ran after the failure
    session = FakeSession({"describe_tasks": {"tasks": []}})
    with pytest.raises(PlanError, match="'<absent>'"):
        execute(steps, session, log=lambda _: None)


def test_jsonl_has_one_parseable_line_per_step() -> None:
    steps = [
        Step("a", "ecs", "describe_clusters", {"clusters": ["c"]}, note="n"),
        Step("b", "ecs", "tasks_stopped", {"tasks": ["t"]}, wait=True),
    ]
    lines = [json.loads(line) for line in to_jsonl(steps).splitlines()]
    assert lines == [
        {
            "step": "a",
            "service": "ecs",
            "operation": "describe_clusters",
            "params": {"clusters": ["c"]},
            "note": "n",
        },
        {
            "step": "b",
            "service": "ecs",
            "operation": "tasks_stopped",
            "params": {"tasks": ["t"]},
            "wait": True,
        },
    ]
