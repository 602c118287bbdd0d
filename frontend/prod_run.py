"""`reflex run --env prod ...` (the arguments as given) over the last production build when
nothing it was built from has changed (build_key.py): run.sh starts the portal through this.

Reflex 0.10's prod run compiles the app into .web and rebuilds the frontend bundle (vite) on
every start, which was about half of a second `make up`. The key of a build is written next to
it once the build succeeds; a start that finds the same key and the build skips Reflex's
compile and frontend build steps and starts the same server over the earlier build: the bundle
mounted on the backend, one port. Any other start builds as before. The steps are skipped by
replacing the two functions Reflex's prod run calls for them (reflex.reflex._compile_app,
reflex.utils.build.setup_frontend_prod); the first is called under Reflex's lock on .web, so
two starts cannot both decide on a half-written build. A Reflex upgrade that renames them fails
here at start, loudly.

``--build-only`` (first argument) makes or checks the build and exits before serving: the
portal image is built with it, so a container starts on the build in its image. There
MEDSEGTEXT_PREBUILT_PORTAL=1 forbids building at start (the image has no bun, no node_modules
and may reach no npm registry): a start whose inputs differ from the image's build exits with
the names of the variables or sources that differ, instead of hanging on a package install.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from build_key import build_inputs, build_key, differences
from reflex import constants
from reflex import reflex as reflex_cli
from reflex.utils import build, prerequisites

KEY_FILE = "medsegtext-build.key"
INPUTS_FILE = "medsegtext-build.json"  # build_inputs() of the build, to name what differs


def _log(message: str) -> None:
    print(f"[portal] {message}", file=sys.stderr, flush=True)


def refuse_to_build(web: Path, key: str, inputs: dict[str, str]) -> None:
    """Exit 2 naming what differs, unless the build in `web` was made from these inputs."""
    key_file, record = web / KEY_FILE, web / INPUTS_FILE
    if key_file.is_file() and key_file.read_text().strip() == key:
        return
    built = json.loads(record.read_text()) if record.is_file() else {}
    changed = ", ".join(differences(built, inputs)) or "no build in this image"
    _log(
        "this portal's production build was made for other settings, and this image does not "
        f"build at start (MEDSEGTEXT_PREBUILT_PORTAL=1). Differs: {changed}. Rebuild the image "
        "with these settings (build arguments MEDSEGTEXT_PUBLIC_URL and PROXY_HOPS; compose passes "
        "MEDSEGTEXT_PUBLIC_URL and MEDSEGTEXT_PORTAL_PROXY_HOPS: `docker compose build frontend`)."
    )
    sys.exit(2)


def main() -> None:
    key = build_key()  # before Reflex sets REFLEX_* variables of its own
    inputs = build_inputs()
    build_only = sys.argv[1:2] == ["--build-only"]
    if build_only:
        del sys.argv[1]
    elif os.environ.get("MEDSEGTEXT_PREBUILT_PORTAL") == "1":
        # before Reflex runs: a missing or stale .web would make it reinstall packages first
        refuse_to_build(prerequisites.get_web_dir(), key, inputs)
    compile_app, setup_frontend_prod = reflex_cli._compile_app, build.setup_frontend_prod
    reuse = False

    def key_file() -> Path:
        return prerequisites.get_web_dir() / KEY_FILE

    def built() -> bool:
        return (prerequisites.get_web_dir() / constants.Dirs.STATIC / "index.html").is_file()

    def compile_or_reuse(**kwargs: Any) -> None:
        nonlocal reuse
        file = key_file()
        reuse = file.is_file() and file.read_text().strip() == key and built()
        if reuse:
            _log(f"sources unchanged (build {key[:12]}): reusing the production build")
            return
        file.unlink(missing_ok=True)
        _log(f"building the production frontend (build {key[:12]})")
        compile_app(**kwargs)

    def build_or_reuse(root: Path) -> None:
        if not reuse:
            setup_frontend_prod(root)
            (prerequisites.get_web_dir() / INPUTS_FILE).write_text(json.dumps(inputs) + "\n")
            key_file().write_text(key + "\n")
        if build_only:
            _log(f"production build {key[:12]} ready; not serving (--build-only)")
            sys.exit(0)

    reflex_cli._compile_app = compile_or_reuse
    build.setup_frontend_prod = build_or_reuse
    sys.argv[0] = "reflex"
    sys.exit(reflex_cli.cli())


if __name__ == "__main__":
    main()
