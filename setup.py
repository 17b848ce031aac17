"""Build hook only (the project is described in pyproject.toml).

The demo (`roster-tui --demo`, `python -m daemon.demo`) needs the sample district's drops. They
live in sample_data/ at the top of the repository, where the generator writes them and the tests
read them; this copies the three the demo uses into the package as daemon/demo_drops/, so a wheel
(pipx, pip install) carries them. An editable install reads sample_data/ itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DEMO_DROPS = ("day1", "day2", "day3_broken")


class BuildWithDemoDrops(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        source = Path(__file__).resolve().parent / "sample_data"
        target = Path(self.build_lib) / "daemon" / "demo_drops"
        for name in DEMO_DROPS:
            destination = target / name
            destination.mkdir(parents=True, exist_ok=True)
            for csv_file in sorted((source / name).glob("*.csv")):
                shutil.copyfile(csv_file, destination / csv_file.name)


setup(cmdclass={"build_py": BuildWithDemoDrops})
