"""SQLAlchemy models of the shared database.

Domain instants (``created_at``, ``begin_time`` …) come from the shared clock and are
stored as UTC datetimes.  Infrastructure instants (leases, heartbeats, publish times,
token expiry) are wall-clock epoch seconds stored as floats, so a jump of the domain clock
never expires a lease.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer,
                        LargeBinary, String, Text, UniqueConstraint)
from sqlalchemy.dialects.mysql import LONGBLOB
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship

from cbr_common.db.types import UTCDateTime


class Base(DeclarativeBase):
    """Declarative base of every table."""


class SimClock(Base):
    """The shared clock's single row (see :mod:`cbr_common.clock`)."""

    __tablename__ = 'sim_clock'
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    anchor_real: Mapped[float] = mapped_column(Float)
    anchor_sim: Mapped[float] = mapped_column(Float)
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    version: Mapped[int] = mapped_column(Integer, default=0)
    job_durations: Mapped[str] = mapped_column(String(16), default='instant',
                                               server_default='instant')


# -- identity ------------------------------------------------------------------------------
class Project(Base):
    """A tenant: every resource belongs to exactly one project."""

    __tablename__ = 'projects'
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    domain_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class User(Base):
    """A user of one project, with roles and a password for Keystone-style login."""

    __tablename__ = 'users'
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey('projects.id', ondelete='CASCADE'))
    password_hash: Mapped[str] = mapped_column(String(128))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    project: Mapped[Project] = relationship()


class Credential(Base):
    """An AK/SK pair of a user; requests signed with it act for the user's project."""

    __tablename__ = 'credentials'
    access_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_key: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(ForeignKey('users.id', ondelete='CASCADE'), index=True)
    user: Mapped[User] = relationship()


class Token(Base):
    """An issued X-Auth-Token, stored as its SHA-256 digest."""

    __tablename__ = 'tokens'
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey('users.id', ondelete='CASCADE'), index=True)
    issued_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    user: Mapped[User] = relationship()


# -- operations (jobs) and audit -----------------------------------------------------------
class Operation(Base):
    """One asynchronous job: the outbox row, the lease and the job API's record at once."""

    __tablename__ = 'operations'
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(32), index=True)
    job_type: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    entities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fail_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    begin_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dispatched_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    dispatch_count: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    vault_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    resource_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    parent_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # the simulated instant its work is done under the clock's job-duration model
    finishes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index('ix_operations_status_dispatched', 'status', 'dispatched_at'),
        Index('ix_operations_status_lease', 'status', 'lease_expires_at'),
        Index('ix_operations_end_time', 'end_time'),
    )


class StatusEvent(Base):
    """Audit trace: one row per state change, written in the transaction that made it."""

    __tablename__ = 'status_events'
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    operation_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


# -- simulated inventory -------------------------------------------------------------------
class Server(Base):
    """A simulated ECS server."""

    __tablename__ = 'servers'
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey('projects.id', ondelete='CASCADE'),
                                            index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(255), default='')
    status: Mapped[str] = mapped_column(String(32))
    task_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    flavor_id: Mapped[str] = mapped_column(String(64))
    image_id: Mapped[str] = mapped_column(String(64))
    availability_zone: Mapped[str] = mapped_column(String(64))
    metadata_: Mapped[dict[str, str]] = mapped_column('metadata', JSON, default=dict)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    fault: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attachments: Mapped[list['VolumeAttachment']] = relationship(
        back_populates='server', order_by='VolumeAttachment.device', passive_deletes=True)


class Volume(Base):
    """A simulated EVS disk; its bytes live in the volume store under the same id."""

    __tablename__ = 'volumes'
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey('projects.id', ondelete='CASCADE'),
                                            index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(255), default='')
    status: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    volume_type: Mapped[str] = mapped_column(String(32))
    availability_zone: Mapped[str] = mapped_column(String(64))
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    multiattach: Mapped[bool] = mapped_column(Boolean, default=False)
    metadata_: Mapped[dict[str, str]] = mapped_column('metadata', JSON, default=dict)
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attachments: Mapped[list['VolumeAttachment']] = relationship(back_populates='volume',
                                                                 passive_deletes=True)


class VolumeAttachment(Base):
    """A disk attached to a server at a device name; boot index 0 is the system disk."""

    __tablename__ = 'volume_attachments'
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(ForeignKey('volumes.id', ondelete='CASCADE'),
                                           index=True)
    server_id: Mapped[str] = mapped_column(ForeignKey('servers.id', ondelete='CASCADE'),
                                           index=True)
    device: Mapped[str] = mapped_column(String(32))
    boot_index: Mapped[int] = mapped_column(Integer)
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    attached_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    volume: Mapped[Volume] = relationship(back_populates='attachments')
    server: Mapped[Server] = relationship(back_populates='attachments')

    __table_args__ = (UniqueConstraint('server_id', 'device'),)


class Share(Base):
    """A simulated SFS Turbo file system; its bytes live in the volume store."""

    __tablename__ = 'shares'
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey('projects.id', ondelete='CASCADE'),
                                            index=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(255), default='')
    status: Mapped[str] = mapped_column(String(32))
    sub_status: Mapped[str] = mapped_column(String(32), default='')
    size: Mapped[int] = mapped_column(Integer)
    share_proto: Mapped[str] = mapped_column(String(16), default='NFS')
    share_type: Mapped[str] = mapped_column(String(32), default='STANDARD')
    availability_zone: Mapped[str] = mapped_column(String(64))
    vpc_id: Mapped[str] = mapped_column(String(36), default='')
    subnet_id: Mapped[str] = mapped_column(String(36), default='')
    security_group_id: Mapped[str] = mapped_column(String(36), default='')
    metadata_: Mapped[dict[str, str]] = mapped_column('metadata', JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Image(Base):
    """A simulated IMS full-server image made from a server backup (rule R6); it holds no
    data of its own and keeps its backup from being deleted (rule B7)."""

    __tablename__ = 'images'
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey('projects.id', ondelete='CASCADE'),
                                            index=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(1024), default='')
    status: Mapped[str] = mapped_column(String(16))
    backup_id: Mapped[str | None] = mapped_column(String(36), nullable=True, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ChangeStamp(Base):
    """A random token replaced in every transaction that changes a project's inventory.

    Readers that cache what they render from the inventory compare tokens to know the
    cache is still true (see :mod:`cbr_common.db.changes`).
    """

    __tablename__ = 'change_stamps'
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    stamp: Mapped[str] = mapped_column(String(32))


# -- backups and their data ---------------------------------------------------------------
Blob = LargeBinary().with_variant(LONGBLOB(), 'mysql', 'mariadb')
"""Binary column type that holds more than 64 KiB on every backend."""


class Vault(Base):
    """A backup vault: backups of one resource type, stored within a capacity.

    ``policy_id`` is the one backup policy applied to it (rule V11); ``tags`` and
    ``bind_rules`` are lists of ``{"key", "value"}`` as the API shows them.  ``family`` is
    ``cbr`` for a CBR v3 vault, or ``csbs``/``vbs`` for a project's service vault
    (:mod:`cbr_common.backups.families`), which no CBR v3 call shows.
    """

    __tablename__ = 'vaults'
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey('projects.id', ondelete='CASCADE'),
                                            index=True)
    name: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    description: Mapped[str] = mapped_column(String(255), default='')
    consistent_level: Mapped[str] = mapped_column(String(32), default='crash_consistent')
    charging_mode: Mapped[str] = mapped_column(String(16), default='post_paid')
    policy_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    auto_bind: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_expand: Mapped[bool] = mapped_column(Boolean, default=False)
    smn_notify: Mapped[bool] = mapped_column(Boolean, default=True)
    threshold: Mapped[int] = mapped_column(Integer, default=80)
    bind_rules: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    tags: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    user_id: Mapped[str] = mapped_column(String(32), default='')
    family: Mapped[str] = mapped_column(String(8), default='cbr', server_default='cbr')
    next_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True,
                                                            index=True)
    resources: Mapped[list['VaultResource']] = relationship(
        order_by='VaultResource.created_at', passive_deletes=True)

    __table_args__ = (Index('ix_vaults_project_family', 'project_id', 'family'),)


class VaultResource(Base):
    """A resource associated with a vault.  The resource id is the key, so a resource
    belongs to at most one vault, whoever asks first (rule V4)."""

    __tablename__ = 'vault_resources'
    resource_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    vault_id: Mapped[str] = mapped_column(ForeignKey('vaults.id', ondelete='CASCADE'),
                                          index=True)
    project_id: Mapped[str] = mapped_column(String(32))
    resource_type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255), default='')
    extra_info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    auto_protect: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Policy(Base):
    """A backup (or replication) policy: when to back up and how long to keep.

    ``family`` is the API family that owns it (``cbr``, ``csbs`` or ``vbs``); a CSBS or
    VBS policy is bound to resources through its own service vault
    (:mod:`cbr_common.policies.bindings`).  ``family_fields`` holds what that family's API
    shows and the core does not read (a CSBS scheduled operation's id and name, a VBS
    schedule as it was given).
    """

    __tablename__ = 'policies'
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey('projects.id', ondelete='CASCADE'),
                                            index=True)
    name: Mapped[str] = mapped_column(String(255))
    family: Mapped[str] = mapped_column(String(8), default='cbr', server_default='cbr')
    description: Mapped[str] = mapped_column(String(255), default='', server_default='')
    tags: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, nullable=True,
                                                              default=list)
    family_fields: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True,
                                                                 default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    operation_type: Mapped[str] = mapped_column(String(16))
    operation_definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    trigger_id: Mapped[str] = mapped_column(String(36))
    patterns: Mapped[list[str]] = mapped_column(JSON, default=list)
    start_window_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # cycles count from here (rules P5, P14); None: from created_at
    cycle_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PolicyRun(Base):
    """One scheduled run of a policy on a vault, claimed once under its unique key."""

    __tablename__ = 'policy_runs'
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    policy_id: Mapped[str] = mapped_column(String(36))
    vault_id: Mapped[str] = mapped_column(String(36), index=True)
    scheduled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    checkpoint_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    fired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint('policy_id', 'vault_id', 'scheduled_at'),)


class Checkpoint(Base):
    """One backup request on a vault (a restore point): the backups it created, and the
    resources it skipped with the reason."""

    __tablename__ = 'checkpoints'
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey('projects.id', ondelete='CASCADE'),
                                            index=True)
    vault_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(255), default='')
    description: Mapped[str] = mapped_column(String(255), default='')
    retention_duration_days: Mapped[int] = mapped_column(Integer, default=-1)
    skipped: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Backup(Base):
    """One backup of one resource; a server's backup has one child backup per disk.

    A device backup (a disk or a file system) carries its data: the snapshot it read
    (``snapshot_token``, write ``generation``), the backup it is incremental to
    (``base_backup_id``, null for a full one) and its ``manifest``, which maps every
    non-zero block of the device to a chunk of the vault (see
    :mod:`cbr_common.dataplane.manifest`).  ``added_bytes`` is what it added to the vault.
    """

    __tablename__ = 'backups'
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey('projects.id', ondelete='CASCADE'),
                                            index=True)
    vault_id: Mapped[str] = mapped_column(ForeignKey('vaults.id'), index=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey('backups.id'), nullable=True,
                                                  index=True)
    resource_id: Mapped[str] = mapped_column(String(36), index=True)
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_size: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    incremental: Mapped[bool] = mapped_column(Boolean, default=False)
    full_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    operation_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    fail_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    protected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    base_backup_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    snapshot_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    generation: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    device_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    added_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    manifest: Mapped[bytes | None] = deferred(mapped_column(Blob, nullable=True))
    description: Mapped[str] = mapped_column(String(255), default='')
    resource_name: Mapped[str] = mapped_column(String(255), default='')
    resource_az: Mapped[str] = mapped_column(String(64), default='')
    checkpoint_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    policy_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    auto_trigger: Mapped[bool] = mapped_column(Boolean, default=False)
    expired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    family: Mapped[str] = mapped_column(String(8), default='cbr', server_default='cbr')
    tags: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, nullable=True, default=list)
    children: Mapped[list['Backup']] = relationship(order_by='Backup.resource_id')

    __table_args__ = (Index('ix_backups_vault_resource', 'vault_id', 'resource_id', 'status'),
                      Index('ix_backups_expired_at', 'expired_at'),
                      Index('ix_backups_project_family', 'project_id', 'family'))


class BackupMember(Base):
    """A project a backup is shared with, and what it answered (rules S1–S3)."""

    __tablename__ = 'backup_members'
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    backup_id: Mapped[str] = mapped_column(ForeignKey('backups.id', ondelete='CASCADE'),
                                           index=True)
    project_id: Mapped[str] = mapped_column(String(32))
    dest_project_id: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16))
    vault_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint('backup_id', 'dest_project_id'),)


class Chunk(Base):
    """A stored block of backup data in one vault, counted by its references.

    ``refs`` counts the committed backups whose manifest holds the chunk plus the pins of
    running jobs (:class:`ChunkPin`); a chunk at 0 may be freed.  Once ``stored``, its
    sealed bytes are ``stored_size`` bytes at ``pack_offset`` in the object of pack ``pack``.
    """

    __tablename__ = 'chunks'
    vault_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    plain_size: Mapped[int] = mapped_column(Integer)
    stored_size: Mapped[int] = mapped_column(Integer)
    refs: Mapped[int] = mapped_column(Integer)
    stored: Mapped[bool] = mapped_column(Boolean, default=False)
    pack: Mapped[str | None] = mapped_column(String(32), nullable=True)
    pack_offset: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index('ix_chunks_pack', 'vault_id', 'pack'),)


class Pack(Base):
    """One object of the chunk store: the chunks one batch of a job stored together.

    The row is committed before the object is written, so an object without a row is
    garbage; the row goes once its job has ended and no chunk lives in the pack.
    """

    __tablename__ = 'packs'
    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    vault_id: Mapped[str] = mapped_column(String(36))
    operation_id: Mapped[str] = mapped_column(String(32), index=True)


class ChunkPin(Base):
    """References a running job holds on chunks (raw 32-byte digests, concatenated).

    Each pinned digest added one to its chunk's ``refs``; the job's commit turns pins
    into manifest references, and its failure gives them back.
    """

    __tablename__ = 'chunk_pins'
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_id: Mapped[str] = mapped_column(String(32), index=True)
    vault_id: Mapped[str] = mapped_column(String(36))
    digests: Mapped[bytes] = mapped_column(Blob)


# -- services ------------------------------------------------------------------------------
class ServiceHeartbeat(Base):
    """Liveness of one running process (api, scheduler or worker)."""

    __tablename__ = 'service_heartbeats'
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LeaderLease(Base):
    """A named lease that at most one process holds at a time (the scheduler leader)."""

    __tablename__ = 'leader_leases'
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[float] = mapped_column(Float)


class Fault(Base):
    """An injected fault: work reaching ``point`` is delayed or fails, ``remaining`` times."""

    __tablename__ = 'faults'
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    point: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(16))
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    remaining: Mapped[int] = mapped_column(Integer, default=1)
