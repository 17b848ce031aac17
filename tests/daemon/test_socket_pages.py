"""Pages over the socket are bounded: a caller asking for everything gets one page and the total,
so a run with a million changes never travels whole."""

from __future__ import annotations

import pytest

from daemon.sync.queries import MAX_PAGE

from .conftest import SAMPLE


@pytest.mark.parametrize(
    "method, of_a_run", [("change_page", True), ("results_page", True), ("find_users", False)]
)
def test_a_request_for_an_oversized_page_gets_at_most_the_bound(
    make_daemon_config, start_daemon, clock, method, of_a_run
) -> None:
    daemon = start_daemon(make_daemon_config(), clock)
    client = daemon.client()
    run = client.plan_source(str(SAMPLE / "day1"))  # day1 has over 500 of each
    assert client.apply_run(run.run_id).status == "applied"
    args = {"run_id": run.run_id} if of_a_run else {}

    page = getattr(client, method)(**args, limit=100_000)

    assert page.total > MAX_PAGE
    assert len(page.items) == MAX_PAGE
    # the rest is there, one bounded page further on
    rest = getattr(client, method)(**args, offset=MAX_PAGE, limit=100_000)
    assert len(rest.items) == min(MAX_PAGE, page.total - MAX_PAGE)
    client.close()
    assert daemon.stop() == 0
