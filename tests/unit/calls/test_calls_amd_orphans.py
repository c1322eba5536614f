"""Which AMD objects a reconnect removes: those whose call is not detecting here."""

from __future__ import annotations

from controlplane.amd_live import object_ids
from controlplane.calls.amd_orphans import orphans, owner_of


def test_every_object_of_a_detection_names_its_call() -> None:
    for oid in object_ids("campaign-42").values():
        assert owner_of(oid) == "campaign-42"
    assert owner_of("campaign-42") is None
    assert owner_of("campaign-42-agent") is None
    assert owner_of("campaign-42-bridge") is None
    assert owner_of("x-amd-other") is None


def test_objects_of_a_call_still_detecting_are_kept_the_rest_removed() -> None:
    live, dead = object_ids("campaign-1"), object_ids("campaign-2")
    channels = [live["snoop"], live["media"], dead["snoop"], dead["media"], dead["ref"],
                "campaign-2", "platform-9.1", "platform-9.1-agent"]
    bridges = [live["bridge"], dead["bridge"], "platform-9.1-bridge"]
    hang_up, destroy = orphans(channels, bridges, lambda owner: owner == "campaign-1")
    assert hang_up == sorted([dead["snoop"], dead["media"], dead["ref"]])
    assert destroy == [dead["bridge"]]
