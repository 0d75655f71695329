"""The runtime and the CLI must load without any training package (click's test_imports, adapted)."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("tensorflow", "keras", "sklearn", "scipy", "pandas", "tf2onnx", "skl2onnx", "onnx", "matplotlib")


def test_runtime_and_cli_import_no_training_packages() -> None:
    code = (
        "import sys, json\n"
        "import loanscore.runtime, loanscore.cli.main, loanscore.runtime.backtest, loanscore.runtime.stability\n"
        "from loanscore.runtime import Scorer\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in %r)))\n" % (FORBIDDEN,)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_scoring_one_applicant_loads_no_training_package(model_dir) -> None:
    code = (
        "import sys, json\n"
        "from loanscore.runtime import Scorer\n"
        "s = Scorer.load(%r)\n"
        "case = json.load(open(%r))['cases'][0]['record']\n"
        "assert 0 <= s.score(case).probability <= 1\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in %r)))\n"
        % (str(model_dir), str(model_dir / "golden.json"), FORBIDDEN)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_every_commands_wrapper_starts_without_numpy(tmp_path) -> None:
    """The count of a command's files starts in every command's wrapper: `loanscore audit LOG`, which needs no
    numpy, must not load it (and its start-up) for that."""
    log = tmp_path / "audit.jsonl"
    log.write_text("")
    code = (
        "import sys, json\n"
        "from loanscore.cli.main import main\n"
        "sys.argv = ['loanscore', 'audit', %r]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps('numpy' in sys.modules))\n" % str(log)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) is False, out.stderr
