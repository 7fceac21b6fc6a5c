"""The simulated inventory: EVS disks, ECS servers and SFS Turbo file systems.

Requests change rows to their transitional status and create a job in one transaction;
the job's handler (:mod:`cbr_common.inventory.jobs`) finishes the change on a worker.
"""

GIB = 1024 ** 3
