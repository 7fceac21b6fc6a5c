"""Backups in vaults: vaults, backup/restore/delete requests, and the jobs that move the data.

Requests (:mod:`.requests`, API side) change rows to their transitional status and create
an operation in one transaction; the handlers in :mod:`.jobs` do the work on a worker
through the data plane (:mod:`cbr_common.dataplane`).
"""

SERVER = 'OS::Nova::Server'
VOLUME = 'OS::Cinder::Volume'
TURBO = 'OS::Sfs::Turbo'
RESOURCE_TYPES = (SERVER, VOLUME, TURBO)
