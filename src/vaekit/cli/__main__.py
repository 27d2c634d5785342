"""python -m vaekit.cli: the same as the vaekit command."""

from .app import entry

if __name__ == "__main__":
    entry()
