"""Print the project's runtime requirements from pyproject.toml, one per line, for the image
builds (dependencies get their own cached layer; the project itself is copied, not installed).

``python requirements.py`` -> [project.dependencies];
``python requirements.py --gpu`` -> the same with onnxruntime replaced by the ``gpu`` extra
(onnxruntime-gpu), as both packages install the same ``onnxruntime`` module and must not meet.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path


def requirement_name(spec: str) -> str:
    return re.split(r"[\s<>=!~\[;@]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def requirements(pyproject: Path, gpu: bool = False) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    deps = list(project["dependencies"])
    if gpu:
        deps = [d for d in deps if requirement_name(d) != "onnxruntime"]
        deps += project["optional-dependencies"]["gpu"]
    return deps


if __name__ == "__main__":
    here = Path.cwd() / "pyproject.toml"
    print("\n".join(requirements(here, gpu="--gpu" in sys.argv[1:])))
