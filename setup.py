"""Only what pyproject.toml cannot say: the top-level resources/ directory ships inside the
package as `console.resources` (see resources/__init__.py).

setuptools' package discovery (`[tool.setuptools.packages.find]`) finds only directories
named like their package, and a discovered list cannot be extended from pyproject.toml, so
the package list and the one renamed directory are given here; everything else (metadata,
dependencies, package data) stays in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["console*"]), "console.resources"],
    package_dir={"console.resources": "resources"},
)
