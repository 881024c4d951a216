"""Packaging glue that pyproject.toml cannot express: two packages from two source roots.

functions/townhall        the runtime wing (the webhook; exactly what is deployed)
tools/townhall_tools      the tooling wing (the townhall command; never deployed)
"""

from setuptools import find_namespace_packages, setup

ROOTS = {"townhall": "functions", "townhall_tools": "tools"}

setup(
    package_dir={name: f"{root}/{name}" for name, root in ROOTS.items()},
    packages=[
        package
        for name, root in ROOTS.items()
        for package in find_namespace_packages(root, include=[name, f"{name}.*"], exclude=["*.__pycache__"])
    ],
)
