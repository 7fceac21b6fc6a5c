"""A VBS backup job whose worker dies: the job API follows it to its end.

The job is held in the middle of moving its blocks, every worker is killed with SIGKILL,
and a new worker is started; the lease of the dead worker runs out, the operation is sent
again and the retry finishes it: the job API says SUCCESS, and the backup restores the
disk's bytes.  (A job that runs out of attempts fails with the reason ``worker lost``:
tests/functional/test_backup_crashes.py.)
"""
from __future__ import annotations

from tests.support import crashes
from tests.support.vbs import Vbs


def test_a_backup_job_whose_worker_dies_ends_and_the_job_api_says_how(fresh_stack_factory):
    # rule: D3
    stack = fresh_stack_factory(settings=crashes.settings())
    vbs = Vbs(stack)
    disk = vbs.cbr.disk(10)
    vbs.cbr.write(disk, 0, bytes(range(256)) * 4096)
    crashes.hold(stack, 'backup.batch')
    job_id = vbs.create(disk, name='survivor')
    assert vbs.client.wait_job(job_id, done=('RUNNING', 'SUCCESS'))['status'] == 'RUNNING'
    crashes.kill_workers_when_held(stack)
    crashes.start_worker(stack)
    job = vbs.job(job_id, timeout=60)
    assert (job['status'], job['job_type'], job['fail_reason']) == (
        'SUCCESS', 'bksCreateBackup', None), job
    backup = vbs.show(job['entities']['backup_id'])
    assert backup['status'] == 'available', backup
    digest = vbs.cbr.checksum(disk)
    vbs.cbr.write(disk, 0, bytes(1 << 20))
    assert vbs.restore(backup['id'], disk)['status'] == 'SUCCESS'
    assert vbs.cbr.checksum(disk) == digest
    assert crashes.clean_after_sweep(stack)['clean']
