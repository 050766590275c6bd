"""The package as a user installs it: a wheel built from this tree, installed (not editable) into a fresh venv,
run from an empty folder, far from the source tree. Whatever it reads at run time must be inside the wheel."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.hermetic import PIP_USER_ENV
from tests.redis_server import free_port
from tests.slack_support import wait_for

ROOT = Path(__file__).resolve().parents[1]
NOT_SOURCE = (".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis")


def pip_env() -> dict[str, str]:
    """pip with the user's own cache and configuration (the suite's HOME is a temporary folder)."""
    return {**os.environ, **PIP_USER_ENV, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def run(args: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload, no-any-return]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv with the wheel installed."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))  # the build writes into its tree
    built = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", work / "dist", source], env=pip_env()
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (work / "dist").glob("paper_digest_bot-*.whl")
    venv = work / "venv"
    made = run([sys.executable, "-m", "venv", venv])
    assert made.returncode == 0, made.stderr
    done = run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel], env=pip_env())
    assert done.returncode == 0, done.stderr
    return venv / "bin"


@pytest.mark.slow
def test_the_installed_wheel_runs_the_demo_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # As a user's shell has it: no DIGEST_CONFIG or DIGEST_DATA_DIR, so the per-user defaults under HOME apply.
    env = {k: v for k, v in os.environ.items() if k not in ("DIGEST_CONFIG", "DIGEST_DATA_DIR")}
    result = run([installed / "digestbot", "demo"], cwd=elsewhere, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# 2026-02-13 Daily Papers (Top 5)")
    upvotes = [int(n) for n in re.findall(r"^\*\*Upvotes\*\*: (\d+)", result.stdout, re.M)]
    assert upvotes == [181, 86, 69, 55, 45]
    assert "5B 파라미터의 경량 multimodal 모델 DeepGen 1.0" in result.stdout  # the bundled golden briefs
    assert (Path.home() / ".local/share/paper-digest-bot/store.sqlite3").is_file()
    assert list(elsewhere.iterdir()) == []  # no ./var: the per-user data dir
    # The printed follow-up works as printed, from yet another folder: the full path, since the venv is not on PATH.
    lines = result.stderr.splitlines()
    hint = lines[lines.index("Ask a follow-up, answered from the store with no LLM call:") + 1].strip()
    assert hint == f'{installed / "digestbot"} ask "/paper 3 risks" --date 2026-02-13'
    asked = run(["bash", "-c", hint], cwd=tmp_path, env=env)
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.startswith("3. DeepGen 1.0") and "⚠️ 리스크/한계" in asked.stdout


@pytest.mark.slow
def test_the_installed_wheel_serves_the_archive_pages_and_their_stylesheet(installed: Path, tmp_path: Path) -> None:
    demo = run([installed / "digestbot", "demo"], cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    port = free_port()
    server = subprocess.Popen(
        [installed / "digestbot", "serve", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: server.poll() is not None or _answers(f"{base}/healthz"), "serve to answer", timeout_s=120)
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        page = httpx.get(f"{base}/d/2026-02-13")
        assert page.status_code == 200 and "DeepGen 1.0" in page.text
        stylesheet = httpx.get(f"{base}/static/archive.css")
        assert stylesheet.status_code == 200 and "--bg" in stylesheet.text
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
