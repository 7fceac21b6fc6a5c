"""Simulator data API: write, read, fill and checksum the bytes of simulated devices.

Admin only (the auth middleware requires the admin role under ``/sim/``).  ``kind`` is
``volumes`` (EVS disks) or ``shares`` (SFS Turbo file systems); the device is the volume
store device of the same id, ``size`` GB (GiB) long:

* ``PUT  /sim/v1/{project_id}/{kind}/{id}/data?offset=N`` -- raw body written at N; 204.
* ``GET  /sim/v1/{project_id}/{kind}/{id}/data?offset=N&length=M`` -- raw bytes
  (``application/octet-stream``), at most 64 MiB per request.
* ``POST /sim/v1/{project_id}/{kind}/{id}/fill`` -- ``{"seed", "fraction"}`` fills that
  fraction of the blocks with seeded pseudo-random data; ``{"written_bytes"}``.
* ``GET  /sim/v1/{project_id}/{kind}/{id}/checksum`` -- ``{"digest", "size",
  "allocated_bytes"}``; equal digests mean equal contents.

The row must exist in the project (404) and be settled, with its device in the store at
its full size (409 otherwise).
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from cbr_api.errors import use_style
from cbr_api.validation import parse_body, query_int
from cbr_common.dataplane.volume_store import GIB, VolumeStore
from cbr_common.db.engine import read_scope
from cbr_common.db.models import Share, Volume
from cbr_common.errors import InvalidInput, NotFound, WrongState

blueprint = Blueprint('sim_data', __name__)
use_style(blueprint, 'sim')

MAX_READ_BYTES = 64 * 1024 * 1024
_DEVICE_PATH = '/sim/v1/<project_id>/<any(volumes, shares):kind>/<device_id>'
_MODELS: dict[str, type[Volume] | type[Share]] = {'volumes': Volume, 'shares': Share}
_NOUNS = {'volumes': 'volume', 'shares': 'share'}
_UNSETTLED = frozenset({'creating', 'deleting'})


class FillRequest(BaseModel):
    """Body of ``POST .../fill``."""

    model_config = ConfigDict(extra='forbid')
    seed: StrictInt
    fraction: float = Field(ge=0.0, le=1.0, strict=True)


def _store_for(project_id: str, kind: str, device_id: str) -> VolumeStore:
    """The volume store, once the row and its device are known to be usable."""
    noun = _NOUNS[kind]
    with read_scope() as session:
        row = session.get(_MODELS[kind], device_id)
        if row is None or row.project_id != project_id:
            raise NotFound('%s %s not found' % (noun, device_id), field='%s_id' % noun)
        status, size_bytes = row.status, row.size * GIB
    if status in _UNSETTLED:
        raise WrongState('%s %s is %s; its data cannot be used yet' % (noun, device_id, status),
                         field='status')
    store = VolumeStore.from_config()
    if not store.exists(device_id) or store.size(device_id) != size_bytes:
        raise WrongState('%s %s (status %s) has no device of %d bytes in the volume store'
                         % (noun, device_id, status, size_bytes), field='status')
    return store


@blueprint.put(_DEVICE_PATH + '/data')
def write_data(project_id: str, kind: str, device_id: str) -> Response:
    """Write the raw request body at ``offset``."""
    offset = query_int('offset', 0)
    store = _store_for(project_id, kind, device_id)
    store.write(device_id, offset, request.get_data(cache=True))
    return Response(status=204)


@blueprint.get(_DEVICE_PATH + '/data')
def read_data(project_id: str, kind: str, device_id: str) -> Response:
    """Read ``length`` bytes at ``offset``."""
    offset = query_int('offset', 0)
    length = query_int('length', maximum=MAX_READ_BYTES)
    if length is None:
        raise InvalidInput('length is required', field='length')
    store = _store_for(project_id, kind, device_id)
    return Response(store.read(device_id, offset, length),
                    mimetype='application/octet-stream')


@blueprint.post(_DEVICE_PATH + '/fill')
def fill(project_id: str, kind: str, device_id: str) -> Response:
    """Fill a fraction of the device's blocks with seeded pseudo-random data."""
    body = parse_body(FillRequest)
    store = _store_for(project_id, kind, device_id)
    return jsonify({'written_bytes': store.fill(device_id, body.seed, body.fraction)})


@blueprint.get(_DEVICE_PATH + '/checksum')
def checksum(project_id: str, kind: str, device_id: str) -> Response:
    """The device's content digest, size and allocated bytes."""
    store = _store_for(project_id, kind, device_id)
    return jsonify(dict(store.checksum(device_id)))
