"""PyInstaller's entry script: the same `main` as the `recon-console` console script."""

import multiprocessing
import sys

from console.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
