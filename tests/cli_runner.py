"""Run the ``vaekit`` command in-process, as a user would, and collect what it said."""

from __future__ import annotations

from vaekit.cli import main


def run_cli(args, capsys) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``vaekit *args`` (paths may be Path objects)."""
    code = 0
    try:
        main([str(a) for a in args])
    except SystemExit as e:
        code = e.code or 0
    cap = capsys.readouterr()
    return code, cap.out, cap.err
