"""python -m vaekit: the same as the vaekit command."""

from .cli import entry

if __name__ == "__main__":
    entry()
