"""The ``AutoBackup.NNNN`` codes of VBS backup policy errors (docs/errors.md).

The codes and their meanings are the OTC VBS API reference's error code table; the
policy API answers every error with one of them, in the VBS body
``{"error": {"code", "message"}}``.  A request field that fails validation gets the code
of that field (:data:`FIELD_CODES`), any other problem the code of its kind
(:data:`KIND_CODES`).
"""
from __future__ import annotations

OBJECT_EMPTY = 'AutoBackup.0001'
BAD_JSON = 'AutoBackup.0008'
INTERNAL = 'AutoBackup.0009'
DEFAULT_POLICY = 'AutoBackup.0100'
NAME = 'AutoBackup.0102'
START_TIME = 'AutoBackup.0103'
STATUS = 'AutoBackup.0104'
FIRST_OF_MONTH = 'AutoBackup.0105'
INTERVAL = 'AutoBackup.0106'
RETENTION = 'AutoBackup.0107'
POLICY_QUOTA = 'AutoBackup.0203'
POLICY_NOT_FOUND = 'AutoBackup.0205'
DISK_STATE = 'AutoBackup.0206'
RESOURCES_EMPTY = 'AutoBackup.0207'
RESOURCE_TYPE = 'AutoBackup.0211'
UNAUTHORIZED = 'AutoBackup.0213'
TAG = 'AutoBackup.0214'
TAG_LIMIT = 'AutoBackup.0215'
TAG_NOT_FOUND = 'AutoBackup.0216'
ACTION = 'AutoBackup.0222'
POLICY_RUNNING = 'AutoBackup.0225'
TIME_ZONE = 'AutoBackup.0226'
RESOURCE_INVALID = 'AutoBackup.1400'
EXECUTE_FAILED = 'AutoBackup.1700'

KIND_CODES = {'invalid': OBJECT_EMPTY, 'bad_request': BAD_JSON, 'not_found': POLICY_NOT_FOUND,
              'conflict': POLICY_RUNNING, 'quota': POLICY_QUOTA, 'forbidden': UNAUTHORIZED,
              'unauthenticated': UNAUTHORIZED, 'internal': INTERNAL}

# the request field (its last named part) -> the code of a bad value in it
FIELD_CODES = {'body': BAD_JSON, 'backup_policy_name': NAME, 'start_time': START_TIME,
               'status': STATUS, 'remain_first_backup_of_curMonth': FIRST_OF_MONTH,
               'frequency': INTERVAL, 'week_frequency': INTERVAL, 'rentention_num': RETENTION,
               'rentention_day': RETENTION, 'time_zone': TIME_ZONE, 'tags': TAG, 'tag': TAG,
               'key': TAG, 'value': TAG, 'action': ACTION, 'resources': RESOURCES_EMPTY,
               'resource_type': RESOURCE_TYPE, 'resource_id': RESOURCE_INVALID}


def for_field(field: str | None) -> str | None:
    """The code of a bad value in ``field`` (``scheduled_policy.start_time``,
    ``tags.0.key`` …), or None when the field has none of its own."""
    for part in reversed((field or '').split('.')):
        if part in FIELD_CODES:
            return FIELD_CODES[part]
    return None
