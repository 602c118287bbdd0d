"""The image table of deploy/README.md, measured on the built images (`make compose-test` runs
it: tests/containers/test_images.py): size against its budget, the user it runs as, compilers
on its PATH, what `docker history` shows of secrets (an ENV, ARG or command line naming a key,
password, secret or token with a value), and the Python packages it holds audited for known
vulnerabilities (the pip-audit of `make audit`, .ci/audit.py, over the image's own package
versions, read from its layers).
Prints a Markdown table; exits 1 when an image breaks any of these rules.

    python3 docker/image_report.py [TAG]
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

#: MB: what each image may weigh (uncompressed, as `docker image ls` counts), measured on the
#: local debootstrap base (155 MB; python:3.11-slim is about 30 MB less) and set some 5-10 %
#: above what each image holds now, so that a new dependency shows: the Python images are
#: the base plus the packages their code imports (docker/requirements.py; the API's largest:
#: numpy, fontTools for the PDF reports, SQLAlchemy, botocore, highdicom, fhir.resources, and
#: faker, which litestar requires), the workers add onnxruntime and the model.
BUDGET_MB = {
    "api": 650,
    "worker": 720,
    "migrate": 640,
    "sagemaker": 720,
    "frontend": 270,
    "aws": 300,
    "worker-gpu": 1250,
    "postgres": 560,
    "redis": 180,
}
COMPILERS = ("gcc", "cc", "c++", "g++", "clang", "make")
#: NAME=value where NAME says secret; an empty value or a ${...} reference is no secret
SECRET = re.compile(
    r"\b(\w*(?:SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|ACCESS_KEY)\w*)=([^\s\"'$]\S*)", re.I
)


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


DIST_INFO = re.compile(r"site-packages/([^/]+)-([^-/]+)\.dist-info/METADATA$")


def contents(image: str) -> tuple[list[str], dict[str, str]]:
    """The compilers any layer of the image puts in /usr/bin or /usr/local/bin, and its Python
    packages (name -> version, from *.dist-info), read from `docker save` (running a container
    would copy the whole image first on VFS storage). Every image's virtual environment is
    written by one COPY, so no later layer deletes a package."""
    wanted = {f"{d}/{c}" for d in ("usr/bin", "usr/local/bin") for c in COMPILERS}
    found: set[str] = set()
    packages: dict[str, str] = {}
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    with save, tarfile.open(fileobj=save.stdout, mode="r|") as outer:
        for member in outer:
            if not (member.isfile() and member.name.endswith("layer.tar")):  # links: seen layers
                continue
            layer = outer.extractfile(member)
            assert layer is not None
            with tarfile.open(fileobj=layer, mode="r|") as inner:
                for m in inner:
                    name = m.name.lstrip("./")
                    if name in wanted:
                        found.add("/" + name)
                    elif dist := DIST_INFO.search(name):
                        packages[dist[1].lower().replace("_", "-")] = dist[2]
    return sorted(found), packages


def audit(packages: dict[str, str]) -> tuple[str, list[str]]:
    """(table cell, problems): make audit's two sources over these package versions."""
    if not packages:
        return "no Python packages", []
    spec = importlib.util.spec_from_file_location(
        "ci_audit", Path(__file__).resolve().parents[1] / ".ci" / "audit.py"
    )
    assert spec and spec.loader
    ci_audit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ci_audit)
    result = ci_audit.audit(ci_audit.pip_audit(packages), ci_audit.ignored(), ci_audit.project_page)
    found = [f"{d['name']} {d['version']} {v['id']}" for d, v in result["found"]]
    unaudited = len(result["unaudited"])
    cell = f"{len(packages)} packages: {len(found)} known vulnerabilities" + (
        f", {unaudited} not audited" if unaudited else ""
    )
    return cell, found


def row(name: str, tag: str) -> tuple[list[str], list[str]]:
    image = f"medsegtext/{name}:{tag}"
    info = json.loads(docker("image", "inspect", image))[0]
    size_mb = info["Size"] / 1e6
    user = info["Config"].get("User") or "root"
    found, packages = contents(image)
    audited, vulnerable = audit(packages)
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image)
    env = "\n".join(info["Config"].get("Env") or [])
    secrets = sorted({m.group(1) for m in SECRET.finditer(history + "\n" + env)})
    problems = []
    if user.split(":")[0] in ("root", "0", ""):
        problems.append(f"{name}: runs as root")
    if found:
        problems.append(f"{name}: compilers {found}")
    if secrets:
        problems.append(f"{name}: secrets in layers {secrets}")
    if vulnerable:
        problems.append(f"{name}: known vulnerabilities {vulnerable}")
    budget = BUDGET_MB[name]
    if size_mb > budget:
        problems.append(f"{name}: {size_mb:.0f} MB, over its budget of {budget} MB")
    return [
        f"`{image}`",
        f"{size_mb:.0f}",
        f"{budget}",
        "yes" if size_mb <= budget else "**no**",
        user,
        ", ".join(found) or "none",
        ", ".join(secrets) or "none",
        audited,
    ], problems


def main(tag: str = "local") -> int:
    present = [
        n
        for n in BUDGET_MB
        if subprocess.run(
            ["docker", "image", "inspect", f"medsegtext/{n}:{tag}"], capture_output=True
        ).returncode
        == 0
    ]
    header = [
        "image",
        "MB",
        "budget MB",
        "within",
        "user",
        "compilers",
        "secrets in history",
        "pip-audit",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    problems: list[str] = []
    for name in present:
        cells, found = row(name, tag)
        problems += found
        print("| " + " | ".join(cells) + " |")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
