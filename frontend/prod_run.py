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
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from build_key import build_key
from reflex import constants
from reflex import reflex as reflex_cli
from reflex.utils import build, prerequisites

KEY_FILE = "medsegtext-build.key"


def _log(message: str) -> None:
    print(f"[portal] {message}", file=sys.stderr, flush=True)


def main() -> None:
    key = build_key()  # before Reflex sets REFLEX_* variables of its own
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
            key_file().write_text(key + "\n")

    reflex_cli._compile_app = compile_or_reuse
    build.setup_frontend_prod = build_or_reuse
    sys.argv[0] = "reflex"
    sys.exit(reflex_cli.cli())


if __name__ == "__main__":
    main()
