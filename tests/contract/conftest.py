"""Fixtures of the contract tests: official SDK clients pointed at the shared stack."""
from __future__ import annotations

import huaweicloudsdkcbr.v1 as cbr_sdk
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials

from tests.support.cbr import Cbr


def cbr_client(stack, project: str = 'demo') -> cbr_sdk.CbrClient:
    """An unmodified huaweicloudsdkcbr client of ``project`` on ``stack``."""
    entry = stack.project(project)
    return (cbr_sdk.CbrClient.new_builder()
            .with_credentials(BasicCredentials(entry['ak'], entry['sk'], entry['id']))
            .with_endpoints([stack.endpoint]).build())


@pytest.fixture
def client(stack) -> cbr_sdk.CbrClient:
    return cbr_client(stack)


@pytest.fixture
def cbr(stack) -> Cbr:
    return Cbr(stack)
