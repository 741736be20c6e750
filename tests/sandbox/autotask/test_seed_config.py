"""A seed's tenant configuration: the real-tenant settings and more API users, what a reset leaves,
refusals naming the key and the fix (nothing of a refused seed loaded), merging, and the state
round trip."""

from __future__ import annotations

import pytest

from sandbox.core import SeedError
from tests.sandbox.autotask_support import AT_RESOURCE_ID, AT_USER, seed

RESOURCE = {"id": 29682901, "firstName": "API", "lastName": "Projects", "isActive": True}
USER = {"username": "projects-api@sandbox.local", "secret": "projects-secret", "resourceID": 29682901}


def test_reset_turns_every_setting_off_and_leaves_no_other_api_user(fresh_sandbox):
    state = fresh_sandbox.state()["autotask"]
    assert state["settings"] == {"keep_empty_strings": False, "refuse_unqueryable_fields": False}
    assert state["api_users"] == []


def test_settings_merge_one_at_a_time(fresh_sandbox):
    seed(fresh_sandbox, settings={"keep_empty_strings": True})
    seed(fresh_sandbox, settings={"refuse_unqueryable_fields": True})
    assert fresh_sandbox.state()["autotask"]["settings"] == {
        "keep_empty_strings": True,
        "refuse_unqueryable_fields": True,
    }


def test_api_users_merge_by_username_and_round_trip(fresh_sandbox):
    seed(fresh_sandbox, Resources=[RESOURCE], api_users=[USER])
    seed(fresh_sandbox, api_users=[{**USER, "username": USER["username"].upper(), "secret": "rotated"}])
    state = fresh_sandbox.state()["autotask"]
    assert [(u["username"], u["secret"]) for u in state["api_users"]] == [(USER["username"].upper(), "rotated")]
    fresh_sandbox.reset()
    fresh_sandbox.seed({"autotask": state})
    assert fresh_sandbox.state()["autotask"] == state


@pytest.mark.parametrize(
    "part, expected",
    [
        ({"settings": {"strict": True}}, "'settings' takes only ['keep_empty_strings', 'refuse_unqueryable_fields']"),
        ({"settings": {"keep_empty_strings": "yes"}}, "settings.keep_empty_strings must be true or false"),
        ({"api_users": {"username": "x"}}, "'api_users' must be a list"),
        ({"api_users": [{"username": "x", "secret": "y"}]}, "api_users[0] must have exactly username, secret and"),
        ({"api_users": [{**USER, "secret": ""}]}, "api_users[0].secret must be a non-empty string"),
        ({"api_users": [{**USER, "resourceID": "29682901"}]}, "api_users[0].resourceID must be a Resources id"),
        ({"api_users": [USER, USER]}, "username projects-api@sandbox.local appears twice"),
        ({"api_users": [USER]}, "resourceID 29682901 must be a Resources record of the seed or the tenant"),
        (
            {"api_users": [{**USER, "resourceID": AT_RESOURCE_ID}]},
            f"other than the main API user's resource {AT_RESOURCE_ID}",
        ),
        (
            {"Resources": [RESOURCE], "api_users": [{**USER, "username": AT_USER.upper()}]},
            "that is the main API user's name",
        ),
    ],
)
def test_a_bad_configuration_is_refused_whole_naming_the_key(fresh_sandbox, part, expected):
    before = fresh_sandbox.state()
    with pytest.raises(SeedError) as refused:
        fresh_sandbox.seed({"autotask": {"Companies": [{"companyName": "Not loaded"}], **part}})
    assert expected in str(refused.value)
    assert fresh_sandbox.state() == before


def test_a_resource_is_one_api_user_at_most(fresh_sandbox):
    seed(fresh_sandbox, Resources=[RESOURCE], api_users=[USER])
    with pytest.raises(SeedError, match="resource 29682901 is already the API user projects-api@sandbox.local"):
        seed(fresh_sandbox, api_users=[{**USER, "username": "someone-else@sandbox.local"}])


def test_the_main_api_user_cannot_take_an_added_users_name(fresh_sandbox):
    seed(fresh_sandbox, Resources=[RESOURCE], api_users=[USER])
    with pytest.raises(SeedError, match="credentials.username projects-api@sandbox.local is already an added API user"):
        seed(fresh_sandbox, credentials={"username": USER["username"]})


def test_the_seeds_own_settings_decide_how_its_records_are_stored(fresh_sandbox):
    seed(fresh_sandbox, settings={"keep_empty_strings": True}, Companies=[{"id": 5, "companyName": "A", "city": ""}])
    seed(fresh_sandbox, Companies=[{"id": 6, "companyName": "B", "city": ""}])
    cities = {c["id"]: c["city"] for c in fresh_sandbox.state()["autotask"]["Companies"]}
    assert (cities[5], cities[6]) == ("", "")
    fresh_sandbox.reset()
    seed(fresh_sandbox, Companies=[{"id": 5, "companyName": "A", "city": ""}])
    assert fresh_sandbox.state()["autotask"]["Companies"][1]["city"] is None  # the demo tenant's way
