"""The API process reads the model's manifest and paths but never runs the model: building the
app must not load ONNX Runtime (31 MB more peak RSS per API process, measured with
resource.getrusage before and after `import onnxruntime`; budget 300 MB). The workers load it."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_api_does_not_import_onnxruntime() -> None:
    code = (
        "import sys\n"
        "import backend.app\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('onnxruntime', 'torch')]\n"
        "print(bad); assert not bad\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
