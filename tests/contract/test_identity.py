"""Keystone v3 login with keystoneauth1 and openstacksdk/otcextensions, unmodified."""
from __future__ import annotations

import pytest
import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.exceptions import Unauthorized
from keystoneauth1.identity import v3


def password_auth(stack, name: str = 'demo', password: str | None = None) -> v3.Password:
    entry = stack.project(name)
    domain = stack.credentials['domain']
    return v3.Password(auth_url=stack.credentials['identity_url'], username=entry['user'],
                       password=password or entry['password'], user_domain_name=domain,
                       project_name=entry['name'], project_domain_name=domain)


def test_keystoneauth_gets_a_project_token_and_a_catalog(stack):
    sess = ks_session.Session(auth=password_auth(stack))
    demo = stack.project('demo')
    assert sess.get_project_id() == demo['id']
    for service_type, path in (('cbr', '/v3/'), ('data-protect', '/v1/'), ('vbs', '/v2/'),
                               ('evs', '/v2/'), ('ecs', '/v1/'), ('sfs-turbo', '/v1/')):
        url = sess.get_endpoint(service_type=service_type, interface='public')
        assert url == stack.endpoint + path + demo['id'], service_type
    # the token works on a service call
    response = sess.get(stack.endpoint + '/v2/%s/cloudvolumes/detail' % demo['id'])
    assert response.status_code == 200 and response.json()['count'] >= 3


def test_wrong_password_is_401(stack):
    sess = ks_session.Session(auth=password_auth(stack, password='wrong'))
    with pytest.raises(Unauthorized):
        sess.get_token()


def test_a_bad_token_is_refused_with_a_gateway_error(stack):
    response = requests.get(stack.endpoint + '/v2/%s/cloudvolumes/detail' %
                            stack.project('demo')['id'],
                            headers={'X-Auth-Token': 'not-a-token'}, timeout=10)
    assert response.status_code == 401 and response.json()['error_code'] == 'APIGW.0301'


def test_openstacksdk_with_otcextensions_registers_against_the_catalog(stack):
    import openstack
    from otcextensions import sdk

    entry, domain = stack.project('demo'), stack.credentials['domain']
    conn = openstack.connect(auth_url=stack.credentials['identity_url'],
                             username=entry['user'], password=entry['password'],
                             project_name=entry['name'], user_domain_name=domain,
                             project_domain_name=domain, region_name=stack.credentials['region'],
                             load_yaml_config=False, load_envvars=False)
    sdk.register_otc_extensions(conn)
    assert conn.current_project_id == entry['id']
    assert conn.endpoint_for('vbs') == stack.endpoint + '/v2/' + entry['id']
    assert conn.endpoint_for('data-protect') == stack.endpoint + '/v1/' + entry['id']


def test_admin_token_reaches_sim_and_member_token_does_not(stack):
    def token(name):
        return ks_session.Session(auth=password_auth(stack, name)).get_token()

    url = stack.endpoint + '/sim/v1/clock'
    assert requests.get(url, headers={'X-Auth-Token': token('admin')}, timeout=10).status_code == 200
    assert requests.get(url, headers={'X-Auth-Token': token('demo')}, timeout=10).status_code == 403
