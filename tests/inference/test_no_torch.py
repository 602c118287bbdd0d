import subprocess
import sys


def test_importing_the_inference_core_does_not_import_torch():
    code = (
        "import sys\n"
        "import inference, inference.pipeline, inference.decode, inference.findings\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'litestar', 'sqlmodel', 'aioboto3', 'arq')]\n"
        "print(bad); assert not bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
