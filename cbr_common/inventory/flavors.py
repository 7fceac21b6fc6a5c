"""ECS flavors: the vCPUs and memory a flavor name stands for.

Huawei Cloud names general-purpose flavors ``<family>.<size>.<ratio>``: the size gives the
vCPUs (``small`` and ``medium`` 1, ``large`` 2, ``xlarge`` 4, ``<n>xlarge`` 4·n) and the
ratio the GiB of memory per vCPU (``s3.small.1``: 1 vCPU, 1 GiB; ``s6.large.2``: 2 vCPUs,
4 GiB).  A name of another shape is a 2 vCPU, 4 GiB server.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_SIZES = {'small': 1, 'medium': 1, 'large': 2, 'xlarge': 4}
_NAME = re.compile(r'^[a-z][a-z0-9]*\.(?:(\d+)(xlarge)|(small|medium|large|xlarge))\.(\d+)$')


@dataclass(frozen=True)
class Flavor:
    """What a server of the flavor has: vCPUs, memory in MB, and its local disk in GB (ECS
    servers keep their data on EVS disks, so 0)."""

    vcpus: int
    ram_mb: int
    disk_gb: int = 0


DEFAULT = Flavor(vcpus=2, ram_mb=4096)


def of(flavor_id: str) -> Flavor:
    """The flavor a name stands for (see the module's docstring)."""
    match = _NAME.match(flavor_id)
    if match is None:
        return DEFAULT
    times, multiple, size, ratio = match.groups()
    vcpus = int(times) * _SIZES[multiple] if times else _SIZES[size]
    return Flavor(vcpus=vcpus, ram_mb=vcpus * int(ratio) * 1024)
