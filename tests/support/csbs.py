"""A CSBS v1 driver for functional tests: the calls a client such as Terraform's
``opentelekomcloud_csbs_backup_v1`` makes, on top of :class:`Cbr`'s inventory and data
helpers."""
from __future__ import annotations

from typing import Any

from cbr_common.csbs import PROVIDER_ID
from tests.support.cbr import Cbr
from tests.support.client import poll


class Csbs(Cbr):
    """One project's view of a stack's CSBS v1 API."""

    API = '/v1'
    CODE_PREFIX = 'CSBS.'

    def protect(self, server_id: str, **protect: Any) -> dict:
        """Start a one-off backup of the server; its backup record (``checkpoint``)."""
        return self.call('POST', 'providers/%s/resources/%s/action' % (PROVIDER_ID, server_id),
                         json={'protect': protect})['checkpoint']

    def items(self, **filters: Any) -> list[dict]:
        return self.call('GET', 'checkpoint_items', params=filters)['checkpoint_items']

    def item(self, item_id: str) -> dict:
        return self.call('GET', 'checkpoint_items/%s' % item_id)['checkpoint_item']

    def wait_item(self, item_id: str, statuses: tuple[str, ...] = ('available', 'error'),
                  timeout: float = 60.0) -> dict:
        return poll(lambda: self.item(item_id), lambda item: item['status'] in statuses,
                    timeout, 'checkpoint item %s did not reach %s' % (item_id, statuses))

    def backup(self, server_id: str, **protect: Any) -> dict:
        """Back up the server as Terraform does: protect, find the record's item, poll it
        until it is no longer ``protecting``; the item, which must be available."""
        record = self.protect(server_id, **protect)
        item, = self.items(checkpoint_id=record['id'])
        done = self.wait_item(item['id'])
        assert done['status'] == 'available', done
        return done

    def restore_body(self, item: dict, server_id: str, volumes: dict[str, str],
                     power_on: bool = True) -> dict:
        """The body of ``POST /restores`` mapping disk backup ids onto disk ids."""
        return {'restore': {
            'provider_id': PROVIDER_ID, 'checkpoint_id': item['checkpoint_id'],
            'parameters': {'checkpoint_item_id': item['id'], 'power_on': power_on,
                           'targets': {'server_id': server_id, 'volumes': [
                               {'backup_id': backup_id, 'volume_id': volume_id}
                               for backup_id, volume_id in volumes.items()]}}}}

    def restore(self, item: dict, server_id: str, volumes: dict[str, str],
                power_on: bool = True) -> dict:
        """Restore the item onto the server and wait for the end; the finished restore."""
        started = self.call('POST', 'restores',
                            json=self.restore_body(item, server_id, volumes, power_on))
        return poll(lambda: self.call('GET', 'restores/%s' % started['restore']['id'])['restore'],
                    lambda restore: restore['status'] != 'in_progress', 60,
                    'the restore did not finish')

    def volume_map(self, item: dict) -> dict[str, str]:
        """Each disk backup of the item onto its own disk."""
        return {v['id']: v['source_volume_id'] for v in item['extend_info']['volume_backups']}

    def delete_like_terraform(self, item: dict, timeout: float = 60.0) -> list[int]:
        """Delete the item's record as Terraform does: until ``GET`` of the item answers
        404, ``DELETE`` the record again, 400 and 409 meaning "still deleting"; the
        statuses the ``DELETE`` calls answered."""
        path = 'providers/%s/checkpoints/%s' % (PROVIDER_ID, item['checkpoint_id'])
        answered: list[int] = []

        def step() -> bool:
            if self.response('GET', 'checkpoint_items/%s' % item['id']).status_code == 404:
                return True
            response = self.response('DELETE', path)
            assert response.status_code in (200, 400, 404, 409), response.text
            answered.append(response.status_code)
            return response.status_code == 404
        poll(step, bool, timeout, 'checkpoint item %s was not deleted' % item['id'])
        return answered
