"""A wait that times out on a failed image pull says how to carry the images in
(`labkit images pull|save|load`); other timeouts keep their own fix only."""

from __future__ import annotations

import pytest

from labkit.cluster.waits import VirtualClock, wait_for
from labkit.errors import ClusterNotReady


@pytest.mark.parametrize(
    ("message", "pull"),
    [
        ("pod prod/web: container web: ImagePullBackOff (Back-off pulling image)", True),
        ("pod prod/web: container web: ErrImagePull (proxyconnect tcp: dial tcp)", True),
        ("pod prod/web: container web: CrashLoopBackOff", False),
    ],
)
def test_wait_timeout_on_a_failed_pull_points_to_labkit_images(message: str, pull: bool) -> None:
    clock = VirtualClock()
    with pytest.raises(ClusterNotReady) as err:
        wait_for(
            "lab pods",
            lambda: (False, message),
            timeout=10,
            fix="see the pod",
            clock=clock,
            sleep=clock.sleep,
        )
    text = str(err.value)
    assert "fix: see the pod" in text
    assert ("labkit images load" in text) is pull
