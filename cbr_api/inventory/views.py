"""JSON shapes of disks, servers, file systems and jobs, as the real APIs return them."""
from __future__ import annotations

from typing import Any

from cbr_api import timefmt
from cbr_common.config import CONF
from cbr_common.db import models
from cbr_common.inventory import flavors

POWER_RUNNING, POWER_SHUTDOWN, POWER_NOSTATE = 1, 4, 0
VM_STATES = {'BUILD': 'building', 'ACTIVE': 'active', 'SHUTOFF': 'stopped', 'ERROR': 'error'}


def _bool_text(value: bool) -> str:
    return 'true' if value else 'false'


def attachment(a: models.VolumeAttachment) -> dict[str, Any]:
    return {'server_id': a.server_id, 'attachment_id': a.id,
            'attached_at': timefmt.evs(a.attached_at), 'host_name': None,
            'volume_id': a.volume_id, 'device': a.device, 'id': a.volume_id}


def _volume_links(v: models.Volume, base_url: str) -> list[dict[str, str]]:
    href = '%s/v2/%s/volumes/%s' % (base_url, v.project_id, v.id)
    return [{'href': href, 'rel': 'self'}, {'href': href, 'rel': 'bookmark'}]


def volume_summary(v: models.Volume, base_url: str) -> dict[str, Any]:
    """The brief shape of ``GET /v2/{project_id}/cloudvolumes``."""
    return {'id': v.id, 'name': v.name, 'links': _volume_links(v, base_url)}


def volume(v: models.Volume, base_url: str) -> dict[str, Any]:
    return {
        'id': v.id, 'name': v.name, 'description': v.description, 'status': v.status,
        'size': v.size, 'volume_type': v.volume_type, 'availability_zone': v.availability_zone,
        'attachments': [attachment(a) for a in v.attachments],
        'bootable': _bool_text(v.bootable), 'multiattach': v.multiattach,
        'shareable': _bool_text(v.multiattach), 'encrypted': False,
        'metadata': dict(v.metadata_), 'tags': dict(v.tags),
        'volume_image_metadata': {'image_id': ''} if v.bootable else {},
        'snapshot_id': None, 'source_volid': None,
        'created_at': timefmt.evs(v.created_at), 'updated_at': timefmt.evs(v.updated_at),
        'os-vol-tenant-attr:tenant_id': v.project_id,
        'os-vol-host-attr:host': 'pod01.%s#%s' % (v.availability_zone, v.volume_type),
        'service_type': 'EVS', 'replication_status': 'disabled', 'user_id': '',
        'wwn': '6888603000%022x' % (int(v.id.replace('-', ''), 16) % (1 << 88)),
        'enterprise_project_id': '0', 'consistencygroup_id': None,
        'os-vol-mig-status-attr:migstat': None, 'os-vol-mig-status-attr:name_id': None,
        'os-volume-replication:extended_status': None,
        'links': _volume_links(v, base_url),
    }


def server(s: models.Server) -> dict[str, Any]:
    power = {'ACTIVE': POWER_RUNNING, 'SHUTOFF': POWER_SHUTDOWN}.get(s.status, POWER_NOSTATE)
    flavor = flavors.of(s.flavor_id)
    return {
        'id': s.id, 'name': s.name, 'description': s.description, 'status': s.status,
        'OS-EXT-STS:vm_state': VM_STATES.get(s.status, 'error'),
        'OS-EXT-STS:task_state': s.task_state, 'OS-EXT-STS:power_state': power,
        'OS-EXT-AZ:availability_zone': s.availability_zone,
        'flavor': {'id': s.flavor_id, 'name': s.flavor_id, 'vcpus': str(flavor.vcpus),
                   'ram': str(flavor.ram_mb), 'disk': str(flavor.disk_gb)},
        'image': {'id': s.image_id}, 'addresses': {}, 'metadata': dict(s.metadata_),
        'tags': list(s.tags), 'sys_tags': [], 'created': timefmt.zulu(s.created_at),
        'updated': timefmt.zulu(s.updated_at), 'tenant_id': s.project_id, 'user_id': '',
        'key_name': None, 'security_groups': [{'name': 'default'}], 'locked': False,
        'host_status': 'UP', 'hostId': s.id.replace('-', '')[:28], 'progress': 0 if s.status == 'BUILD' else 100,
        'fault': {'message': s.fault} if s.fault else None,
        'config_drive': '', 'enterprise_project_id': '0',
        'OS-SRV-USG:launched_at': timefmt.evs(s.created_at),
        'OS-SRV-USG:terminated_at': '',
        'OS-EXT-SRV-ATTR:root_device_name': '/dev/vda',
        'OS-DCF:diskConfig': 'MANUAL',
        'os-extended-volumes:volumes_attached': [
            {'id': a.volume_id, 'device': a.device, 'bootIndex': str(a.boot_index),
             'delete_on_termination': _bool_text(a.delete_on_termination)}
            for a in s.attachments],
    }


def share(sh: models.Share) -> dict[str, Any]:
    return {
        'id': sh.id, 'name': sh.name, 'status': sh.status, 'sub_status': sh.sub_status,
        'size': '%.2f' % sh.size, 'avail_capacity': '%.2f' % sh.size,
        'share_proto': sh.share_proto, 'share_type': sh.share_type,
        'availability_zone': sh.availability_zone, 'az_name': sh.availability_zone,
        'region': CONF.region, 'vpc_id': sh.vpc_id, 'subnet_id': sh.subnet_id,
        'security_group_id': sh.security_group_id,
        'export_location': '192.168.0.100:/' if sh.status == '200' else '',
        'created_at': timefmt.zulu(sh.created_at), 'crypt_key_id': sh.metadata_.get('crypt_key_id', ''),
        'expand_type': '', 'pay_model': '0', 'enterprise_project_id': '0', 'version': '1.0.0',
        'tags': [], 'features': {}, 'action_progress': {},
    }


def job(op: models.Operation,
        shown: tuple[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The job API's shape; createServer jobs carry one sub-job per server.  ``shown``
    (job type, entities) is what the API family that made the job shows instead, if any
    (VBS shows its own job types)."""
    if shown is not None:
        return _job_body(op, op.id, *shown)
    entities = dict(op.entities or {})
    if op.job_type == 'createServer':
        server_ids = op.params.get('server_ids', [])
        entities = {'sub_jobs_total': len(server_ids), 'sub_jobs': [
            _job_body(op, '%s%02x' % (op.id[:30], index), 'createSingleServer',
                      {'server_id': server_id})
            for index, server_id in enumerate(server_ids)]}
    return _job_body(op, op.id, op.job_type, entities)


def _job_body(op: models.Operation, job_id: str, job_type: str,
              entities: dict[str, Any]) -> dict[str, Any]:
    return {'status': op.status, 'entities': entities, 'job_id': job_id, 'job_type': job_type,
            'begin_time': timefmt.job(op.begin_time or op.created_at),
            'end_time': timefmt.job(op.end_time), 'error_code': op.error_code,
            'fail_reason': op.fail_reason}
