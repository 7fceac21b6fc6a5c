"""Checks that a raw JSON body and an official SDK model agree: every key of the body is
one the model (and each nested model) knows, so the SDK loses no field, and every
attribute the model declares is sent."""
from __future__ import annotations

import re
from types import ModuleType
from typing import Any

import huaweicloudsdkcbr.v1 as cbr_sdk

_LIST = re.compile(r'^list\[(.+)\]$')
_MAP = re.compile(r'^dict\(str, (.+)\)$')
PRIMITIVES = frozenset({'str', 'int', 'bool', 'float', 'object', 'datetime', 'date'})


def mismatches(module: ModuleType, model: str, raw: Any, path: str = '',
               optional: frozenset[str] = frozenset()) -> list[str]:
    """Where ``raw`` and the model named ``model`` of ``module`` differ (empty: they agree).

    ``optional`` names attributes (as ``Model.attribute``) that may be absent.
    """
    if raw is None or model in PRIMITIVES:
        return []
    listed = _LIST.match(model) or _MAP.match(model)
    if listed:
        items = raw if isinstance(raw, list) else list(raw.values())
        return [problem for index, item in enumerate(items)
                for problem in mismatches(module, listed.group(1), item,
                                          '%s[%d]' % (path, index), optional)]
    cls = getattr(module, model)
    if not isinstance(raw, dict):
        return ['%s: %s expects an object, got %r' % (path or '.', model, raw)]
    by_json = {json_name: attribute for attribute, json_name in cls.attribute_map.items()}
    problems = ['%s.%s: not in %s' % (path, key, model) for key in raw if key not in by_json]
    problems += ['%s.%s: %s.%s is not sent' % (path, json_name, model, attribute)
                 for attribute, json_name in cls.attribute_map.items()
                 if json_name not in raw and '%s.%s' % (model, attribute) not in optional]
    for key, value in raw.items():
        if key in by_json:
            problems += mismatches(module, cls.openapi_types[by_json[key]], value,
                                   '%s.%s' % (path, key), optional)
    return problems


# Attributes the CBR v3 answers may leave out: pre-paid order results, optional extras,
# and the operation-definition and task blocks that only some policies and tasks have.
CBR_OPTIONAL = frozenset({
    'CreateVaultResponse.orders', 'CreateVaultResponse.ret_code', 'CreateVaultResponse.err_text',
    'CreateVaultResponse.error_code', 'ResourceExtraInfo.include_volumes',
    'ResourceExtraInfo.exclude_volumes', 'Resource.extra_info',
    'VaultPolicyResp.destination_vault_id', 'PolicyAssociateVault.destination_vault_id',
    *('PolicyoODCreate.%s' % name for name in cbr_sdk.PolicyoODCreate.attribute_map),
    *('OpExtraInfo.%s' % name for name in ('backup', 'delete', 'sync', 'remove_resources',
                                            'replication', 'restore', 'vault_delete',
                                            'update_expiration_time')),
})


def check_cbr(response: Any, *, model: str | None = None,
              optional: frozenset[str] = frozenset()) -> None:
    """The raw body of a huaweicloudsdkcbr ``response`` matches its SDK model exactly
    (``optional`` names further attributes that may be absent)."""
    problems = mismatches(cbr_sdk, model or type(response).__name__, response.to_json_object(),
                          optional=CBR_OPTIONAL | optional)
    assert not problems, problems
