"""The bundle's entry point: the same `main` as the `photolens` console script."""
import multiprocessing
import sys

from photolens.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # harmless on Linux; needed if a pool is ever used on Windows
    sys.exit(main())
