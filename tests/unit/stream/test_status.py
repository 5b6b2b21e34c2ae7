"""``streamer status`` pieces without a broker: group members and their partitions, lag
when the broker under-reports end offsets, processor rates and breaker states."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from streamer.observability.scrape import parse_metrics
from streamer.stream.status import (
    GroupStatus,
    PartitionStatus,
    ProcessorStatus,
    _describe,
    _processor,
)


class DescribingAdmin:
    """Stands in for the admin client's DescribeGroups answer: the embedded broker sends
    members without their assignments, Apache Kafka sends them as below."""

    def __init__(self, groups: list[tuple[object, ...]]) -> None:
        self.groups = groups

    async def describe_consumer_groups(self, group_ids: list[str]) -> list[SimpleNamespace]:
        return [SimpleNamespace(groups=self.groups)]


async def test_members_and_their_partitions_come_from_the_group_description() -> None:
    assignment = ConsumerProtocolMemberAssignment(0, [("orders.raw", [2, 0])], b"").encode()
    admin = DescribingAdmin(
        [
            (0, "other-group", "Stable", "consumer", "range", []),
            (0, "orders", "Stable", "consumer", "range", [
                ("pii-streamer-1f", "pii-streamer", "/10.0.0.5", b"", assignment),
                ("pii-streamer-2c", "pii-streamer", "/10.0.0.6", b"", b""),
            ]),
        ]
    )  # fmt: skip
    state, members = await _describe(admin, "orders")  # type: ignore[arg-type]
    assert state == "Stable"
    assert [(m.member_id, m.host, m.partitions) for m in members] == [
        ("pii-streamer-1f", "10.0.0.5", ["orders.raw[0]", "orders.raw[2]"]),
        ("pii-streamer-2c", "10.0.0.6", []),
    ]
    assert await _describe(DescribingAdmin([]), "orders") == ("Unknown", [])  # type: ignore[arg-type]


def test_totals_skip_unknown_lag_and_breakers_show_the_worst_state() -> None:
    partitions = [
        PartitionStatus("orders.raw", 0, committed=10, end_offset=25, lag=15, rate=2.0),
        PartitionStatus("orders.raw", 1, committed=40, end_offset=31, lag=None, rate=1.5),
    ]
    processors = [
        ProcessorStatus("a:9400", reachable=True, breakers={"azure": "closed", "aws": "open"}),
        ProcessorStatus("b:9400", reachable=True, breakers={"azure": "half-open", "aws": "closed"}),
        ProcessorStatus("c:9400", reachable=False, error="connection refused"),
    ]
    status = GroupStatus("orders", ["orders.raw"], "Stable", [], partitions, 3.0, processors)
    assert status.lag == 15 and status.lag_unknown == 1
    assert status.throughput == 3.5
    assert status.breakers == {"azure": "half-open", "aws": "open"}
    document = status.to_json()
    assert document["end_offsets_from"] == "broker"
    assert document["partitions"][1]["lag"] is None
    no_endpoints = GroupStatus("orders", ["orders.raw"], "Stable", [], partitions, 0.0, [])
    assert no_endpoints.breakers is None


def test_the_headline_does_not_call_a_partly_unknown_lag_the_whole_lag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Was "lag 0 records" above a table with '?' on half the partitions (the embedded
    # broker under-reports end offsets), as if the pipeline had caught up.
    from streamer.cli import _print_status

    partitions = [
        PartitionStatus("orders.raw", 0, committed=10, end_offset=10, lag=0, rate=None),
        PartitionStatus("orders.raw", 1, committed=40, end_offset=31, lag=None, rate=None),
    ]
    _print_status(GroupStatus("orders", ["orders.raw"], "Stable", [], partitions, 0.0, []))
    headline = capsys.readouterr().out.splitlines()[0]
    assert "lag 0 records on the other partitions, unknown on 1," in headline, headline
    _print_status(GroupStatus("orders", ["orders.raw"], "Stable", [], partitions[:1], 0.0, []))
    assert "lag 0 records, " in capsys.readouterr().out.splitlines()[0]


def test_a_processor_is_read_from_two_scrapes_and_its_readiness() -> None:
    before = parse_metrics(
        'streamer_events_processed_total{topic="orders.raw"} 100\n'
        'streamer_dead_letters_total{topic="orders.raw",reason="invalid_event"} 1\n'
    )
    after = parse_metrics(
        'streamer_events_processed_total{topic="orders.raw"} 400\n'
        'streamer_dead_letters_total{topic="orders.raw",reason="invalid_event"} 3\n'
        "streamer_assigned_partitions 3\nstreamer_paused_partitions 1\n"
        "streamer_in_flight_records 250\nstreamer_workers 2\nstreamer_workers_alive 2\n"
        'streamer_cloud_breaker_state{provider="azure"} 2\n'
        'streamer_cloud_breaker_state{provider="aws"} 0\n'
    )
    status = _processor("http://a:9400", before, after, 3.0, (False, ["broker_reachable"]))
    assert status.reachable and status.ready is False and status.failing == ["broker_reachable"]
    assert status.events_per_second == 100.0
    assert abs((status.dead_letters_per_second or 0) - 2 / 3) < 1e-9
    assert (status.assigned_partitions, status.paused_partitions) == (3, 1)
    assert (status.in_flight_records, status.workers_alive, status.workers) == (250, 2, 2)
    assert status.breakers == {"azure": "open", "aws": "closed"}
    down = _processor("http://b:9400", "refused", "refused", 3.0, None)
    assert not down.reachable and down.error == "refused"
