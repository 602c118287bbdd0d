"""SageMaker: model.tar.gz packaging (built for real into a temp folder) and the deploy plan,
validated offline against the AWS API models."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from deploy import config as config_mod
from deploy import iam
from deploy.plan import validate
from deploy.sagemaker import build_plan, model_key, model_name
from deploy.sagemaker.__main__ import main
from deploy.sagemaker.package import (
    Packaged,
    PackageError,
    inspect_archive,
    list_archive,
    package,
)
from tests.deploy.deploy_testkit import step


def _fake_model(folder: Path, payload: bytes = b"onnx-bytes", sha: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.onnx").write_bytes(payload)
    (folder / "tiny.manifest.json").write_text(
        json.dumps(
            {
                "name": "tiny",
                "version": "2.1.0",
                "onnx_file": "tiny.onnx",
                "sha256": sha or hashlib.sha256(payload).hexdigest(),
            }
        )
    )
    return folder / "tiny.onnx"


@pytest.mark.parametrize("named", [False, True])
def test_package_a_shipped_model(tmp_path: Path, root: Path, named: bool) -> None:
    stem = "medsegtext-segfind"  # the default, on CPU and GPU endpoints alike
    done = (
        package(tmp_path / "out", root / f"models/{stem}.onnx")
        if named
        else package(tmp_path / "out")
    )
    assert done.path == tmp_path / "out" / "model.tar.gz"
    manifest = json.loads((root / f"models/{stem}.manifest.json").read_text())
    assert (done.name, done.version, done.sha256) == (
        manifest["name"],
        manifest["version"],
        manifest["sha256"],
    )
    # At the archive's root: SageMaker unpacks it into /opt/ml/model, where the server globs
    # *.onnx (backend/sagemaker_server.py) and the core finds the manifest beside it.
    assert sorted(list_archive(done.path)) == [f"{stem}.manifest.json", f"{stem}.onnx"]
    with tarfile.open(done.path, "r:gz") as tar:
        member = tar.extractfile(f"{stem}.onnx")
        assert member is not None
        assert hashlib.sha256(member.read()).hexdigest() == manifest["sha256"]
    assert inspect_archive(done.path) == done
    assert '"*.onnx"' in (root / "backend/sagemaker_server.py").read_text()


def test_archive_is_reproducible(tmp_path: Path) -> None:
    model = _fake_model(tmp_path / "models")
    a = package(tmp_path / "a", model).path.read_bytes()
    model.touch()  # a newer mtime must not change the bytes
    b = package(tmp_path / "b", model).path.read_bytes()
    assert a == b
    with tarfile.open(tmp_path / "a" / "model.tar.gz", "r:gz") as tar:
        assert {(m.uid, m.gid, m.mtime, m.mode) for m in tar.getmembers()} == {(0, 0, 0, 0o644)}


def test_a_model_that_does_not_match_its_manifest_is_refused(tmp_path: Path) -> None:
    model = _fake_model(tmp_path / "models", sha="0" * 64)
    with pytest.raises(PackageError, match=r"tiny.onnx: sha256 .* does not match"):
        package(tmp_path / "out", model)
    assert not (tmp_path / "out" / "model.tar.gz").exists()


def test_package_refusals_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match=r"missing.onnx: no such \.onnx model file"):
        package(tmp_path / "out", tmp_path / "missing.onnx")
    model = _fake_model(tmp_path / "m")
    model.with_name("tiny.manifest.json").unlink()
    with pytest.raises(PackageError, match="manifest is missing"):
        package(tmp_path / "out", model)
    bogus = tmp_path / "bogus.tar.gz"
    bogus.write_bytes(b"not gzip")
    with pytest.raises(PackageError, match="not a readable model archive"):
        inspect_archive(bogus)


def test_cli_package_prints_what_it_built(tmp_path: Path) -> None:
    model = _fake_model(tmp_path / "models")
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["package", "--out", str(tmp_path / "o"), "--model", str(model)]) == 0
    report = json.loads(out.getvalue())
    assert report["members"] == ["tiny.manifest.json", "tiny.onnx"]
    assert Path(report["archive"]).is_file()


@pytest.fixture()
def pkg(tmp_path: Path) -> Packaged:
    return package(tmp_path / "out", _fake_model(tmp_path / "models"))


@pytest.mark.parametrize("update", [False, True])
def test_deploy_plan_is_valid_against_the_aws_api_models(
    cfg: config_mod.Config, pkg: Packaged, update: bool
) -> None:
    plan = build_plan(cfg, pkg, update=update)
    assert validate(plan) == []
    ops = [(s.service, s.operation) for s in plan]
    assert ("sagemaker", "create_model") in ops and ("sagemaker", "create_endpoint_config") in ops
    assert ("sagemaker", "update_endpoint" if update else "create_endpoint") in ops
    if update:  # scaling off during the update, back on after
        assert (
            ops.index(("application-autoscaling", "deregister_scalable_target"))
            < ops.index(("sagemaker", "update_endpoint"))
            < ops.index(("application-autoscaling", "register_scalable_target"))
        )
        assert ("iam", "create_role") not in ops


def test_deploy_plan_wires_the_archive_image_and_role(
    cfg: config_mod.Config, pkg: Packaged
) -> None:
    plan = build_plan(cfg, pkg)
    upload = step(plan, "model-upload")
    assert upload.files == {"Body": str(pkg.path)}
    assert upload.params["Key"] == model_key(cfg, pkg)
    assert upload.params["Key"].startswith(cfg.sagemaker.model_prefix)
    model = step(plan, "model").params
    assert model["ModelName"] == model_name(cfg, pkg) == "medsegtext-2-1-0-" + pkg.sha256[:8]
    assert (
        model["PrimaryContainer"]["ModelDataUrl"]
        == f"s3://{cfg.storage.bucket}/{upload.params['Key']}"
    )
    assert model["PrimaryContainer"]["Image"] == cfg.image("sagemaker")
    assert model["EnableNetworkIsolation"] is True
    assert model["ExecutionRoleArn"].endswith(":role/medsegtext-sagemaker-execution")
    config = step(plan, "endpoint-config").params["ProductionVariants"][0]
    assert (config["ModelName"], config["InstanceType"]) == (
        model["ModelName"],
        cfg.sagemaker.instance_type,
    )
    # The role reads model artifacts only: not the case images under storage.prefix.
    policy = json.loads(step(plan, "policy-sagemaker").params["PolicyDocument"])
    s3 = [st for st in policy["Statement"] if st["Action"] == "s3:GetObject"]
    assert s3 == [
        {
            "Sid": "ModelArtifact",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{cfg.storage.bucket}/{cfg.sagemaker.model_prefix}*",
        }
    ]
    for st in policy["Statement"]:
        if "*" in iam.listify(st["Resource"]):
            assert set(iam.listify(st["Action"])) <= iam.AWS_REQUIRES_STAR


def test_workers_invoke_the_endpoint_this_plan_creates(
    cfg: config_mod.Config, pkg: Packaged
) -> None:
    endpoint = step(build_plan(cfg, pkg), "endpoint").params["EndpointName"]
    assert iam.endpoint_arn(cfg).endswith(f":endpoint/{endpoint}")


def test_cli_deploy_dry_run(tmp_path: Path, pkg: Packaged, root: Path) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert (
            main(
                [
                    "deploy",
                    "--config",
                    str(root / "deploy/ecs/config.example.yaml"),
                    "--archive",
                    str(pkg.path),
                    "--dry-run",
                ]
            )
            == 0
        )
    calls = [json.loads(line) for line in out.getvalue().splitlines()]
    assert calls[0]["operation"] == "create_role"
    assert any(c["operation"] == "create_endpoint" for c in calls)
    err = io.StringIO()
    with redirect_stderr(err):
        assert (
            main(
                [
                    "deploy",
                    "--config",
                    str(root / "deploy/ecs/config.example.yaml"),
                    "--archive",
                    str(tmp_path / "none.tar.gz"),
                    "--dry-run",
                ]
            )
            == 2
        )
    assert "none.tar.gz: not a readable model archive" in err.getvalue()
