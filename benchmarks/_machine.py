"""What every benchmark prints about where it ran: the CPU and the versions of the packages measured."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version


def cpu_model() -> str:
    """The CPU's model name, as /proc/cpuinfo gives it (or what platform knows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(("model name", "Hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_version(name: str) -> str:
    """An installed package's version, or ``"not installed"``."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"
