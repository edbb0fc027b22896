"""The in-memory frontier: per-host dispatch, politeness readiness, retries, the slow-host cap."""

from __future__ import annotations

import threading

from harvester.catalog import FrontierItem
from harvester.frontier import SLOW_SECONDS, Frontier, RetryPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def item(host: str, n: int, not_before: float = 0.0) -> FrontierItem:
    return FrontierItem(url=f"http://{host}/{n}", host=host, not_before=not_before)


def drain(frontier: Frontier) -> list[str]:
    taken = []
    while (got := frontier.take(timeout=0)) is not None:
        taken.append(got.url)
        frontier.finish(got)
    return taken


def test_hosts_are_served_round_robin() -> None:
    frontier = Frontier(now=Clock(), ready_in=lambda host: 0.0)
    frontier.add([item("a", 1), item("a", 2), item("a", 3), item("b", 1), item("c", 1)])
    assert drain(frontier) == ["http://a/1", "http://b/1", "http://c/1", "http://a/2", "http://a/3"]


def test_one_item_per_host_at_a_time() -> None:
    frontier = Frontier(now=Clock(), ready_in=lambda host: 0.0)
    frontier.add([item("a", 1), item("a", 2), item("b", 1)])
    first, second = frontier.take(0), frontier.take(0)
    assert first is not None and second is not None
    assert {first.host, second.host} == {"a", "b"}
    assert frontier.take(0) is None  # a's second item waits for a's first
    frontier.finish(first if first.host == "a" else second)
    again = frontier.take(0)
    assert again is not None and again.url == "http://a/2"


def test_a_host_resting_for_politeness_is_skipped() -> None:
    clock = Clock()
    rest_ends = {"a": clock.now + 5.0}
    asked: list[str] = []

    def ready_in(host: str) -> float:
        asked.append(host)
        return max(0.0, rest_ends.get(host, 0.0) - clock.now)

    frontier = Frontier(now=clock, ready_in=ready_in)
    frontier.add([item("a", 1), item("b", 1)])
    got = frontier.take(0)
    assert got is not None and got.host == "b"
    assert frontier.take(0) is None
    assert frontier.take(0) is None
    assert asked.count("a") == 1  # told a rests 5 s: not asked again before they pass
    clock.now += 5.0
    got = frontier.take(0)
    assert got is not None and got.host == "a"
    assert asked.count("a") == 2


def test_retries_wait_until_due_and_duplicates_are_ignored() -> None:
    clock = Clock()
    frontier = Frontier(now=clock, ready_in=lambda host: 0.0)
    assert frontier.add([item("a", 1), item("a", 1)]) == 1
    got = frontier.take(0)
    assert got is not None
    frontier.retry(FrontierItem(url=got.url, host=got.host, not_before=clock.now + 30))
    assert frontier.counts() == {"queued": 0, "waiting": 1, "in_flight": 0}
    assert frontier.take(0) is None
    clock.now += 31
    again = frontier.take(0)
    assert again is not None and again.url == got.url


def test_slow_hosts_share_a_limited_number_of_workers() -> None:
    frontier = Frontier(now=Clock(), ready_in=lambda host: 0.0, slow_limit=2)
    for host in ("s1", "s2", "s3"):
        frontier.observe(host, SLOW_SECONDS * 2)
    frontier.add([item(h, 1) for h in ("s1", "s2", "s3", "f1", "f2")] + [item("f1", 2)])
    taken = [frontier.take(0) for _ in range(5)]  # f1/2 stays queued: a fast host has work
    hosts = [t.host for t in taken if t is not None]
    assert sorted(h for h in hosts if h.startswith("s")) == ["s1", "s2"]  # the third waits
    assert {"f1", "f2"} <= set(hosts)
    done = next(t for t in taken if t is not None and t.host == "s1")
    frontier.finish(done)
    got = frontier.take(0)
    assert got is not None and got.host == "s3"


def test_the_slow_cap_lifts_when_only_slow_hosts_have_work() -> None:
    frontier = Frontier(now=Clock(), ready_in=lambda host: 0.0, slow_limit=1)
    for host in ("s1", "s2", "s3"):
        frontier.observe(host, SLOW_SECONDS * 2)
    frontier.add([item(h, 1) for h in ("s1", "s2", "s3")])
    taken = [frontier.take(0) for _ in range(3)]
    assert all(t is not None for t in taken)  # no fast host waits: every slow host gets a worker


def test_the_slow_cap_stays_while_a_poll_may_queue_fast_hosts() -> None:
    """While a poll is under way the cap holds even with only slow hosts queued: the poll may
    be about to queue fast hosts, which workers held by slow ones would leave waiting. Its end
    wakes a worker held back."""
    frontier = Frontier(now=Clock(), ready_in=lambda host: 0.0, slow_limit=1)
    for host in ("s1", "s2"):
        frontier.observe(host, SLOW_SECONDS * 2)
    frontier.add([item(h, 1) for h in ("s1", "s2")])
    poll = frontier.discovering()
    poll.__enter__()
    assert frontier.take(0) is not None  # the cap's one slow worker
    assert frontier.take(0) is None  # held back: a poll is under way
    results: list[object] = []
    worker = threading.Thread(target=lambda: results.append(frontier.take(timeout=30)))
    worker.start()
    poll.__exit__(None, None, None)
    worker.join(5)
    assert not worker.is_alive()
    got = results[0]
    assert isinstance(got, FrontierItem) and got.host in ("s1", "s2")


def test_the_slow_cap_stays_while_the_catalog_has_fast_work_to_claim() -> None:
    """A writer holds part of the fleet's frontier: seeing only slow hosts' work here does not
    lift the cap while its last claim says the catalog has fast hosts' URLs left for it. Being
    told it has none wakes a worker held back."""
    frontier = Frontier(now=Clock(), ready_in=lambda host: 0.0, slow_limit=1)
    for host in ("s1", "s2"):
        frontier.observe(host, SLOW_SECONDS * 2)
    frontier.add([item(h, 1) for h in ("s1", "s2")])
    frontier.claimable(True)
    assert frontier.held() == (0, 2)
    assert frontier.take(0) is not None  # the cap's one slow worker
    assert frontier.take(0) is None  # held back: fast work is coming
    results: list[object] = []
    worker = threading.Thread(target=lambda: results.append(frontier.take(timeout=30)))
    worker.start()
    frontier.claimable(False)
    worker.join(5)
    assert not worker.is_alive()
    got = results[0]
    assert isinstance(got, FrontierItem) and got.host in ("s1", "s2")
    assert frontier.held() == (0, 2)
    assert frontier.slow_hosts() == {"s1", "s2"}


def test_a_host_that_speeds_up_is_no_longer_slow() -> None:
    frontier = Frontier(now=Clock(), ready_in=lambda host: 0.0, slow_limit=0)
    frontier.observe("h", SLOW_SECONDS * 3)
    frontier.observe("f", 0.01)
    frontier.add([item("h", 1), item("f", 1), item("f", 2)])
    first = frontier.take(0)
    assert first is not None and first.host == "f"  # f busy, f/2 waits: h is held back
    assert frontier.take(0) is None
    for _ in range(4):
        frontier.observe("h", 0.01)
    got = frontier.take(0)
    assert got is not None and got.host == "h"


def test_close_wakes_a_waiting_worker() -> None:
    frontier = Frontier(now=Clock(), ready_in=lambda host: 0.0)
    results: list[object] = []
    worker = threading.Thread(target=lambda: results.append(frontier.take(timeout=30)))
    worker.start()
    frontier.close()
    worker.join(5)
    assert results == [None] and not worker.is_alive()


def test_retry_policy_backs_off_then_gives_up() -> None:
    policy = RetryPolicy(retries=2, delay=10)
    assert policy.next_try(1, 0) == (10, False)
    assert policy.next_try(2, 0) == (40, False)
    when, give_up = policy.next_try(3, 0)
    assert give_up and when == 86400.0
