"""Fixtures of the fault tests: real receivers on loopback (the portal fixture is the suite's own)."""

from __future__ import annotations

import pytest

from tests.receivers import HookReceiver


@pytest.fixture
def hooks():
    recv = HookReceiver()
    yield recv
    recv.close()
