"""Backups in vaults: vaults, backup/restore/delete requests, and the jobs that move the data.

Requests (:mod:`.requests`, API side) change rows to their transitional status and create
an operation in one transaction; the handlers in :mod:`.jobs` do the work on a worker
through the data plane (:mod:`cbr_common.dataplane`).
"""

SERVER = 'OS::Nova::Server'
VOLUME = 'OS::Cinder::Volume'
TURBO = 'OS::Sfs::Turbo'
RESOURCE_TYPES = (SERVER, VOLUME, TURBO)

# The CBR v3 names of each resource type: vault object type, provider id, spec code.
OBJECT_TYPES = {'server': SERVER, 'disk': VOLUME, 'turbo': TURBO}
OBJECT_TYPE_OF = {resource_type: name for name, resource_type in OBJECT_TYPES.items()}
PROVIDER_IDS = {SERVER: '0daac4c5-6707-4851-97ba-169e36266b66',
                VOLUME: 'd1603440-187d-4516-af25-121250c7cc97',
                TURBO: '3f3c3220-245c-4805-b811-758870015881'}
SPEC_CODES = {SERVER: 'vault.backup.server.normal', VOLUME: 'vault.backup.volume.normal',
              TURBO: 'vault.backup.turbo.normal'}
