"""Every configuration option of cbr-sim, declared once with oslo.config.

All services read one file, ``etc/cbr/cbr.conf`` (or the file named by ``--config-file`` /
``CBR_CONFIG_FILE``).  The embedded defaults run on one machine with nothing but Redis:
an SQLite file and data folders below ``state_path``.  ``list_opts`` feeds
``oslo-config-generator`` (see ``etc/cbr/cbr-config-generator.conf``).
"""
from __future__ import annotations

import os
from pathlib import Path

from oslo_config import cfg

CONF = cfg.CONF

default_opts = [
    cfg.StrOpt('state_path', default='$pybasedir/.stack/state',
               help='Folder for every piece of state the services keep on disk: the SQLite '
                    'database (by default), disk images and service files.'),
    cfg.StrOpt('pybasedir', default=str(Path(__file__).resolve().parent.parent),
               sample_default='<the project folder>',
               help='Top folder of the installed project; used to build default paths.'),
    cfg.StrOpt('region', default='sim-region-1',
               help='Region name reported in the service catalog and in resources.'),
    cfg.StrOpt('availability_zone', default='sim-az-1',
               help='Availability zone given to simulated servers, disks and file systems.'),
]

database_opts = [
    cfg.StrOpt('connection', default='sqlite:///$state_path/cbr.sqlite', secret=True,
               help='SQLAlchemy URL of the shared database. SQLite (WAL mode) by default; '
                    'for example postgresql+psycopg://user@127.0.0.1/cbr or '
                    'mysql+pymysql://root@127.0.0.1/cbr.'),
    cfg.IntOpt('busy_timeout_ms', default=30000, min=0,
               help='SQLite busy timeout in milliseconds: how long a writer waits for the lock.'),
    cfg.IntOpt('pool_size', default=5, min=1,
               help='Connections kept open per process (ignored for SQLite).'),
]

messaging_opts = [
    cfg.StrOpt('broker_url', default='redis://127.0.0.1:6379/0', secret=True,
               help='Celery broker URL shared by every service, for example '
                    'redis://127.0.0.1:6379/0 or amqp://guest:guest@127.0.0.1:5672//.'),
    cfg.IntOpt('visibility_timeout', default=7200, min=60,
               help='Seconds before the Redis broker re-delivers an unacknowledged message; '
                    'longer than the longest job. Lost workers are found sooner by leases.'),
    cfg.StrOpt('queue_prefix', default='',
               help='Prefix of every queue name, so several installations (or test runs) '
                    'can share one broker without taking each other\'s messages.'),
    cfg.FloatOpt('publish_timeout', default=2.0, min=0.1,
                 help='Seconds a publish may take before it is left to the scheduler\'s '
                      'outbox re-dispatch.'),
]

api_opts = [
    cfg.HostAddressOpt('bind_host', default='127.0.0.1', help='Address cbr-api listens on.'),
    cfg.PortOpt('bind_port', default=8799, help='Port cbr-api listens on.'),
    cfg.IntOpt('workers', default=2, min=1, help='gunicorn worker processes of cbr-api.'),
    cfg.IntOpt('threads', default=4, min=1, help='Threads per gunicorn worker of cbr-api.'),
    cfg.StrOpt('public_endpoint', default=None,
               help='URL clients use to reach cbr-api, put into the service catalog. '
                    'Defaults to http://bind_host:bind_port.'),
    cfg.IntOpt('max_request_bytes', default=64 * 1024 * 1024, min=1024,
               help='Largest request body accepted (data writes included).'),
]

identity_opts = [
    cfg.IntOpt('signature_max_skew', default=900, min=1,
               help='Seconds an X-Sdk-Date may differ from the real time before the '
                    'signature is refused (APIGW.0301).'),
    cfg.IntOpt('token_ttl', default=86400, min=60, help='Lifetime of issued tokens, seconds.'),
    cfg.StrOpt('domain_name', default='sim-domain', help='Domain (account) name of seeded users.'),
    cfg.IntOpt('credential_cache_seconds', default=30, min=0,
               help='Seconds an API process caches an AK/SK or token lookup.'),
]

worker_opts = [
    cfg.IntOpt('lease_seconds', default=30, min=2,
               help='Lease a worker holds on the operation it runs; renewed by heartbeats. '
                    'The scheduler reclaims operations whose lease expired.'),
    cfg.IntOpt('max_attempts', default=3, min=1,
               help='Times an operation is started before a lost lease fails it.'),
    cfg.IntOpt('concurrency', default=2, min=1, help='Celery worker threads per cbr-worker.'),
    cfg.ListOpt('queues', default=['inventory', 'backup', 'restore'],
                help='Queues (job families) this worker consumes.'),
    cfg.IntOpt('batch_size', default=16, min=1, max=256,
               help='Most operations of one job type and project that one task message '
                    'carries, for the job types that run in batches (disk backups and '
                    'backup deletions that belong to no other job). 1 sends every '
                    'operation alone.'),
]

scheduler_opts = [
    cfg.FloatOpt('loop_interval', default=1.0, min=0.05,
                 help='Seconds between two passes of the scheduler loop.'),
    cfg.IntOpt('leader_lease_seconds', default=10, min=2,
               help='Leader lease length; a standby takes over within this time.'),
    cfg.IntOpt('redispatch_after', default=30, min=1,
               help='Seconds after which an operation that is still waiting for a worker is '
                    'published again (doubling each time, up to 16 times this value).'),
    cfg.IntOpt('heartbeat_stale_seconds', default=15, min=2,
               help='A service whose last heartbeat is older than this is reported down.'),
    cfg.FloatOpt('catch_up_wait', default=60.0, min=0,
                 help='Wall seconds one clock change may wait, while it fires the runs that '
                      'fell due, for backups that are over in domain time to end before '
                      'the next run of their vault fires (rule P10); runs still waiting '
                      'then are left to the scheduler, which fires them once those '
                      'backups have ended (a scheduler pass waits at most loop_interval).'),
]

volume_store_opts = [
    cfg.StrOpt('path', default='$state_path/volumes',
               help='Folder of the simulated disks and file systems (one sparse file each).'),
    cfg.IntOpt('block_size', default=65536, min=4096,
               help='Block size in bytes of simulated disks; the unit of changed-block '
                    'tracking. A power of two.'),
]

chunk_store_opts = [
    cfg.StrOpt('backend', default='local', choices=['local', 's3'],
               help='Where backup chunks are kept: a local folder, or any S3-compatible '
                    'object store.'),
    cfg.StrOpt('path', default='$state_path/chunks',
               help='Folder of the local chunk store.'),
    cfg.StrOpt('s3_endpoint_url', default=None,
               help='Endpoint URL of the S3-compatible store, for example '
                    'http://127.0.0.1:9000; unset means AWS\'s own endpoints.'),
    cfg.StrOpt('s3_bucket', default='cbr-sim-chunks',
               help='Bucket of the S3 chunk store; created when it does not exist.'),
    cfg.StrOpt('s3_prefix', default='',
               help='Prefix of every object key in the bucket, so installations can share one.'),
    cfg.StrOpt('s3_region', default='us-east-1', help='Region name given to the S3 client.'),
    cfg.StrOpt('s3_access_key_id', default=None, secret=True,
               help='Access key of the S3 store; unset uses boto3\'s usual credential chain.'),
    cfg.StrOpt('s3_secret_access_key', default=None, secret=True,
               help='Secret key of the S3 store.'),
    cfg.IntOpt('transfer_threads', default=3, min=1,
               help='Threads per job that hash, encrypt and move chunks in parallel.'),
    cfg.IntOpt('gc_interval', default=60, min=1,
               help='Seconds between two garbage-collection sweeps of the leading scheduler: '
                    'chunks no backup references are freed, and objects left by crashed '
                    'jobs are removed.'),
]

simulation_opts = [
    cfg.StrOpt('seed_password', default='Passw0rd-sim', secret=True,
               help='Password of the seeded users (demo, alt_demo, admin).'),
    cfg.StrOpt('seed_secret', default='cbr-sim',
               help='Secret that seeded ids and AK/SK pairs derive from; the same secret '
                    'gives the same credentials after every reset.'),
]

vbs_opts = [
    cfg.IntOpt('backup_quota', default=1000, min=-1,
               help='VBS v2 backups a project may hold (rule D5; -1: no limit). A backup '
                    'job that would go beyond it fails with VolumeBackup.0900. The real '
                    'service sets it per account on request; the simulator has one value '
                    'for every project.'),
]

csbs_opts = [
    cfg.IntOpt('backup_quota', default=600, min=-1,
               help='CSBS v1 backups (checkpoint items) a project may hold, whatever their '
                    'status (-1: no limit); a backup beyond it is refused with CSBS.9006. '
                    'The default is the quota of the CSBS API reference\'s example; the real '
                    'service sets it per account on request.'),
    cfg.IntOpt('capacity_quota_gb', default=-1, min=-1,
               help='GB of backup data a project\'s CSBS backups may use (-1: no limit, as '
                    'in the CSBS API reference\'s example); once it is used up, new backups '
                    'are refused with CSBS.9006.'),
]

_GROUPS = {
    'DEFAULT': default_opts,
    'database': database_opts,
    'messaging': messaging_opts,
    'api': api_opts,
    'identity': identity_opts,
    'worker': worker_opts,
    'scheduler': scheduler_opts,
    'volume_store': volume_store_opts,
    'chunk_store': chunk_store_opts,
    'simulation': simulation_opts,
    'vbs': vbs_opts,
    'csbs': csbs_opts,
}

for _group, _opts in _GROUPS.items():
    CONF.register_opts(_opts, group=None if _group == 'DEFAULT' else _group)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """Options by group, for ``oslo-config-generator``."""
    return [(group, list(opts)) for group, opts in _GROUPS.items()]


def load(argv: list[str] | None = None, *, config_file: str | None = None) -> cfg.ConfigOpts:
    """Parse the command line and the configuration file into ``CONF``.

    The file is ``config_file``, else ``$CBR_CONFIG_FILE``, else ``etc/cbr/cbr.conf`` below
    the project when it exists; with none of them the embedded defaults apply.
    """
    path = config_file or os.environ.get('CBR_CONFIG_FILE')
    if path is None:
        candidate = Path(CONF.pybasedir) / 'etc' / 'cbr' / 'cbr.conf'
        path = str(candidate) if candidate.exists() else None
    CONF(argv if argv is not None else [], project='cbr',
         default_config_files=[path] if path else [])
    Path(CONF.state_path).mkdir(parents=True, exist_ok=True)
    return CONF
