"""The ``CSBS.NNNN`` error codes of CSBS v1 (the OTC CSBS API reference, appendix "Error
Codes"), each with the HTTP status CSBS answers with, and the error that carries them.

CSBS refuses a request with 400 for nearly every code and 404 for an object that does not
exist.  The few codes the reference lists with 500 although the request is at fault
(``CSBS.6023``, a data disk's backup onto the system disk) are answered with 400 here: a
bad request is never a server error.  docs/errors.md lists the codes in use.
"""
from __future__ import annotations

from cbr_common.errors import DomainError

POLICY_QUOTA = 'CSBS.0001'            # backup policies at their limit
BACKUP_BUSY = 'CSBS.2003'             # the backup is being made, restored or deleted
POLICY_NOT_FOUND = 'CSBS.3000'
ITEM_NOT_FOUND = 'CSBS.3001'          # no such backup (checkpoint item) or backup record
ITEM_NOT_AVAILABLE = 'CSBS.4000'      # only an available backup restores
SERVER_NOT_FOUND = 'CSBS.6000'
TYPE_NOT_PROTECTABLE = 'CSBS.6003'
SERVER_IN_POLICY = 'CSBS.6004'
SERVER_STATE = 'CSBS.6006'            # the server's status does not allow a backup
NO_VOLUMES = 'CSBS.6007'              # no disk attached: nothing to back up
SHARED_VOLUME = 'CSBS.6010'           # rule C2: a shared disk on the server
TARGET_VOLUME_NOT_ATTACHED = 'CSBS.6014'
SERVER_RESTORING = 'CSBS.6015'        # the target server cannot be restored now
BACKUP_NOT_IN_ITEM = 'CSBS.6017'
PARTIAL_RESTORE = 'CSBS.6018'
TARGET_WITHOUT_VOLUMES = 'CSBS.6020'
SHARED_TARGET = 'CSBS.6021'
DATA_ONTO_SYSTEM = 'CSBS.6023'        # rule R1
TARGET_TOO_SMALL = 'CSBS.6024'        # rule R1
TASK_NOT_FOUND = 'CSBS.6040'          # no such restore or operation log
TAG_QUOTA = 'CSBS.7000'
TAG_NOT_FOUND = 'CSBS.7001'
REGISTERED_AS_IMAGE = 'CSBS.8007'     # rule B7
INVALID = 'CSBS.9001'                 # a parameter (the provider id too) is not valid
QUOTA_EXCEEDED = 'CSBS.9006'
DUPLICATE_POLICY_NAME = 'CSBS.9007'
UNVERIFIED = 'CSBS.9009'
INTERNAL = 'CSBS.9999'

NOT_FOUND_CODES = frozenset({ITEM_NOT_FOUND, POLICY_NOT_FOUND, TASK_NOT_FOUND, TAG_NOT_FOUND})

# The CSBS error style's code for a domain error that names no CSBS code, by its kind.
KIND_CODES = {'invalid': INVALID, 'bad_request': INVALID, 'not_found': ITEM_NOT_FOUND,
              'conflict': BACKUP_BUSY, 'quota': QUOTA_EXCEEDED, 'forbidden': UNVERIFIED,
              'unauthenticated': UNVERIFIED, 'internal': INTERNAL}


class CsbsError(DomainError):
    """A refusal with a CSBS code, answered with the HTTP status CSBS gives that code."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field, code=code)
        not_found = code in NOT_FOUND_CODES
        self.status = 404 if not_found else 400
        self.kind = 'not_found' if not_found else 'invalid'
