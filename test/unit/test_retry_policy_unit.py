"""RetryPolicy: an immutable value; coerce(); which statuses retry; backoff bounds and cap."""

import copy
import pickle

import pytest

from ubiops import RetryPolicy


def test_defaults():
    policy = RetryPolicy()
    assert (policy.total, policy.backoff_factor, policy.backoff_max, policy.retry_after_max) == (3, 0.5, 30.0, 120.0)
    assert policy.retry_creates_on == frozenset()
    assert repr(policy) == (
        "RetryPolicy(total=3, backoff_factor=0.5, backoff_max=30.0, retry_after_max=120.0, "
        "retry_creates_on=frozenset())"
    )


def test_immutable():
    policy = RetryPolicy()
    for name in ("total", "backoff_factor", "backoff_max", "retry_after_max", "retry_creates_on", "new"):
        with pytest.raises(AttributeError, match="immutable"):
            setattr(policy, name, 1)
        with pytest.raises(AttributeError, match="immutable"):
            delattr(policy, name)
    assert policy.total == 3
    assert copy.copy(policy) is policy and copy.deepcopy(policy) is policy


def test_value_semantics():
    assert RetryPolicy(total=2) == RetryPolicy(total=2)
    assert RetryPolicy(total=2) != RetryPolicy(total=3)
    assert hash(RetryPolicy(backoff_max=1)) == hash(RetryPolicy(backoff_max=1.0))
    assert RetryPolicy() != 3
    assert pickle.loads(pickle.dumps(RetryPolicy(total=5, backoff_max=2))) == RetryPolicy(total=5, backoff_max=2)


def test_backoff_of_a_late_retry_stays_at_the_cap():
    assert 15.0 <= RetryPolicy().backoff(5000) <= 30.0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"total": -1}, "total"),
        ({"total": 1.5}, "total"),
        ({"total": True}, "total"),
        ({"total": "3"}, "total"),
        ({"backoff_factor": -0.1}, "backoff_factor"),
        ({"backoff_max": "1"}, "backoff_max"),
        ({"retry_after_max": False}, "retry_after_max"),
        ({"retry_creates_on": 503}, "retry_creates_on"),
        ({"retry_creates_on": "503"}, "retry_creates_on"),
        ({"retry_creates_on": {"503"}}, "retry_creates_on"),
        ({"retry_creates_on": {True}}, "retry_creates_on"),
        ({"retry_creates_on": [[503]]}, "retry_creates_on"),
        ({"retry_creates_on": {400}}, "retry_creates_on"),
        ({"retry_creates_on": {600}}, "retry_creates_on"),
        ({"retry_creates_on": {499}}, "retry_creates_on"),
    ],
)
def test_bad_values_are_named(kwargs, name):
    with pytest.raises((TypeError, ValueError), match=f"RetryPolicy {name}"):
        RetryPolicy(**kwargs)


def test_coerce():
    assert RetryPolicy.coerce(None) == RetryPolicy()
    assert RetryPolicy.coerce(0) == RetryPolicy(total=0)
    assert RetryPolicy.coerce(7).total == 7
    assert RetryPolicy.coerce(False) == RetryPolicy(total=0)
    policy = RetryPolicy(total=1)
    assert RetryPolicy.coerce(policy) is policy
    for bad in (-1, "3", 2.5, True):
        with pytest.raises((TypeError, ValueError), match="total"):
            RetryPolicy.coerce(bad)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_idempotent_calls_retry_these_statuses(status):
    assert RetryPolicy().may_retry_status(status, idempotent=True)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 418, 500, 501])
def test_other_statuses_never_retry(status):
    assert not RetryPolicy().may_retry_status(status, idempotent=True)
    assert not RetryPolicy().may_retry_status(status, idempotent=False)


def test_creates_retry_only_when_the_server_cannot_have_acted():
    """A 503 may come from a proxy that forwarded the create: only the rate limit proves nothing was done."""
    assert [s for s in (429, 500, 502, 503, 504) if RetryPolicy().may_retry_status(s, idempotent=False)] == [429]


def test_creates_retry_on_the_statuses_the_caller_opts_in_to():
    policy = RetryPolicy(retry_creates_on=[503, 503, 502])
    assert policy.retry_creates_on == frozenset({502, 503})
    assert [s for s in (429, 500, 502, 503, 504) if policy.may_retry_status(s, idempotent=False)] == [429, 502, 503]
    assert policy == RetryPolicy(retry_creates_on={502, 503}) != RetryPolicy()
    assert hash(policy) == hash(RetryPolicy(retry_creates_on=frozenset({503, 502})))
    assert "retry_creates_on=frozenset({" in repr(policy)
    assert pickle.loads(pickle.dumps(policy)) == policy


def test_backoff_grows_within_bounds_and_is_capped():
    policy = RetryPolicy(total=20, backoff_factor=0.5, backoff_max=4.0)
    for retry_number in range(20):
        ceiling = min(4.0, 0.5 * 2**retry_number)
        for _ in range(50):
            wait = policy.backoff(retry_number)
            assert ceiling / 2 <= wait <= ceiling
    assert RetryPolicy(backoff_factor=0).backoff(3) == 0


def test_retry_after_sets_the_wait():
    policy = RetryPolicy(backoff_max=1.0)
    assert policy.backoff(0, retry_after=7.5) == 7.5  # capping by retry_after_max is the transport's decision
    assert policy.backoff(5, retry_after=0.0) == 0.0
