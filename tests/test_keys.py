"""The Redis key registry: /delete's patterns take one user's keys and nobody else's."""

from __future__ import annotations

import fnmatch

from core import keys


def test_erase_patterns_name_the_user_as_a_whole_part() -> None:
    mine = [k for k in keys.REGISTRY if k.erase]
    assert mine and all(k.names == "user" for k in mine)
    parts = {"user_id": 12, "chat_id": 12, "day": "20261130", "part": "state", "job_id": "note-5"}
    for key in mine:
        own = key(**{name: parts[name] for name in parts if "{" + name + "}" in key.shape})
        assert any(fnmatch.fnmatchcase(own, pattern) for pattern in keys.user_keys(12)), own
        other = own.replace("12", "123")
        assert not any(fnmatch.fnmatchcase(other, p) for p in keys.user_keys(12)), other


def test_every_key_belongs_to_its_own_declaration() -> None:
    assert keys.declared("govorun:photo:5:candidate:meta") is keys.PHOTO_CANDIDATE_META
    assert keys.declared("govorun:flood:5:warned") is keys.FLOOD_WARNED
    assert keys.declared("fsm:5:5:data") is keys.FSM
    assert keys.declared("govorun:something-new:5") is None
    assert len({k.shape for k in keys.REGISTRY}) == len(keys.REGISTRY)


def test_the_running_job_marker_survives_delete() -> None:
    """A running job must be able to finish: its marker lapses or the worker removes it."""
    marker = keys.ACTIVE_JOB(user_id=12)
    assert not any(fnmatch.fnmatchcase(marker, p) for p in keys.user_keys(12))


def test_what_delete_finds_through_the_job_index_is_named_by_a_job() -> None:
    carried = [k for k in keys.REGISTRY if k.carries_user]
    assert carried == [keys.ARQ_JOB, keys.ARQ_RESULT]
    assert all(k.names == "job" and not k.erase for k in carried)
    assert keys.USER_JOBS.erase  # the index itself goes last, with the user's other keys
