"""The package keeps its shape: layers and no cycles (import-linter), no name switches outside
the registries, and every setting declared once reaching the CLI, TOML and the API."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import vaekit
from vaekit.cli import cli
from vaekit.data import DATASETS
from vaekit.training import SCHEDULES, read_toml, setting_keys

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "vaekit"


def _lint_imports(src_parent: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.fail("lint-imports is not installed: pip install -e '.[test]'")
    return subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=src_parent, env={"PYTHONPATH": str(src_parent), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True,
    )  # fmt: skip


def test_layers_and_no_cycles_hold():
    out = _lint_imports(SRC.parent)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 kept, 0 broken" in out.stdout, out.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("models/kl.py", "from ..training import train", "below it"),
        ("models/vae.py", "from ..inference import ELBO", "Models import nothing"),
        ("data/dataset.py", "from ..models import VAE", "below it"),
        ("inference/importance.py", "from .evaluation import evaluate", "No import cycles"),
    ],
)
def test_the_contracts_catch_a_planted_violation(tmp_path, module, line, broken):
    copy = tmp_path / "vaekit"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    path = copy / module
    path.write_text(path.read_text() + f"\n{line}  # planted\n")
    out = _lint_imports(tmp_path)
    assert out.returncode != 0 and broken in out.stdout, out.stdout


def _registry_names() -> set[str]:
    from vaekit.inference.compressors import COMPRESSORS
    from vaekit.models.mixtures import MIXTURES
    from vaekit.training.baseline import FITS

    regs = (vaekit.LIKELIHOODS, vaekit.PRIORS, vaekit.NETWORKS, vaekit.OBJECTIVES, SCHEDULES,
            DATASETS, MIXTURES, FITS, COMPRESSORS)  # fmt: skip
    return {name for r in regs for name in r}


def test_no_string_switch_on_a_registered_name_outside_its_registry():
    names = "|".join(re.escape(n) for n in _registry_names())
    switch = re.compile(rf"""(==|!=|\bin)\s*[(\[{{]?\s*["']({names})["']""")
    hits = [
        f"{p.relative_to(SRC)}:{i}: {line.strip()}"
        for p in SRC.rglob("*.py")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if switch.search(line)
    ]
    assert not hits, "give the classes attributes instead:\n" + "\n".join(hits)


def test_every_setting_is_a_train_option_and_a_toml_key(tmp_path):
    help_text = CliRunner().invoke(cli, ["train", "--help"], terminal_width=200).output
    for key in setting_keys():
        assert f"--{key.replace('_', '-')}" in help_text, key
    toml = tmp_path / "all.toml"
    toml.write_text("".join(f"{k} = 1\n" for k in sorted(setting_keys())))
    assert set(read_toml(toml)) == setting_keys()  # every key accepted, nothing else needed


def test_registered_names_are_the_cli_choices():
    help_text = CliRunner().invoke(cli, ["train", "--help"], terminal_width=200).output
    for registry in (vaekit.LIKELIHOODS, vaekit.PRIORS, vaekit.NETWORKS, vaekit.OBJECTIVES):
        assert "|".join(registry) in help_text, registry.kind


def test_defaults_shown_in_help_are_the_dataclass_defaults():
    help_text = " ".join(CliRunner().invoke(cli, ["train", "--help"], terminal_width=200)
                         .output.split())  # fmt: skip
    from vaekit.training.config import MIN_EPOCHS, MIN_STEPS

    assert (
        f"Passes over the training data. (default: {MIN_EPOCHS}, or more to make at least {MIN_STEPS:,}"
        in help_text
    )
    assert f"(default: {vaekit.TrainConfig().lr})" in help_text
    ev = " ".join(CliRunner().invoke(cli, ["evaluate", "--help"], terminal_width=200)
                  .output.split())  # fmt: skip
    assert f"(default: {vaekit.EvalConfig().refine_steps})" in ev


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.fail("ruff is not installed: pip install -e '.[test]'")
    for args in (["check"], ["format", "--check"]):
        out = subprocess.run([str(ruff), *args, "src", "tests", "benchmarks"], cwd=ROOT,
                             capture_output=True, text=True)  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr
