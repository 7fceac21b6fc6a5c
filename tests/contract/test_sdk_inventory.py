"""The official huaweicloudsdkevs and huaweicloudsdkecs clients, unmodified, against the stack."""
from __future__ import annotations

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkecs.v2 import (AttachServerVolumeOption, AttachServerVolumeRequest,
                                  AttachServerVolumeRequestBody, BatchStartServersOption,
                                  BatchStartServersRequest, BatchStartServersRequestBody,
                                  BatchStopServersOption, BatchStopServersRequest,
                                  BatchStopServersRequestBody, DetachServerVolumeRequest,
                                  EcsClient, ListServersDetailsRequest, ServerId,
                                  ShowServerRequest)
from huaweicloudsdkecs.v2 import ShowJobRequest as EcsShowJob
from huaweicloudsdkevs.v2 import (CreateVolumeOption, CreateVolumeRequest,
                                  CreateVolumeRequestBody, DeleteVolumeRequest, EvsClient,
                                  ListVolumesRequest, ShowJobRequest, ShowVolumeRequest)

from tests.support.client import poll


def clients(stack, name: str = 'demo') -> tuple[EvsClient, EcsClient, str]:
    entry = stack.project(name)
    credentials = BasicCredentials(entry['ak'], entry['sk'], entry['id'])
    evs = EvsClient.new_builder().with_credentials(credentials).with_endpoints(
        [stack.endpoint]).build()
    ecs = EcsClient.new_builder().with_credentials(credentials).with_endpoints(
        [stack.endpoint]).build()
    return evs, ecs, entry['id']


def finished(fetch) -> object:
    return poll(fetch, lambda job: job.status in ('SUCCESS', 'FAIL'), 30, 'job did not finish')


def raw_keys(response) -> set[str]:
    return set(response.to_json_object())


def test_evs_disk_lifecycle_through_the_sdk(stack):
    evs, _, _ = clients(stack)
    created = evs.create_volume(CreateVolumeRequest(body=CreateVolumeRequestBody(
        volume=CreateVolumeOption(availability_zone='sim-az-1', volume_type='SSD', size=10,
                                  name='sdk-disk', metadata={'__system__encrypted': '0'}))))
    assert created.job_id and len(created.volume_ids) == 1
    job = finished(lambda: evs.show_job(ShowJobRequest(job_id=created.job_id)))
    assert job.status == 'SUCCESS' and job.job_type == 'createVolume'
    assert job.entities.volume_id == created.volume_ids[0]

    shown = evs.show_volume(ShowVolumeRequest(volume_id=created.volume_ids[0]))
    assert shown.volume.status == 'available' and shown.volume.size == 10
    assert shown.volume.bootable == 'false' and shown.volume.metadata['__system__encrypted'] == '0'
    # every key of the raw volume JSON is one the SDK model knows (nothing lost)
    model_keys = set(type(shown.volume).attribute_map.values())
    assert set(shown.to_json_object()['volume']) <= model_keys

    listed = evs.list_volumes(ListVolumesRequest(name='sdk-disk', status='available'))
    assert created.volume_ids[0] in {v.id for v in listed.volumes}

    deleted = evs.delete_volume(DeleteVolumeRequest(volume_id=created.volume_ids[0]))
    assert finished(lambda: evs.show_job(ShowJobRequest(job_id=deleted.job_id))).status == 'SUCCESS'
    with pytest.raises(ClientRequestException) as error:
        evs.show_volume(ShowVolumeRequest(volume_id=created.volume_ids[0]))
    assert error.value.status_code == 404 and error.value.error_code == 'EVS.2007'
    assert error.value.request_id


def test_ecs_attach_stop_start_detach_through_the_sdk(stack):
    evs, ecs, _ = clients(stack)
    servers = ecs.list_servers_details(ListServersDetailsRequest(name='server-2')).servers
    server = servers[0]
    assert server.status == 'ACTIVE'
    created = evs.create_volume(CreateVolumeRequest(body=CreateVolumeRequestBody(
        volume=CreateVolumeOption(availability_zone='sim-az-1', volume_type='SAS', size=10))))
    finished(lambda: evs.show_job(ShowJobRequest(job_id=created.job_id)))
    disk = created.volume_ids[0]

    def ecs_job(job_id):
        return finished(lambda: ecs.show_job(EcsShowJob(job_id=job_id)))

    attach = ecs.attach_server_volume(AttachServerVolumeRequest(
        server_id=server.id, body=AttachServerVolumeRequestBody(
            volume_attachment=AttachServerVolumeOption(volume_id=disk))))
    assert ecs_job(attach.job_id).status == 'SUCCESS'
    attached = ecs.show_server(ShowServerRequest(server_id=server.id)).server
    assert disk in {v.id for v in attached.os_extended_volumesvolumes_attached}

    stop = ecs.batch_stop_servers(BatchStopServersRequest(body=BatchStopServersRequestBody(
        os_stop=BatchStopServersOption(servers=[ServerId(id=server.id)], type='SOFT'))))
    assert ecs_job(stop.job_id).status == 'SUCCESS'
    stopped = ecs.show_server(ShowServerRequest(server_id=server.id)).server
    assert stopped.status == 'SHUTOFF' and stopped.os_ext_st_spower_state == 4

    start = ecs.batch_start_servers(BatchStartServersRequest(body=BatchStartServersRequestBody(
        os_start=BatchStartServersOption(servers=[ServerId(id=server.id)]))))
    assert ecs_job(start.job_id).status == 'SUCCESS'
    assert ecs.show_server(ShowServerRequest(server_id=server.id)).server.status == 'ACTIVE'

    detach = ecs.detach_server_volume(DetachServerVolumeRequest(server_id=server.id,
                                                                volume_id=disk))
    assert ecs_job(detach.job_id).status == 'SUCCESS'
    assert evs.show_volume(ShowVolumeRequest(volume_id=disk)).volume.status == 'available'


def test_another_projects_credentials_cannot_see_demo_resources(stack):
    demo_evs, demo_ecs, _ = clients(stack, 'demo')
    alt_evs, alt_ecs, _ = clients(stack, 'alt_demo')
    demo_disk = demo_evs.list_volumes(ListVolumesRequest()).volumes[0].id
    demo_server = demo_ecs.list_servers_details(ListServersDetailsRequest()).servers[0].id
    for call in (lambda: alt_evs.show_volume(ShowVolumeRequest(volume_id=demo_disk)),
                 lambda: alt_ecs.show_server(ShowServerRequest(server_id=demo_server))):
        with pytest.raises(ClientRequestException) as error:
            call()
        assert error.value.status_code == 404
    alt_ids = {v.id for v in alt_evs.list_volumes(ListVolumesRequest()).volumes}
    assert demo_disk not in alt_ids and alt_ids


def test_ecs_creates_and_deletes_a_server_through_the_sdk(stack):
    from huaweicloudsdkecs.v2 import (CreatePostPaidServersRequest,
                                      CreatePostPaidServersRequestBody, DeleteServersRequest,
                                      DeleteServersRequestBody, PostPaidServer,
                                      PostPaidServerDataVolume, PostPaidServerNic,
                                      PostPaidServerRootVolume)

    evs, ecs, _ = clients(stack)
    alt_evs, alt_ecs, _ = clients(stack, 'alt_demo')
    created = ecs.create_post_paid_servers(CreatePostPaidServersRequest(
        body=CreatePostPaidServersRequestBody(server=PostPaidServer(
            name='sdk-server', image_ref='img-1', flavor_ref='s6.small.1', vpcid='vpc-1',
            nics=[PostPaidServerNic(subnet_id='subnet-1')],
            root_volume=PostPaidServerRootVolume(volumetype='SSD', size=40),
            data_volumes=[PostPaidServerDataVolume(volumetype='SAS', size=20)]))))
    [server_id] = created.server_ids
    job = finished(lambda: ecs.show_job(EcsShowJob(job_id=created.job_id)))
    assert job.status == 'SUCCESS' and job.job_type == 'createServer'
    server = ecs.show_server(ShowServerRequest(server_id=server_id)).server
    assert server.status == 'ACTIVE' and len(server.os_extended_volumesvolumes_attached) == 2
    disks = [v.id for v in server.os_extended_volumesvolumes_attached]
    assert {evs.show_volume(ShowVolumeRequest(volume_id=d)).volume.status for d in disks} == {'in-use'}
    with pytest.raises(ClientRequestException) as error:
        alt_ecs.show_server(ShowServerRequest(server_id=server_id))
    assert error.value.status_code == 404

    deleted = ecs.delete_servers(DeleteServersRequest(body=DeleteServersRequestBody(
        servers=[ServerId(id=server_id)], delete_volume=True)))
    assert finished(lambda: ecs.show_job(EcsShowJob(job_id=deleted.job_id))).status == 'SUCCESS'
    for disk in disks:
        with pytest.raises(ClientRequestException) as error:
            evs.show_volume(ShowVolumeRequest(volume_id=disk))
        assert error.value.status_code == 404
