"""What the resumable benchmark scripts share: running the `vaekit` command line as a user
would (so each result records the commands that reproduce it), keeping one JSON file per
finished result (a rerun skips what is done), and rewriting a marked block of a doc."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path


def vaekit(*args: str, threads: int) -> str:
    """Run ``vaekit ARGS`` with ``threads`` intra-op threads; its stdout (stderr passes)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    print("$", shlex.join(["vaekit", *args]), flush=True)
    done = subprocess.run([sys.executable, "-m", "vaekit", *args], env=env, check=True,
                          stdout=subprocess.PIPE, text=True)  # fmt: skip
    return done.stdout


def command(*args: str) -> str:
    """The shell line a user types for ``vaekit ARGS``."""
    return shlex.join(["vaekit", *args])


class Results:
    """One ``NAME.json`` per finished result under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def done(self, name: str) -> bool:
        return (self.folder / f"{name}.json").exists()

    def load(self, name: str) -> dict:
        return json.loads((self.folder / f"{name}.json").read_text())

    def save(self, name: str, record: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
        print(json.dumps({k: v for k, v in record.items() if k != "commands"}), flush=True)


def replace_block(doc: Path, block: str, tag: str = "table") -> None:
    """Put ``block`` between ``<!-- tag -->`` and ``<!-- /tag -->`` in ``doc``."""
    text = doc.read_text()
    start, end = f"<!-- {tag} -->", f"<!-- /{tag} -->"
    doc.write_text(
        text[: text.index(start) + len(start)] + "\n" + block + "\n" + text[text.index(end) :]
    )
    print(f"wrote {doc} ({tag})")


def finished(run: Path) -> bool:
    """A run directory whose training (or fit) ended and was not interrupted."""
    summary = run / "summary.json"
    return summary.exists() and not json.loads(summary.read_text()).get("interrupted", False)


def train(args: list[str], out: Path, threads: int) -> str:
    """``vaekit train ARGS --out OUT`` unless OUT is finished; rerunning resumes a stopped run."""
    line = ["train", *args, "--out", str(out)]
    if not finished(out):
        vaekit(*line, threads=threads)
    return command(*line)


def fit(args: list[str], out: Path, threads: int) -> str:
    """``vaekit baseline ARGS --out OUT`` unless OUT is finished; a fit cut short (EM has no
    checkpoint) is thrown away and redone."""
    line = ["baseline", *args, "--out", str(out)]
    if not finished(out):
        if out.exists():
            shutil.rmtree(out)
        vaekit(*line, threads=threads)
    return command(*line)
