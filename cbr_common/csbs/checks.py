"""Whether CSBS may back up a server now, or restore a backup onto a server now.

Each check returns the refusal (a :class:`CsbsError` with its CSBS code) instead of
raising it, so that ``check_protectable`` and ``check_restorable`` can report one result
per resource, and a backup or restore request raises the same refusal.

Backup (rules C2, C3): the server exists (CSBS.6000), is ``ACTIVE`` or ``SHUTOFF`` and is
not being backed up (6006), has disks (6007), none of them shared (6010).  Restore (rules
R1, R2, C4): the backup is available (4000); the target server exists (6000), may be
restored now (6015) and has disks (6020); every disk backup whose disk still exists is
mapped (6018, a disk deleted since the backup may be left out), each onto a disk attached
to the server (6014), not shared (6021), not the system disk for a data disk's backup
(6023), and at least as large (6024).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cbr_common.backups import SERVER, requests, restores
from cbr_common.csbs import PROVIDER_ID, codes
from cbr_common.csbs.codes import CsbsError
from cbr_common.db import models


def _server(session: Session, project_id: str, server_id: str, field: str
            ) -> models.Server | CsbsError:
    server = session.get(models.Server, server_id)
    if server is None or server.project_id != project_id:
        return CsbsError(codes.SERVER_NOT_FOUND, 'server %s does not exist' % server_id,
                         field=field)
    return server


def protect_refusal(session: Session, project_id: str, server_id: str,
                    resource_type: str = SERVER) -> CsbsError | None:
    """Why CSBS would refuse to back up the server now, or None."""
    refusal = server_refusal(session, project_id, server_id, resource_type)
    if refusal is not None:
        return refusal
    running = requests.running_backup(session, server_id)
    if running is not None:
        return CsbsError(codes.SERVER_STATE, 'Server (%s) is being backed up (%s); it is '
                         'not allowed to protect now.' % (server_id, running),
                         field='resource_id')
    return None


def server_refusal(session: Session, project_id: str, server_id: str,
                   resource_type: str = SERVER, field: str = 'resource_id'
                   ) -> CsbsError | None:
    """Why CSBS would refuse to protect the server at all (a backup now, or binding it to
    a policy), naming ``field``: its type, existence, state, disks, shared disks."""
    if resource_type != SERVER:
        return CsbsError(codes.TYPE_NOT_PROTECTABLE, 'Resource (%s) type (%s) is not '
                         'support protection.' % (server_id, resource_type),
                         field='resource_type' if field == 'resource_id' else field)
    server = _server(session, project_id, server_id, field)
    if isinstance(server, CsbsError):
        return server
    if server.status not in requests.BACKUP_READY_SERVER or server.task_state:
        return CsbsError(codes.SERVER_STATE, 'Server (%s) status (%s) is not allowed to '
                         'protect.' % (server_id, server.task_state or server.status),
                         field=field)
    volumes = [attachment.volume for attachment in server.attachments]
    if not volumes:
        return CsbsError(codes.NO_VOLUMES, 'No volume attached to the server (%s) for '
                         'protect.' % server_id, field=field)
    for volume in volumes:
        if volume.multiattach:  # rule C2
            return CsbsError(codes.SHARED_VOLUME, 'Volume (%s) attached to server (%s) is '
                             'shareable volume.' % (volume.id, server_id), field=field)
    return None


@dataclass(frozen=True)
class RestoreRequest:
    """A whole-server restore as CSBS asks for it: the backup (checkpoint item), the target
    server, and each disk backup's target disk."""

    item: models.Backup
    server_id: str
    volumes: Mapping[str, str]  # disk backup id -> id of the disk that receives its data
    field: str = 'restore.parameters.targets'


def restore_refusal(session: Session, project_id: str,
                    request: RestoreRequest) -> CsbsError | None:
    """Why CSBS would refuse the restore now, or None."""
    item = request.item
    if item.status != 'available':
        return CsbsError(codes.ITEM_NOT_AVAILABLE, 'checkpoint item %s is %s, not available'
                         % (item.id, item.status), field='checkpoint_item_id')
    server = _server(session, project_id, request.server_id, request.field + '.server_id')
    if isinstance(server, CsbsError):
        return server
    return _server_refusal(server, request) or _mapping_refusal(session, server, request)


def _server_refusal(server: models.Server, request: RestoreRequest) -> CsbsError | None:
    field = request.field + '.server_id'
    restoring = any(a.volume.status == 'restoring-backup' for a in server.attachments)
    if server.status not in restores.RESTORABLE_SERVER or server.task_state or restoring:
        state = 'restoring' if restoring else server.task_state or server.status
        return CsbsError(codes.SERVER_RESTORING, 'server %s is %s; it cannot be restored now'
                         % (server.id, state), field=field)
    if not server.attachments:
        return CsbsError(codes.TARGET_WITHOUT_VOLUMES, 'No volume attached to the server (%s) '
                         'for restore.' % server.id, field=field)
    return None


def _mapping_refusal(session: Session, server: models.Server,
                     request: RestoreRequest) -> CsbsError | None:
    field = request.field + '.volumes'
    children = {child.id: child for child in request.item.children}
    unknown = sorted(set(request.volumes) - set(children))
    if unknown:
        return CsbsError(codes.BACKUP_NOT_IN_ITEM, 'Can not find backup(s) (%s) in checkpoint '
                         'item (%s).' % (', '.join(unknown), request.item.id), field=field)
    unmapped = sorted(child.id for child in children.values() if child.id not in request.volumes
                      and session.get(models.Volume, child.resource_id) is not None)  # rule R2
    if unmapped:
        return CsbsError(codes.PARTIAL_RESTORE, 'Not assign backup(s) (%s) to volume(s), '
                         'partial restore is not supported.' % ', '.join(unmapped), field=field)
    attached = {attachment.volume_id: attachment for attachment in server.attachments}
    if len(set(request.volumes.values())) != len(request.volumes):
        return CsbsError(codes.INVALID, 'two disk backups restore onto one disk', field=field)
    for backup_id, volume_id in request.volumes.items():
        refusal = _target_refusal(session, children[backup_id], attached.get(volume_id),
                                  volume_id, server.id, field)
        if refusal is not None:
            return refusal
    return None


def _target_refusal(session: Session, child: models.Backup,
                    attachment: models.VolumeAttachment | None, volume_id: str,
                    server_id: str, field: str) -> CsbsError | None:
    if attachment is None:
        return CsbsError(codes.TARGET_VOLUME_NOT_ATTACHED, 'Volume(s) (%s) not found in '
                         'target server.' % volume_id, field=field)
    volume = attachment.volume
    if volume.multiattach:
        return CsbsError(codes.SHARED_TARGET, 'Volume (%s) attached to server (%s) is '
                         'shareable volume.' % (volume_id, server_id), field=field)
    if attachment.boot_index == 0 and not requests.was_system_disk(session, child):
        return CsbsError(codes.DATA_ONTO_SYSTEM, 'Can not restore data volume to system '
                         'volume. server id is (%s).' % server_id, field=field)
    if volume.size < child.resource_size:
        return CsbsError(codes.TARGET_TOO_SMALL, 'Target volume (%s) size (%d) small than '
                         'volume backup (%s) size (%d).' % (volume_id, volume.size, child.id,
                                                             child.resource_size), field=field)
    return None


def require_provider(provider_id: str, field: str = 'provider_id') -> None:
    """Refuse any provider but CSBS's one (CSBS.9001)."""
    if provider_id != PROVIDER_ID:
        raise CsbsError(codes.INVALID, 'provider invalid: %s is not %s'
                        % (provider_id, PROVIDER_ID), field=field)
