"""`vaekit --help` and `--version` answer without importing torch (issue 14: 2.2 s before)."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import vaekit
from vaekit.cli.app import COMMANDS, cli

_NO_TORCH = """
import sys
from vaekit.cli import main
try:
    main({args!r})
except SystemExit:
    pass
assert "torch" not in sys.modules, "torch was imported"
"""


def test_top_level_help_and_version_do_not_import_torch():
    for args in (["--help"], ["--version"]):
        out = subprocess.run([sys.executable, "-c", _NO_TORCH.format(args=args)],
                             capture_output=True, text=True)  # fmt: skip
        assert out.returncode == 0, out.stderr
    out = subprocess.run([sys.executable, "-c", _NO_TORCH.format(args=["--help"])],
                         capture_output=True, text=True)  # fmt: skip
    assert all(name in out.stdout for name in COMMANDS)


def test_listed_help_is_each_commands_own_first_line():
    for name, (_, short) in COMMANDS.items():
        command = cli.get_command(None, name)
        first = inspect.cleandoc(command.callback.__doc__).splitlines()[0]
        assert short == first, name


def test_the_lazy_package_lists_what_it_provides():
    init = Path(vaekit.__file__)
    tree = ast.parse(init.read_text())
    typed = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             and node.level == 1 for a in node.names}  # fmt: skip
    assert typed == set(vaekit._WHERE)  # the type checkers' names are the loaded ones
    for name in vaekit.__all__:
        assert getattr(vaekit, name) is not None
    assert set(vaekit.__all__) <= set(dir(vaekit))
    try:
        vaekit.not_a_name  # noqa: B018
    except AttributeError as e:
        assert "not_a_name" in str(e)
    else:
        raise AssertionError("an unknown name resolved")
