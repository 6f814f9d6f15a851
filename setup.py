"""Build hook, the rest of the packaging is in pyproject.toml.

The stylesheet, scripts and vendored Chart.js live in the top-level ``static/`` folder. A checkout (and an
editable install) serves them from there; a built wheel or ``pip install .`` copies them into the package
as ``marketplace/static``, where ``create_app`` looks first. ``MANIFEST.in`` puts them in the sdist.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

STATIC = Path(__file__).resolve().parent / "static"


class BuildPyWithStatic(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # the finder points at the checkout, which has static/ already
            return
        target = Path(self.build_lib) / "marketplace" / "static"
        for source in sorted(p for p in STATIC.rglob("*") if p.is_file()):
            destination = target / source.relative_to(STATIC)
            self.mkpath(str(destination.parent))
            self.copy_file(str(source), str(destination))


setup(cmdclass={"build_py": BuildPyWithStatic})
