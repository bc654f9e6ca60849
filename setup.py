"""Packaging for ubiops: the client and, in the ``local`` extra, the local server."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "ubiops" / "_version.py").read_text()).group(1)

EXTRAS = {
    "local": ["werkzeug>=2.2", "PyYAML>=5.4"],
    "progress": ["tqdm>=4.60"],
}
EXTRAS["lint"] = ["ruff>=0.5", "mypy>=1.8", "types-python-dateutil", "types-PyYAML"]
EXTRAS["test"] = sorted(
    set(EXTRAS["local"] + EXTRAS["progress"] + EXTRAS["lint"])
    | {"pytest>=7", "pytest-timeout>=2", "pytest-xdist>=3.2", "hypothesis>=6", "psutil>=5", "trustme>=1.0", "playwright>=1.40"}
)

setup(
    name="ubiops",
    version=VERSION,
    description="Python client for the UbiOps deployment-requests API, with a local UbiOps-compatible server",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=find_packages(include=["ubiops", "ubiops.*"]),
    package_data={"ubiops": ["py.typed", "api/*.pyi"], "ubiops.local": ["deployments/*/*", "web/*"]},
    install_requires=["urllib3>=1.26,<3", "python-dateutil>=2.8", "certifi"],
    extras_require=EXTRAS,
    entry_points={
        "console_scripts": ["ubiops-local=ubiops.local.cli:main"],
        "pytest11": ["ubiops_local=ubiops.local.pytest_plugin"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Typing :: Typed",
    ],
)
