"""`.ci/run` on a fresh machine: it installs what the tests need when missing, then runs the README's test command."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README_TEST_COMMAND = "./dev test"


def stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def run_ci(tmp_path: Path, *, present: tuple[str, ...]) -> tuple[subprocess.CompletedProcess[str], Path]:
    """.ci/run in a copy of the tree whose ./dev and apt-get only record how they were called; PATH has just
    the tools the script needs plus the `present` ones."""
    tree = tmp_path / "tree"
    (tree / ".ci").mkdir(parents=True)
    shutil.copy2(ROOT / ".ci" / "run", tree / ".ci" / "run")
    calls = tmp_path / "calls"
    stub(tree, "dev", f'echo "dev $*" >> {calls}')
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("bash", "dirname"):
        (tools / tool).symlink_to(shutil.which(tool) or f"/bin/{tool}")
    stub(tools, "apt-get", f'echo "apt-get $*" >> {calls}')
    for name in present:
        stub(tools, name, "exit 0")
    env = {"PATH": str(tools), "CI": "1", "HOME": os.environ["HOME"]}
    result = subprocess.run([str(tree / ".ci" / "run")], capture_output=True, text=True, env=env, timeout=60)
    return result, calls


def test_ci_installs_redis_server_when_missing_then_runs_the_readme_test_command(tmp_path):
    result, calls = run_ci(tmp_path, present=("chromium",))
    assert result.returncode == 0, result.stderr
    lines = calls.read_text(encoding="utf-8").splitlines()
    assert lines == ["apt-get update -qq", "apt-get install -y -qq redis-server", "dev test"]


def test_ci_installs_nothing_when_everything_is_there(tmp_path):
    result, calls = run_ci(tmp_path, present=("redis-server", "chromium"))
    assert result.returncode == 0, result.stderr
    assert calls.read_text(encoding="utf-8").splitlines() == ["dev test"]


def test_the_readme_names_the_test_command_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"{README_TEST_COMMAND}     # set up .venv with the test extras" in readme
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").rstrip().endswith(f"exec {README_TEST_COMMAND}")
