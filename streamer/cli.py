"""The ``streamer`` command. Thin: it parses arguments, builds the settings once, and calls
into the packages. Every ``StreamerError`` becomes one line on stderr and its exit code.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO, get_origin

import orjson
import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table
from rich.text import Text

from streamer.__main__ import INTERRUPTED_WHILE_STARTING, STOPPED_WHILE_STARTING, interrupt
from streamer.counts import counted
from streamer.errors import ConfigurationError, StreamerError
from streamer.settings import StreamerSettings

app = typer.Typer(
    name="streamer",
    help="pii-streamer: keep personal data out of Kafka event streams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)
stderr = Console(stderr=True)
stdout = Console()


def build_settings(**overrides: Any) -> StreamerSettings:
    """Settings from ``STREAMER_*`` variables, with the flags that were given on top."""
    return StreamerSettings(**{k: v for k, v in overrides.items() if v is not None and v != []})


# --- options shared by commands ----------------------------------------------------------

PolicyOption = Annotated[
    Path | None,
    typer.Option("--policy", help="Policy YAML file (actions per entity type, field rules).",
                 exists=True, dir_okay=False, show_default=False),
]  # fmt: skip
KeyFileOption = Annotated[
    Path | None,
    typer.Option("--key-file", envvar="STREAMER_KEY_FILE", show_default=False,
                 help="Local key file; created with mode 0600 on first use."),
]  # fmt: skip
#: For commands that only read or change the keys of an existing key file.
ExistingKeyFileOption = Annotated[
    Path | None,
    typer.Option("--key-file", envvar="STREAMER_KEY_FILE", show_default=False,
                 help="Local key file the tokens were made with; it must exist (unless "
                 "--keys-topic fills it). \\[default: <data_dir>/keystore.db]"),
]  # fmt: skip
ScopeOption = Annotated[
    str, typer.Option("--scope", help="Key scope (a tenant, say): tokens differ between scopes.")
]
RegionOption = Annotated[
    list[str] | None,
    typer.Option("--default-region", help="Region tried for phone numbers without a country "
                 "code; repeat for several. \\[default: US, GB, DE]", show_default=False),
]  # fmt: skip
MaxBytesOption = Annotated[
    int | None,
    typer.Option("--max-record-bytes", envvar="STREAMER_MAX_RECORD_BYTES", show_default=False,
                 help="Records larger than this fail. \\[default: 1048576]"),
]  # fmt: skip
TopologyMaxBytesOption = Annotated[
    int | None,
    typer.Option("--max-record-bytes", envvar="STREAMER_MAX_RECORD_BYTES", show_default=False,
                 help="Records larger than this are dead letters (too_large). \\[default: the "
                 "topology's; else 1048576]"),
]  # fmt: skip
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", envvar="STREAMER_WORKERS", show_default=False,
                 help="Worker processes for detection. \\[default: CPU count]"),
]  # fmt: skip
TopologyWorkersOption = Annotated[
    int | None,
    typer.Option("--workers", envvar="STREAMER_WORKERS", show_default=False,
                 help="Worker processes for detection. \\[default: the topology's; else CPU "
                 "count]"),
]  # fmt: skip
BootstrapOption = Annotated[
    str | None,
    typer.Option("--bootstrap-servers", envvar="STREAMER_BOOTSTRAP_SERVERS", show_default=False,
                 help="Kafka bootstrap servers, HOST:PORT[,HOST:PORT]. "
                 "\\[default: localhost:9092]"),
]  # fmt: skip


# --- streamer redact -----------------------------------------------------------------------


def _read_batches(handle: BinaryIO, batch_size: int) -> Iterator[list[tuple[bytes, bytes]]]:
    """Lines and their line endings (CRLF stays CRLF); a last line without one takes the
    ending of the line before it, so files written one after another stay apart."""
    batch: list[tuple[bytes, bytes]] = []
    ending = b"\n"
    for line in handle:
        body = line.rstrip(b"\r\n")
        if len(body) < len(line):
            ending = line[len(body) :]
        batch.append((body, ending))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


@app.command()
def redact(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="JSON-lines files to redact; none or '-' reads standard input.", show_default=False
        ),
    ] = None,
    text: Annotated[
        bool, typer.Option("--text", help="Treat each line as plain text instead of JSON.")
    ] = False,
    policy: PolicyOption = None,
    scope: ScopeOption = "default",
    parallel: Annotated[
        bool, typer.Option("--parallel", help="Detect on a pool of worker processes.")
    ] = False,
    workers: WorkersOption = None,
    key_file: KeyFileOption = None,
    default_region: RegionOption = None,
    max_record_bytes: MaxBytesOption = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Lines per batch.")] = 512,
) -> None:
    """Redact JSON lines (or plain lines with --text) from files or stdin to stdout.

    A line that cannot be processed is reported on stderr as a JSON error record with
    its file and line number; the rest goes on, and the exit code is 1 at the end. So is
    a --text line that is not UTF-8 (Latin-1, UTF-16): convert such files first. Line
    endings are kept (CRLF stays CRLF).
    """
    from streamer.redaction.service import RedactionService
    from streamer.stream.topology import load_policy_file
    from streamer.vault.keyring import keyring_from_settings

    settings = build_settings(
        key_file=key_file,
        default_regions=default_region,
        max_record_bytes=max_record_bytes,
        workers=workers,
    )
    sources = [p for p in files or [] if str(p) != "-"]
    read_stdin = not files or any(str(p) == "-" for p in files)
    for path in sources:  # a pipe (/dev/stdin, <(zcat events.gz)) is a file to read too
        if not path.exists() or path.is_dir() or not os.access(path, os.R_OK):
            raise typer.BadParameter(f"{path} is not a readable file", param_hint="FILES")
    failures = 0
    out = sys.stdout.buffer
    # Any key provider (a KMS too), with the keys other hosts published to the keys topic.
    keyring = keyring_from_settings(settings, **_keys_topic_options(settings))
    rules = load_policy_file(policy) if policy is not None else None  # checked like a topology's
    with RedactionService(rules, settings=settings, keyring=keyring, parallel=parallel) as service:
        progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TransferSpeedColumn(),
            TimeRemainingColumn(), console=stderr, transient=True,
            disable=not stderr.is_terminal,  # piped stderr holds only the error records
        )  # fmt: skip
        with progress:
            for name, handle, size in _open_sources(sources, read_stdin):
                task = progress.add_task(name, total=size) if size is not None else None
                line_number = 0
                with handle:
                    for batch in _read_batches(handle, batch_size):
                        outcomes = service.redact_payloads(
                            [raw for raw, _ in batch], "text" if text else "json",
                            [scope] * len(batch),
                        )  # fmt: skip
                        for (raw, ending), outcome in zip(batch, outcomes, strict=True):
                            line_number += 1
                            if outcome.value is not None:
                                out.write(outcome.value + ending)
                            elif not raw.strip():
                                out.write(ending)  # blank lines pass through
                            else:
                                failures += 1
                                assert outcome.failure is not None
                                error = {"file": name, "line": line_number,
                                         "error": outcome.failure.code,
                                         "message": outcome.failure.message}  # fmt: skip
                                sys.stderr.write(orjson.dumps(error).decode() + "\n")
                        out.flush()
                        if task is not None:
                            progress.advance(task, sum(len(r) + len(e) for r, e in batch))
    _sync_key_store(settings)  # the scopes created here, for the hosts that unmask
    if failures:
        stderr.print(f"{failures} line(s) could not be redacted; see the error records above")
        raise typer.Exit(1)


def _open_sources(
    sources: list[Path], read_stdin: bool
) -> Iterator[tuple[str, BinaryIO, int | None]]:
    for path in sources:
        size = path.stat().st_size if path.is_file() else None  # a pipe has no size
        yield str(path), path.open("rb"), size
    if read_stdin:
        yield "<stdin>", sys.stdin.buffer, None


def _interrupted_exits_130(line: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A Ctrl-C the command does not take over itself stops it with ``line`` and exit 130
    (it was a silent exit 130, or asyncio's cancellation with a client left open)."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            try:
                command(*args, **kwargs)
            except KeyboardInterrupt:
                stderr.print(line, highlight=False)
                raise typer.Exit(130) from None

        return wrapper

    return decorate


# --- streamer demo -------------------------------------------------------------------------


@app.command()
@_interrupted_exits_130(INTERRUPTED_WHILE_STARTING["demo"])
def demo(
    events: Annotated[
        int, typer.Option("--events", min=1, help="Sample events to generate.")
    ] = 2000,
    pairs: Annotated[int, typer.Option("--show", min=0, help="Before/after pairs to print.")] = 3,
    policy: PolicyOption = None,
    key_file: KeyFileOption = None,
    bootstrap_servers: Annotated[
        str | None,
        typer.Option(
            "--bootstrap-servers",
            show_default=False,
            help="Run against this Kafka instead of the embedded broker (so does "
            "STREAMER_BOOTSTRAP_SERVERS: unset it for the embedded one).",
        ),
    ] = None,
    workers: WorkersOption = None,
    cloud: Annotated[
        str,
        typer.Option(
            "--cloud",
            help="Also detect with cloud services: 'off' or 'emulated' (local Azure and "
            "AWS emulators in this process, asked through the official SDKs by the "
            "pipeline, as a topology's cloud: section makes streamer run do).",
        ),
    ] = "off",
) -> None:
    """Run the whole pipeline on sample support tickets and show what came out.

    Starts the embedded Kafka-compatible broker (unless --bootstrap-servers is given),
    creates the topics of topologies/support-tickets.yaml (prefixed for this run),
    produces sample events, runs the processor until every event is committed, prints
    a few before/after pairs and a summary, and stops everything.
    """
    _kafka_failures_as_one_line()
    import asyncio

    from streamer.stream.demo import run_demo
    from streamer.stream.topology import load_policy_file

    if cloud not in ("off", "emulated"):
        raise typer.BadParameter("must be 'off' or 'emulated'", param_hint="--cloud")
    settings = build_settings(
        key_file=key_file, workers=workers, bootstrap_servers=bootstrap_servers
    )
    rules = load_policy_file(policy, cloud=cloud == "emulated") if policy else None
    report = asyncio.run(
        run_demo(
            settings,
            events=events,
            pairs=pairs,
            policy=rules,
            on_stage=lambda stage: stderr.print(f"[dim]demo:[/dim] {stage}", highlight=False),
            cloud="emulated" if cloud == "emulated" else "off",
        )
    )
    for before, after in report.pairs:
        for label, value in (("before", before), ("after ", after)):
            stdout.print(f"[bold]{label}[/bold]", value.decode(), highlight=False, soft_wrap=True)
        stdout.print()
    stats = report.stats
    table = Table(title="entities replaced")
    table.add_column("entity type")
    table.add_column("count", justify="right")
    for entity, count in stats.entities.most_common():
        table.add_row(entity, f"{count:,}")
    stdout.print(table)
    topology = report.topology
    stdout.print(
        f"{counted(report.events, 'event')} -> {counted(report.clean_records, 'clean record')} "
        f"on {topology.output_topic}, {counted(report.token_records, 'token mapping')} on "
        f"{topology.token_topic}, {counted(report.dead_letters, 'dead letter')} on "
        f"{topology.dlq_topic}"
    )
    if report.cloud_costs:
        _print_cloud_costs(report.cloud_costs)
    stdout.print(
        f"pipeline: {stats.rate():,.0f} events/s on "
        f"{counted(report.workers, 'worker process', 'worker processes')}; "
        f"whole demo {report.elapsed:.1f}s"
    )


def _print_cloud_costs(summaries: list[Any]) -> None:
    costs = Table(title="cloud detection (emulated, failover: concurrent)")
    for column in ("provider", "requests", "documents", "characters", "billed"):
        costs.add_column(column, justify="left" if column == "provider" else "right")
    for item in summaries:
        costs.add_row(item.provider, f"{item.requests:,}", f"{item.documents:,}",
                      f"{item.characters:,}", f"{item.billed_units:,.0f} {item.unit}")  # fmt: skip
    stdout.print(costs)


# --- Kafka: streamer run, broker, produce, tail, topics (streamer/stream/) ------------------

TopologyOption = Annotated[
    Path | None,
    typer.Option("--topology", show_default=False,
                 help="Topology YAML (see topologies/); without it: JSON events, every string "
                 "scanned, everything tokenized. \\[env: STREAMER_TOPOLOGY]"),
]  # fmt: skip
InputTopicOption = Annotated[
    list[str] | None,
    typer.Option("--input-topic", show_default=False,
                 help="Raw topic to consume; repeat for several. Replaces the topology's "
                 "inputs. \\[env: STREAMER_INPUT_TOPIC, comma-separated]"),
]  # fmt: skip
SecurityProtocolOption = Annotated[
    str | None,
    typer.Option("--security-protocol", show_default=False,
                 help="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL. \\[default: PLAINTEXT]"),
]  # fmt: skip
SaslMechanismOption = Annotated[
    str | None,
    typer.Option("--sasl-mechanism", show_default=False,
                 help="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. \\[default: PLAIN]"),
]  # fmt: skip
SaslUsernameOption = Annotated[
    str | None, typer.Option("--sasl-username", show_default=False, help="SASL user name.")
]
SaslPasswordOption = Annotated[
    str | None,
    typer.Option("--sasl-password", show_default=False,
                 help="SASL password (prefer STREAMER_SASL_PASSWORD: flags show in ps)."),
]  # fmt: skip
SslCafileOption = Annotated[
    Path | None, typer.Option("--ssl-cafile", show_default=False, help="CA bundle (PEM).")
]
SslCertfileOption = Annotated[
    Path | None,
    typer.Option("--ssl-certfile", show_default=False, help="Client certificate (PEM, mTLS)."),
]
SslKeyfileOption = Annotated[
    Path | None,
    typer.Option("--ssl-keyfile", show_default=False, help="Client private key (PEM, mTLS)."),
]


def _sync_key_store(settings: StreamerSettings) -> None:
    """Exchange key changes with the keys topic, when there is one (STREAMER_KEYS_TOPIC)."""
    from streamer.vault.keyring import run_blocking, sync_key_store

    run_blocking(sync_key_store(settings, **_keys_topic_options(settings)))


def _keys_topic_options(settings: StreamerSettings) -> dict[str, Any]:
    """Kafka security settings for the keys topic; none without one (a local key file)."""
    from streamer.stream.connection import security_options

    return security_options(settings) if settings.keys_topic else {}


def _kafka_overrides(
    bootstrap_servers: str | None,
    security_protocol: str | None,
    sasl_mechanism: str | None,
    sasl_username: str | None,
    sasl_password: str | None,
    ssl_cafile: Path | None,
    ssl_certfile: Path | None,
    ssl_keyfile: Path | None,
) -> dict[str, Any]:
    return {
        "bootstrap_servers": bootstrap_servers,
        "security_protocol": security_protocol.upper() if security_protocol else None,
        "sasl_mechanism": sasl_mechanism.upper() if sasl_mechanism else None,
        "sasl_username": sasl_username,
        "sasl_password": sasl_password,
        "ssl_cafile": ssl_cafile,
        "ssl_certfile": ssl_certfile,
        "ssl_keyfile": ssl_keyfile,
    }


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MetricsPortOption = Annotated[
    int | None,
    typer.Option("--metrics-port", min=0, max=65535, show_default=False,
                 help="Serve Prometheus /metrics, /healthz and /readyz on this port (0: a free "
                 "one, logged). \\[env: STREAMER_METRICS_PORT; default: off]"),
]  # fmt: skip
MetricsHostOption = Annotated[
    str | None,
    typer.Option("--metrics-host", show_default=False,
                 help="Address the metrics endpoint binds. \\[default: 0.0.0.0]"),
]  # fmt: skip


def _signal_stops_start(command: Callable[..., None]) -> Callable[..., None]:
    """A Ctrl-C or SIGTERM before the pipeline takes the signals over (loading the
    topology, starting the clients) stops ``streamer run`` with one line and exit 0, as
    one while it joins the group does. Without a handler of ours, asyncio.run turned the
    first Ctrl-C into a cancellation (a CancelledError traceback, exit 1), and SIGTERM
    killed the process."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        import signal

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, interrupt)
        try:
            command(*args, **kwargs)
        except KeyboardInterrupt:
            stderr.print(STOPPED_WHILE_STARTING, highlight=False)
            raise typer.Exit(0) from None

    return wrapper


@app.command()
@_signal_stops_start
def run(
    bootstrap_servers: BootstrapOption = None,
    topology: TopologyOption = None,
    input_topic: InputTopicOption = None,
    output_topic: Annotated[
        str | None,
        typer.Option(
            "--output-topic",
            show_default=False,
            help="Clean topic. \\[default: the topology's; else <input>.clean, a trailing "
            ".raw dropped]",
        ),
    ] = None,
    token_topic: Annotated[
        str | None,
        typer.Option(
            "--token-topic",
            show_default=False,
            help="Token mapping topic, compacted. \\[default: the topology's; else <input>.tokens]",
        ),
    ] = None,
    dlq_topic: Annotated[
        str | None,
        typer.Option(
            "--dlq-topic",
            show_default=False,
            help="Dead-letter topic. \\[default: the topology's; else <input>.dlq]",
        ),
    ] = None,
    group_id: Annotated[
        str | None,
        typer.Option(
            "--group-id",
            show_default=False,
            help="Consumer group shared by all instances of the pipeline. \\[default: the "
            "topology's group_id, else pii-streamer.<topology name>, or "
            "pii-streamer.<clean topic> without a topology file]",
        ),
    ] = None,
    event_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            show_default=False,
            help="Input event format: json or text. \\[default: the topology's; else json]",
        ),
    ] = None,
    max_record_bytes: TopologyMaxBytesOption = None,
    max_in_flight_records: Annotated[
        int | None,
        typer.Option(
            "--max-in-flight-records",
            min=1,
            show_default=False,
            help="Records fetched but not committed, at most; partitions "
            "ahead are paused beyond it. \\[default: the topology's; else 20000]",
        ),
    ] = None,
    max_in_flight_bytes: Annotated[
        int | None,
        typer.Option(
            "--max-in-flight-bytes",
            min=1,
            show_default=False,
            help="Bytes fetched but not committed, at most. \\[default: the topology's; else "
            "64 MiB]",
        ),
    ] = None,
    batch_records: Annotated[
        int | None,
        typer.Option(
            "--batch-records",
            min=1,
            show_default=False,
            help="Records per batch handed to a worker. \\[default: the topology's; else 500]",
        ),
    ] = None,
    workers: TopologyWorkersOption = None,
    exactly_once: Annotated[
        bool | None,
        typer.Option(
            "--exactly-once/--at-least-once",
            show_default=False,
            help="Kafka transactions: outputs and offsets commit "
            "atomically. Needs a broker with transactions (Apache Kafka, "
            "Redpanda, ...); the embedded broker has none. "
            "\\[default: at-least-once]",
        ),
    ] = None,
    key_file: KeyFileOption = None,
    shutdown_timeout: Annotated[
        float | None,
        typer.Option(
            "--shutdown-timeout",
            min=0.1,
            show_default=False,
            help="Seconds SIGTERM/SIGINT waits for in-flight work. \\[default: 30]",
        ),
    ] = None,
    create_topics: Annotated[
        bool | None,
        typer.Option(
            "--create-topics/--no-create-topics",
            show_default=False,
            help="Create missing clean, token and DLQ topics, and missing inputs with as "
            "many partitions. \\[default: create]",
        ),
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", envvar="STREAMER_LOG_LEVEL", help="Log level.")
    ] = "INFO",
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            envvar="STREAMER_LOG_FORMAT",
            show_default=False,
            help="json or text. \\[default: text on a terminal, else json]",
        ),
    ] = None,
    security_protocol: SecurityProtocolOption = None,
    sasl_mechanism: SaslMechanismOption = None,
    sasl_username: SaslUsernameOption = None,
    sasl_password: SaslPasswordOption = None,
    ssl_cafile: SslCafileOption = None,
    ssl_certfile: SslCertfileOption = None,
    ssl_keyfile: SslKeyfileOption = None,
    cloud_provider: Annotated[
        list[str] | None,
        typer.Option(
            "--cloud-provider",
            show_default=False,
            help="Detect with this cloud provider too: azure or aws (or a provider name "
            "of the topology's cloud: section); repeat for several, in order; 'none' turns "
            "the topology's cloud detection off. Endpoints and credentials come from the "
            "environment (AZURE_TEXT_ANALYTICS_ENDPOINT, AWS_REGION, ...). "
            "\\[default: the topology's cloud: section] \\[env: STREAMER_CLOUD_PROVIDER]",
        ),
    ] = None,
    metrics_port: MetricsPortOption = None,
    metrics_host: MetricsHostOption = None,
) -> None:
    """Run the stream processor: raw topics in; clean, token and dead-letter topics out.

    Consumes the topology's input topics, redacts on worker processes, publishes clean
    events, token mappings and dead letters, and commits offsets once they are
    acknowledged. Runs until SIGTERM or Ctrl-C, then drains in-flight work, commits and
    exits 0.

    Every flag is also a STREAMER_* variable (--group-id is STREAMER_GROUP_ID) and
    overrides the topology file. With --metrics-port it serves Prometheus metrics at
    /metrics, liveness at /healthz and readiness at /readyz.

    Exit codes: 0 stopped by a signal, 2 a configuration error, 4 Kafka unreachable or a
    record not acknowledged, 1 anything else (missing output topics with
    --no-create-topics, an unexpected error).
    """
    import asyncio
    import logging

    from streamer.observability.logging import configure_logging
    from streamer.stream.connection import client_options
    from streamer.stream.runtime import check_delivery_settings, run_pipeline
    from streamer.stream.topology import Topology

    settings = build_settings(
        **_kafka_overrides(bootstrap_servers, security_protocol, sasl_mechanism, sasl_username,
                           sasl_password, ssl_cafile, ssl_certfile, ssl_keyfile),
        topology=topology, input_topic=input_topic, output_topic=output_topic,
        token_topic=token_topic, dlq_topic=dlq_topic, group_id=group_id, format=event_format,
        max_record_bytes=max_record_bytes, max_in_flight_records=max_in_flight_records,
        max_in_flight_bytes=max_in_flight_bytes, batch_records=batch_records, workers=workers,
        exactly_once=exactly_once, key_file=key_file, shutdown_timeout=shutdown_timeout,
        create_topics=create_topics, cloud_provider=cloud_provider,
        metrics_port=metrics_port, metrics_host=metrics_host,
    )  # fmt: skip
    pipeline = Topology.load(settings).check_runnable(keys_topic=settings.keys_topic)
    client_options(settings)  # bad Kafka security settings: one line, before anything starts
    check_delivery_settings(settings)
    fmt = log_format or ("text" if sys.stderr.isatty() else "json")
    if fmt not in ("json", "text"):
        raise typer.BadParameter(
            "use json or text", param_hint="--log-format (STREAMER_LOG_FORMAT)"
        )
    if log_level.upper() not in LOG_LEVELS:
        raise typer.BadParameter(
            f"use one of {', '.join(LOG_LEVELS)}", param_hint="--log-level (STREAMER_LOG_LEVEL)"
        )
    configure_logging(log_level, "json" if fmt == "json" else "text")
    stderr.print(
        f"[bold]pii-streamer[/bold] {', '.join(pipeline.inputs)} -> {pipeline.output_topic} "
        f"(tokens {pipeline.token_topic}, dead letters {pipeline.dlq_topic}), "
        f"group {escape(pipeline.group)}; Ctrl-C to stop",  # any text: '[/x]' is no markup
        highlight=False,
    )
    if pipeline.cloud is not None:
        cloud = pipeline.cloud
        stderr.print(
            f"cloud detection: {', '.join(p.label for p in cloud.providers)} "
            f"(mode {cloud.mode}, failover {cloud.failover}, unavailable: {cloud.unavailable})",
            highlight=False,
        )
    try:
        stats = asyncio.run(run_pipeline(pipeline, settings))
    except (StreamerError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a bug: logged through the redacting filter, not printed raw
        logging.getLogger("streamer").critical(
            f"the pipeline stopped on an unexpected {type(exc).__name__}", exc_info=exc
        )
        raise typer.Exit(1) from None
    stderr.print(
        f"stopped: {counted(stats.processed, 'record')} processed (outputs acknowledged); "
        f"published {stats.clean_out:,} clean, "
        f"{counted(stats.dead_letters.total(), 'dead letter')}, "
        f"{counted(stats.token_records, 'token mapping')}",
        highlight=False,
    )


# --- streamer replay (streamer/stream/replay.py) -------------------------------------------


@app.command()
@_interrupted_exits_130(INTERRUPTED_WHILE_STARTING["replay"])
def replay(
    input_topic: Annotated[
        str | None,
        typer.Option(
            "--input-topic",
            show_default=False,
            help="Raw topic to replay. \\[default: the topology's only input]",
        ),
    ] = None,
    from_offset: Annotated[
        str | None,
        typer.Option(
            "--from-offset",
            show_default=False,
            help="First offset to replay: N for every partition, P:N,P:N for "
            "some (only those, unless --partitions says more), or earliest.",
        ),
    ] = None,
    from_timestamp: Annotated[
        str | None,
        typer.Option(
            "--from-timestamp",
            show_default=False,
            help="Replay from the first record at or after this time: ISO 8601 "
            "(2026-05-01T12:00:00Z; UTC without a zone), before now (-2h, -30m, -1d, "
            "-1h30m), now, or epoch milliseconds.",
        ),
    ] = None,
    to_offset: Annotated[
        str | None,
        typer.Option(
            "--to-offset",
            show_default=False,
            help="Stop before this offset (it is not replayed): N, P:N,P:N, or latest. "
            "\\[default: latest: each partition's end when the replay starts]",
        ),
    ] = None,
    to_timestamp: Annotated[
        str | None,
        typer.Option(
            "--to-timestamp",
            show_default=False,
            help="Stop before the first record at or after this time (forms as --from-timestamp).",
        ),
    ] = None,
    partitions: Annotated[
        str | None,
        typer.Option(
            "--partitions",
            show_default=False,
            help="Partitions to replay: 0,2,5 or 0-3. \\[default: all, or those "
            "--from-offset names]",
        ),
    ] = None,
    output_topic: Annotated[
        str | None,
        typer.Option(
            "--output-topic",
            show_default=False,
            help="Clean topic to write to; required unless --dry-run. Usually a new "
            "topic (orders.clean.v2) to switch readers over to; created like "
            "streamer run creates its clean topic.",
        ),
    ] = None,
    token_topic: Annotated[
        str | None,
        typer.Option(
            "--token-topic",
            show_default=False,
            help="Token mapping topic. \\[default: the topology's]",
        ),
    ] = None,
    dlq_topic: Annotated[
        str | None,
        typer.Option(
            "--dlq-topic", show_default=False, help="Dead-letter topic. \\[default: the topology's]"
        ),
    ] = None,
    policy: PolicyOption = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Write nothing: redact the range, then report replaced values per "
            "entity type, dead letters, and how many records would differ from "
            "the clean topic (matched by their provenance headers).",
        ),
    ] = False,
    compare_topic: Annotated[
        str | None,
        typer.Option(
            "--compare-topic",
            show_default=False,
            help="With --dry-run: the clean topic to compare with. \\[default: the "
            "topology's clean topic]",
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            min=0.001,
            show_default=False,
            help="Records per second at most, so the replay leaves room for live "
            "traffic. \\[default: no limit]",
        ),
    ] = None,
    replay_id: Annotated[
        str | None,
        typer.Option(
            "--replay-id",
            show_default=False,
            help="Name under which the replay saves its progress. \\[default: "
            "<input topic>-to-<output topic>]",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the interrupted replay with this id from its saved "
            "offsets, over the range saved when it started (range flags are then "
            "not needed); topics and policy must be the same.",
        ),
    ] = False,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart", help="Discard the unfinished replay with this id and start it over."
        ),
    ] = False,
    replay_dir: Annotated[
        Path | None,
        typer.Option(
            "--replay-dir",
            file_okay=False,
            show_default=False,
            help="Where replays save their progress. \\[env: STREAMER_REPLAY_DIR; "
            "default: <data_dir>/replays]",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON on stdout, for scripts.")
    ] = False,
    topology: TopologyOption = None,
    event_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            show_default=False,
            help="Input event format: json or text. \\[default: the topology's; else json]",
        ),
    ] = None,
    bootstrap_servers: BootstrapOption = None,
    workers: TopologyWorkersOption = None,
    batch_records: Annotated[
        int | None,
        typer.Option(
            "--batch-records",
            min=1,
            show_default=False,
            help="Records per batch handed to a worker. \\[default: the topology's; else 500]",
        ),
    ] = None,
    max_in_flight_records: Annotated[
        int | None,
        typer.Option(
            "--max-in-flight-records",
            min=1,
            show_default=False,
            help="Records read but not yet acknowledged, at most. \\[default: 20000]",
        ),
    ] = None,
    max_record_bytes: TopologyMaxBytesOption = None,
    key_file: KeyFileOption = None,
    log_level: Annotated[str, typer.Option("--log-level", help="Log level.")] = "WARNING",
    security_protocol: SecurityProtocolOption = None,
    sasl_mechanism: SaslMechanismOption = None,
    sasl_username: SaslUsernameOption = None,
    sasl_password: SaslPasswordOption = None,
    ssl_cafile: SslCafileOption = None,
    ssl_certfile: SslCertfileOption = None,
    ssl_keyfile: SslKeyfileOption = None,
) -> None:
    """Replay a range of a raw topic under a policy, without touching the live group.

    It runs the same engine, sinks and headers as streamer run. It reads with its own
    assignment (nothing is committed to a group), writes clean records to
    --output-topic and token mappings and dead letters to the topology's topics, with
    pii.provenance=replay, pii.replay.id and the policy's version in their headers, and
    stops at the end of the range. The same range, policy and keys give the same bytes.

    Try a policy first: --dry-run --policy new.yaml writes nothing and reports
    what would change. Progress is saved after every commit: after Ctrl-C or a
    crash, run the same command with --resume. Exit code 0 when done, 130 when
    interrupted, 2 for a bad range, topic or flag.
    """
    _kafka_failures_as_one_line()
    import asyncio

    from rich.progress import MofNCompleteColumn, ProgressColumn, Task, TaskID, TimeElapsedColumn
    from rich.text import Text

    from streamer.observability.logging import configure_logging
    from streamer.stream.exceptions import ReplayError, ReplayRangeError
    from streamer.stream.ranges import parse_offsets, parse_partitions, parse_timestamp
    from streamer.stream.replay import ReplayReport, ReplayRequest, run_replay
    from streamer.stream.topology import Topology, load_policy_file

    if log_level.upper() not in LOG_LEVELS:
        raise typer.BadParameter(f"use one of {', '.join(LOG_LEVELS)}", param_hint="--log-level")
    if from_offset is not None and from_timestamp is not None:
        raise ReplayRangeError("give --from-offset or --from-timestamp, not both")
    if to_offset is not None and to_timestamp is not None:
        raise ReplayRangeError("give --to-offset or --to-timestamp, not both")
    if from_offset is None and from_timestamp is None and not resume:
        raise ReplayRangeError(
            "where to start is missing: give --from-offset (0 for everything) or "
            "--from-timestamp (e.g. -2h), or --resume to continue a saved replay"
        )
    if output_topic is None and not dry_run:
        raise ReplayError(
            "--output-topic is missing: name the clean topic the replay writes to, usually a "
            "new one such as orders.clean.v2 (or try it first with --dry-run)"
        )
    settings = build_settings(
        **_kafka_overrides(bootstrap_servers, security_protocol, sasl_mechanism, sasl_username,
                           sasl_password, ssl_cafile, ssl_certfile, ssl_keyfile),
        topology=topology, input_topic=[input_topic] if input_topic else None,
        output_topic=output_topic, token_topic=token_topic, dlq_topic=dlq_topic,
        format=event_format, workers=workers, batch_records=batch_records,
        max_in_flight_records=max_in_flight_records, max_record_bytes=max_record_bytes,
        key_file=key_file, replay_dir=replay_dir,
    )  # fmt: skip
    pipeline = Topology.load(settings)
    if len(pipeline.inputs) != 1:
        listed = f" ({', '.join(pipeline.inputs)})" if pipeline.inputs else ""
        raise ReplayError(
            f"{pipeline.source} reads {len(pipeline.inputs)} topics{listed}; name the one to "
            "replay with --input-topic"
        )
    if policy is not None:
        checked = load_policy_file(policy, cloud=pipeline.cloud is not None)
        pipeline = pipeline.model_copy(update={"policy": checked})
    if dry_run and compare_topic is None and output_topic is not None:
        # --output-topic is where the replay would write; a dry run compares with the clean
        # topic the pipeline writes now, the topology's (as --compare-topic's help says).
        unchanged = build_settings(
            topology=topology, input_topic=[input_topic] if input_topic else None
        )
        compare_topic = Topology.load(unchanged).output_topic
    start = (
        parse_offsets(from_offset, "--from-offset") if from_offset is not None
        else parse_timestamp(from_timestamp, "--from-timestamp") if from_timestamp is not None
        else None
    )  # fmt: skip
    if to_offset is not None and to_offset.strip() in ("latest", "end"):
        to_offset = None  # each partition's end when the replay starts, the default
    stop = (
        parse_offsets(to_offset, "--to-offset") if to_offset is not None
        else parse_timestamp(to_timestamp, "--to-timestamp") if to_timestamp is not None
        else None
    )  # fmt: skip
    request = ReplayRequest(
        pipeline.inputs[0], start, stop,
        parse_partitions(partitions) if partitions is not None else None,
        replay_id=replay_id, dry_run=dry_run, compare_topic=compare_topic, rate=rate,
        resume=resume, restart=restart,
    )  # fmt: skip

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f}/s" if speed else "-/s", style="progress.data.speed")

    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        RateColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=stderr,
    )  # fmt: skip
    task: list[TaskID] = []
    planned: list[ReplayReport] = []

    def on_plan(report: ReplayReport) -> None:
        planned.append(report)
        # Logging starts once Kafka answered: before, a broker that cannot be reached is
        # the error line alone, without aiokafka's own record of it.
        configure_logging(log_level, "text")
        target = "dry run, nothing is written" if report.dry_run else (
            f"-> {report.output_topic} (tokens {report.token_topic}, dead letters "
            f"{report.dlq_topic})"
        )  # fmt: skip
        name = f"replay {report.replay_id}" if report.replay_id else "replay"
        stderr.print(
            f"[bold]{escape(name)}[/bold]: {escape(report.input_topic)} {escape(target)}, "
            f"policy {escape(report.policy_version)}",
            highlight=False,
        )
        stderr.print(f"  range: {escape(report.asked)}", highlight=False)
        if resume and (from_offset or from_timestamp or to_offset or to_timestamp):
            stderr.print("  resuming: the range saved at its start applies", highlight=False)
        shown = report.ranges if len(report.ranges) <= 12 else report.ranges[:12]
        for part in shown:
            stderr.print(
                f"  partition {part.partition}: offsets {part.start:,} to {part.stop:,} "
                f"({part.size:,})",
                highlight=False,
            )
        if len(report.ranges) > len(shown):
            stderr.print(f"  ... {len(report.ranges) - len(shown)} more", highlight=False)
        for note in report.notes:
            stderr.print(f"  [yellow]note:[/yellow] {escape(note)}", highlight=False)
        if report.done_before:
            stderr.print(
                f"  resuming at {report.done_before:,} of {counted(report.total, 'offset')}",
                highlight=False,
            )
        progress.start()
        task.append(
            progress.add_task("replaying", total=report.total or None,
                              completed=report.done_before)
        )  # fmt: skip

    def on_progress(done: int, total: int) -> None:
        if task:
            progress.update(task[0], completed=done, total=total)

    try:
        try:
            report = asyncio.run(
                run_replay(pipeline, settings, request, on_plan=on_plan, on_progress=on_progress)
            )
        finally:
            if task:
                progress.stop()
    except KeyboardInterrupt:
        # Before the replay took Ctrl-C over (the workers starting, say), or after.
        if not planned or not Path(planned[0].state_file or "").is_file():
            raise  # nothing saved to resume: one line from _interrupted_exits_130
        planned[0].status = "interrupted"
        _print_replay_report(planned[0])
        raise typer.Exit(130) from None
    if as_json:
        sys.stdout.write(orjson.dumps(report.to_dict()).decode() + "\n")
    _print_replay_report(report)
    if report.status == "interrupted":
        raise typer.Exit(130)


def _print_replay_report(report: Any) -> None:
    stats = report.stats
    if report.status == "already_completed":
        stderr.print(
            f"replay {report.replay_id} already completed ({report.state_file}); nothing to do. "
            "Leave out --resume to run it again.",
            highlight=False,
        )
        return
    if report.status == "interrupted":
        stderr.print(
            f"interrupted: {counted(stats.processed, 'record')} replayed this run"
            + (f"; progress saved in {report.state_file}. Run the same command with --resume "
               "to continue." if report.state_file else "; a dry run saves nothing."),
            highlight=False,
        )  # fmt: skip
        return
    verb = "would replay" if report.dry_run else "replayed"
    stderr.print(
        f"{verb} {counted(stats.processed, 'record')} in {report.seconds:.1f}s: "
        f"{stats.clean_out:,} clean, {counted(stats.dead_letters.total(), 'dead letter')}, "
        f"{counted(stats.token_records, 'token mapping')}",
        highlight=False,
    )
    if stats.entities or stats.dead_letters:
        table = Table(box=None, pad_edge=False)
        table.add_column("replaced values per entity type")
        table.add_column("count", justify="right")
        for entity_type, count in sorted(stats.entities.items()):
            table.add_row(entity_type, f"{count:,}")
        for reason, count in sorted(stats.dead_letters.items()):
            table.add_row(f"dead letters: {reason}", f"{count:,}")
        stderr.print(table)
    comparison = report.comparison
    if comparison is not None:
        table = Table(box=None, pad_edge=False)
        table.add_column(f"against {comparison.compare_topic} (by source offset)")
        table.add_column("records", justify="right")
        rows = (
            ("would differ", comparison.differ),
            ("  changed", comparison.changed),
            ("  clean there, dead-lettered now", comparison.now_dead_lettered),
            ("  not there, clean now", comparison.newly_clean),
            ("unchanged", comparison.unchanged),
            ("not there, dead-lettered now too", comparison.still_dead_lettered),
        )
        for label, count in rows:
            table.add_row(label, f"{count:,}")
        stderr.print(table)
        if comparison.examples:
            shown = ", ".join(f"{p}:{o}" for p, o in comparison.examples)
            stderr.print(f"first that differ (partition:offset): {shown}", highlight=False)
        stderr.print("dry run: nothing was written", highlight=False)


@app.command()
def broker(
    port: Annotated[
        int | None,
        typer.Option(
            "--port", min=0, max=65535, show_default=False, help="Port. \\[default: a free one]"
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Run the embedded Kafka-compatible broker (Tansu, in memory) in the foreground.

    Prints its bootstrap address; data is gone when it stops (Ctrl-C or SIGTERM).
    """
    import signal

    from streamer.broker import EmbeddedBroker

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    embedded = EmbeddedBroker(port=port, host=host, exit_with_parent=True)
    embedded.start()
    try:
        stderr.print("embedded broker running (in memory); Ctrl-C to stop", highlight=False)
        print(embedded.bootstrap_servers, flush=True)
        code = embedded.wait()
        raise typer.Exit(code or 0)
    except KeyboardInterrupt:
        stderr.print("stopping the embedded broker", highlight=False)
    finally:
        embedded.stop()


@app.command()
def produce(
    topic: Annotated[str, typer.Option("--topic", help="Topic to write to.")],
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="JSON-lines files (gzip ones too) or glob patterns ('events/*.jsonl'); "
            "none or '-' reads standard input.",
            show_default=False,
        ),
    ] = None,
    key_field: Annotated[
        str | None,
        typer.Option(
            "--key-field",
            show_default=False,
            help="JSON field (dotted path) whose value (a string, or a number as written) "
            "is the record key.",
        ),
    ] = None,
    bootstrap_servers: BootstrapOption = None,
    security_protocol: SecurityProtocolOption = None,
    sasl_mechanism: SaslMechanismOption = None,
    sasl_username: SaslUsernameOption = None,
    sasl_password: SaslPasswordOption = None,
    ssl_cafile: SslCafileOption = None,
    ssl_certfile: SslCertfileOption = None,
    ssl_keyfile: SslKeyfileOption = None,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample",
            min=1,
            show_default=False,
            help="Produce this many generated support tickets (keyed by customer id) "
            "instead of reading files: demo traffic. Needs faker "
            "(pip install 'pii-streamer\\[samples]').",
        ),
    ] = None,
) -> None:
    """Produce each line of JSON-lines files (or stdin) as one record, as is.

    Each line is sent as soon as it is read, so a pipe (tail -f app.log | streamer
    produce ...) streams. Ctrl-C stops after sending the lines read so far (exit 130).
    """
    _kafka_failures_as_one_line()
    import asyncio

    from streamer.stream.tools import ProduceReport, produce_lines

    if sample is not None:
        if files:
            raise typer.BadParameter("give files or --sample, not both", param_hint="--sample")
        files, key_field = _sample_file(sample), key_field or "customer.id"

    settings = build_settings(
        **_kafka_overrides(bootstrap_servers, security_protocol, sasl_mechanism, sasl_username,
                           sasl_password, ssl_cafile, ssl_certfile, ssl_keyfile),
    )  # fmt: skip
    expanded = _expand_globs(files or []) or [Path("-")]
    sources = [p for p in expanded if str(p) != "-"]
    for path in sources:  # a named pipe or <(zcat events.gz) too, not a directory
        if not path.exists() or path.is_dir():
            raise typer.BadParameter(f"{path} is not a readable file", param_hint="FILES")
    read_stdin = len(sources) < len(expanded)
    sized = not read_stdin and all(path.is_file() for path in sources)
    total = sum(path.stat().st_size for path in sources) if sized else None
    handles: list[BinaryIO] = []  # in command-line order, standard input where '-' stands
    for path in expanded:
        if str(path) != "-":
            handles.append(path.open("rb"))
        elif sys.stdin.buffer not in handles:
            handles.append(sys.stdin.buffer)
    if read_stdin and sys.stdin.isatty():  # nothing piped in: say what it waits for
        stderr.print(
            "reading JSON lines from standard input; Ctrl-D ends (or pass files)",
            highlight=False,
        )
    progress = Progress(
        TextColumn(f"producing to {topic}"), BarColumn(), TransferSpeedColumn(),
        TimeRemainingColumn(), console=stderr, transient=True,
        disable=not stderr.is_terminal,  # off a terminal it only left an empty line
    )  # fmt: skip
    report = ProduceReport()
    try:
        with progress:
            task = progress.add_task("produce", total=total)
            asyncio.run(
                produce_lines(
                    settings, topic, handles, key_field=key_field, report=report,
                    on_progress=lambda size: progress.advance(task, size),
                    on_missing_topic=lambda: stderr.print(
                        f"[yellow]warning:[/yellow] topic {escape(topic)} does not exist; the "
                        "broker creates it with its defaults if it allows that (check the name; "
                        "streamer topics creates a topology's topics with the right settings)",
                        highlight=False,
                    ),
                )
            )  # fmt: skip
    except KeyboardInterrupt:
        stderr.print(f"interrupted: {counted(report.records, 'record')} produced to {topic}",
                     highlight=False)  # fmt: skip
        raise typer.Exit(130) from None
    finally:
        for handle in handles:
            if handle is not sys.stdin.buffer:
                handle.close()
    stderr.print(
        f"produced {counted(report.records, 'record')} ({counted(report.bytes, 'byte')}) to {topic}"
    )
    if report.not_json:
        stderr.print(
            f"[yellow]warning:[/yellow] {report.not_json:,} line(s) are not JSON (the first: "
            f"{escape(report.first_not_json)}), produced as they are: a JSON pipeline "
            "dead-letters them. A JSON array or pretty-printed JSON needs one event per line "
            "first (jq -c '.[]' FILE)",
            highlight=False,
        )
    if report.without_key:
        stderr.print(
            f"[yellow]warning:[/yellow] {report.without_key:,} record(s) without a key: "
            f"--key-field {escape(key_field or '')} was missing, null or not a string or number "
            "in them",
            highlight=False,
        )


def _expand_globs(paths: list[Path]) -> list[Path]:
    """Patterns the shell left alone (quoted, or no shell: make, cron) matched here, in
    name order; a pattern that matches nothing is an error, not an empty input."""
    import glob

    expanded: list[Path] = []
    for path in paths:
        if path.exists() or not glob.has_magic(str(path)):
            expanded.append(path)
            continue
        matches = sorted(glob.glob(str(path), recursive=True))
        if not matches:
            raise typer.BadParameter(f"no file matches {path}", param_hint="FILES")
        expanded.extend(Path(match) for match in matches)
    return expanded


def _sample_file(count: int) -> list[Path]:
    """``count`` sample support tickets in a temporary JSON-lines file (removed at exit)."""
    import atexit
    import tempfile

    from streamer.samples import support_tickets

    handle = tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False)  # noqa: SIM115
    with handle:
        for event in support_tickets(count):
            handle.write(orjson.dumps(event) + b"\n")
    path = Path(handle.name)
    atexit.register(path.unlink, missing_ok=True)
    return [path]


@app.command()
def tail(
    topic: Annotated[str, typer.Option("--topic", help="Topic to read.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep waiting for new records.")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-n",
            min=1,
            show_default=False,
            help="Stop after this many records (the first; --last N for the last).",
        ),
    ] = None,
    from_end: Annotated[
        bool, typer.Option("--from-end", help="Only records produced from now on.")
    ] = False,
    last: Annotated[
        int | None,
        typer.Option(
            "--last",
            min=1,
            show_default=False,
            help="Start at the last N records of each partition (as tail -n does).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per record, for scripts.")
    ] = False,
    bootstrap_servers: BootstrapOption = None,
    security_protocol: SecurityProtocolOption = None,
    sasl_mechanism: SaslMechanismOption = None,
    sasl_username: SaslUsernameOption = None,
    sasl_password: SaslPasswordOption = None,
    ssl_cafile: SslCafileOption = None,
    ssl_certfile: SslCertfileOption = None,
    ssl_keyfile: SslKeyfileOption = None,
) -> None:
    """Print a topic's records with their headers; JSON values pretty-printed.

    Reads every partition from the beginning (or its last N records, or only new ones)
    without joining a group (nothing is committed) and stops when no record arrived for
    two seconds, unless --follow.
    """
    _kafka_failures_as_one_line()
    if last is not None and from_end:
        raise typer.BadParameter("give --last or --from-end, not both", param_hint="--last")
    import asyncio

    from rich.json import JSON

    from streamer.stream.tools import describe_record, read_topic

    settings = build_settings(
        **_kafka_overrides(bootstrap_servers, security_protocol, sasl_mechanism, sasl_username,
                           sasl_password, ssl_cafile, ssl_certfile, ssl_keyfile),
    )  # fmt: skip

    count = 0

    async def show() -> None:
        nonlocal count
        async for record in read_topic(
            settings, topic, from_beginning=not from_end, follow=follow, limit=limit, last=last
        ):
            count += 1
            described = describe_record(record)
            if as_json:
                sys.stdout.write(orjson.dumps(described).decode() + "\n")
                sys.stdout.flush()
                continue
            key = _shown_key(described["key"])
            # soft_wrap: a line longer than the terminal (or than 80 columns in a pipe)
            # is not broken, or a value would look as if it held a newline.
            stdout.print(
                f"[bold]{topic}[/bold] partition {record.partition} offset {record.offset} "
                f"key {escape(key)} timestamp {record.timestamp}",
                highlight=False, soft_wrap=True,
            )  # fmt: skip
            for name, value in described["headers"].items():
                header = escape(_terminal_safe(f"{name}:"))
                stdout.print(f"  [dim]{header}[/dim] {escape(_terminal_safe(value))}",
                             highlight=False, soft_wrap=True)  # fmt: skip
            value = described["value"]
            if record.value is None:
                stdout.print("(no value: a tombstone)", style="dim", highlight=False)
            elif not record.value:
                stdout.print("(empty value)", style="dim", highlight=False)
            elif not _is_utf8(record.value):  # not {"base64": ...}, as if the event were JSON
                stdout.print(f"(binary value, {len(record.value):,} bytes, base64) "
                             f"{value['base64']}", style="dim", highlight=False,
                             soft_wrap=True)  # fmt: skip
            elif isinstance(value, dict | list):
                stdout.print(JSON.from_data(value), soft_wrap=True)
            elif isinstance(value, str):
                stdout.print(_terminal_safe(value), markup=False, highlight=False, soft_wrap=True)
            else:  # a JSON number, true, false or null, as written in JSON
                stdout.print(orjson.dumps(value).decode(), highlight=False)
            stdout.print()

    with contextlib.suppress(KeyboardInterrupt):  # how --follow ends: not an error
        asyncio.run(show())
    if not as_json:
        stderr.print(f"{count:,} record(s)", highlight=False)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _shown_key(key: str | dict[str, str] | None) -> str:
    """A record key for ``streamer tail``: quoted text, ``None``, or a binary key's base64."""
    if isinstance(key, dict):
        return f"(binary, base64) {key['base64']}"
    return _terminal_safe(repr(key))


#: Control characters but newline and tab: an event's text may hold escape sequences
#: that retitle, clear or otherwise drive the reader's terminal.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _terminal_safe(text: str) -> str:
    """``text`` with its control characters shown as ``\\x1b`` escapes."""
    return _CONTROL_CHARACTERS.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


@app.command()
@_interrupted_exits_130("interrupted: run streamer topics again to create the topics not made")
def topics(
    topology: TopologyOption = None,
    input_topic: InputTopicOption = None,
    output_topic: Annotated[
        str | None, typer.Option("--output-topic", show_default=False, help="Clean topic.")
    ] = None,
    token_topic: Annotated[
        str | None, typer.Option("--token-topic", show_default=False, help="Token topic.")
    ] = None,
    dlq_topic: Annotated[
        str | None, typer.Option("--dlq-topic", show_default=False, help="Dead-letter topic.")
    ] = None,
    inputs: Annotated[
        bool, typer.Option("--inputs/--no-inputs", help="Also create missing input topics.")
    ] = True,
    max_record_bytes: TopologyMaxBytesOption = None,
    bootstrap_servers: BootstrapOption = None,
    security_protocol: SecurityProtocolOption = None,
    sasl_mechanism: SaslMechanismOption = None,
    sasl_username: SaslUsernameOption = None,
    sasl_password: SaslPasswordOption = None,
    ssl_cafile: SslCafileOption = None,
    ssl_certfile: SslCertfileOption = None,
    ssl_keyfile: SslKeyfileOption = None,
) -> None:
    """Create a topology's topics with the right settings.

    The token topic is compacted; the clean and dead-letter topics get the input's
    partition count and take records as large as the record limit (the topology's
    limits.max_record_bytes, or --max-record-bytes as given to streamer run). Existing
    topics are left alone (and checked). A new input topic gets topics.partitions
    partitions and every new topic topics.replication_factor replicas: set them in the
    topology's topics section (6 and 1 without one).
    """
    _kafka_failures_as_one_line()
    import asyncio

    from streamer.stream.admin import ensure_topics
    from streamer.stream.topology import Topology

    settings = build_settings(
        **_kafka_overrides(bootstrap_servers, security_protocol, sasl_mechanism, sasl_username,
                           sasl_password, ssl_cafile, ssl_certfile, ssl_keyfile),
        topology=topology, input_topic=input_topic, output_topic=output_topic,
        token_topic=token_topic, dlq_topic=dlq_topic, max_record_bytes=max_record_bytes,
    )  # fmt: skip
    pipeline = Topology.load(settings).check_runnable()
    report = asyncio.run(ensure_topics(settings, pipeline, include_inputs=inputs))
    table = Table(title=f"topics of {pipeline.name}")
    for column in ("topic", "partitions", "settings", "status"):
        table.add_column(column)
    for plan in report.created:
        configs = ", ".join(f"{k}={v}" for k, v in plan.configs.items())
        table.add_row(plan.name, str(plan.partitions), configs, "created")
    for name, partitions in report.existing.items():
        table.add_row(name, str(partitions), "", "exists")
    stdout.print(table)
    for warning in report.warnings:
        stderr.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    created = {plan.name: plan.partitions for plan in report.created}
    clean = created.get(pipeline.output_topic, report.existing.get(pipeline.output_topic))
    for name in report.missing_inputs:
        if name not in created:  # --no-inputs
            stderr.print(
                f"[yellow]warning:[/yellow] input topic {escape(name)!r} does not exist; create "
                f"it with {clean} partitions, as the clean topic, or records are partitioned "
                "by key hash instead of keeping their partition number",
                highlight=False,
            )


# --- operations: streamer status (issue 8) -------------------------------------------------


@app.command()
@_interrupted_exits_130("interrupted")
def status(
    group_id: Annotated[
        str | None,
        typer.Option(
            "--group-id",
            show_default=False,
            help="Consumer group of the pipeline. \\[default: the topology's group]",
        ),
    ] = None,
    topology: TopologyOption = None,
    input_topic: InputTopicOption = None,
    metrics_url: Annotated[
        list[str] | None,
        typer.Option(
            "--metrics-url",
            show_default=False,
            help="A processor's metrics endpoint (http://HOST:PORT, as given to "
            "--metrics-port); repeat for each instance. Adds readiness, rates and "
            "cloud breaker states.",
        ),
    ] = None,
    window: Annotated[
        float,
        typer.Option(
            "--window",
            min=0,
            help="Seconds between the two offset readings that "
            "give throughput; 0 reads once (no throughput).",
        ),
    ] = 3.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")] = False,
    bootstrap_servers: BootstrapOption = None,
    security_protocol: SecurityProtocolOption = None,
    sasl_mechanism: SaslMechanismOption = None,
    sasl_username: SaslUsernameOption = None,
    sasl_password: SaslPasswordOption = None,
    ssl_cafile: SslCafileOption = None,
    ssl_certfile: SslCertfileOption = None,
    ssl_keyfile: SslKeyfileOption = None,
) -> None:
    """Show a running pipeline's consumer group: lag, throughput and breaker states.

    Lag per partition is the end offset the broker reports minus the group's committed
    offset; throughput is how far the committed offsets move during --window seconds.
    With --metrics-url it also reads each processor's /metrics and /readyz: readiness,
    records/s, in-flight work and the cloud circuit breakers.
    """  # fmt: skip
    _kafka_failures_as_one_line()
    import asyncio

    from streamer.stream.status import group_status
    from streamer.stream.topology import Topology

    settings = build_settings(
        **_kafka_overrides(bootstrap_servers, security_protocol, sasl_mechanism, sasl_username,
                           sasl_password, ssl_cafile, ssl_certfile, ssl_keyfile),
        topology=topology, input_topic=input_topic, group_id=group_id,
    )  # fmt: skip
    pipeline = Topology.load(settings)
    if not pipeline.inputs and not settings.group_id:
        raise typer.BadParameter(
            "name the pipeline: --topology FILE, or --group-id (with --input-topic)",
            param_hint="--group-id",
        )
    report = asyncio.run(
        group_status(settings, pipeline.group, pipeline.inputs, window=window,
                     metrics_urls=metrics_url or [])
    )  # fmt: skip
    if as_json:
        sys.stdout.write(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    _print_status(report)


def _print_status(report: Any) -> None:
    def number(value: int | None) -> str:
        return "-" if value is None else f"{value:,}"

    def rate(value: float | None) -> str:
        return "-" if value is None else f"{value:,.1f}/s"

    members = len(report.members)
    window = report.window_seconds
    lag = "unknown" if report.lag is None else counted(report.lag, "record")
    if report.lag is not None and report.lag_unknown:  # not 0 when it is only not known
        lag = f"{lag} on the other partitions, unknown on {report.lag_unknown}"
    stdout.print(
        f"[bold]group {escape(report.group_id)}[/bold]: {report.state}, {members} member(s); "
        f"lag {lag}, "
        f"throughput {rate(report.throughput)}"
        + (f" (committed offsets over {window:g}s)" if window else ""),
        highlight=False, soft_wrap=True,
    )  # fmt: skip
    from rich import box

    # One input topic (the usual case) is named in the title: in a column, an 80-column
    # terminal cut it to "support.ti…".
    topics = {row.topic for row in report.partitions}
    where = f"{next(iter(topics))} partitions" if len(topics) == 1 else "partitions"
    table = Table(title=f"{escape(where)} (end offsets as the broker reports them)")
    columns = ["partition", "committed", "end offset", "lag", "committed/s", "owner"]
    if len(topics) > 1:
        columns.insert(0, "topic")
    for column in columns:
        table.add_column(column, justify="left" if column in ("topic", "owner") else "right",
                         overflow="fold" if column == "topic" else "ellipsis")  # fmt: skip
    for row in report.partitions:
        lag = number(row.lag) if row.lag is not None or row.end_offset is None else "?"
        cells = (str(row.partition), number(row.committed), number(row.end_offset), lag,
                 rate(row.rate), row.owner or "-")  # fmt: skip
        table.add_row(*((row.topic, *cells) if len(topics) > 1 else cells))
    stdout.print(table)
    if report.partitions and all(row.committed is None for row in report.partitions):
        stdout.print(
            f"[yellow]![/yellow] group {escape(report.group_id)} has committed no offsets on "
            f"{', '.join(report.topics)}: lag counts from the start of each partition (check "
            "--group-id; a new group starts where STREAMER_AUTO_OFFSET_RESET says)",
            highlight=False, soft_wrap=True,
        )  # fmt: skip
    if report.lag_unknown:
        stdout.print(
            f"[yellow]?[/yellow] lag unknown on {report.lag_unknown} partition(s): the broker "
            "reported an end offset below the committed one (some brokers, the embedded one "
            "among them, under-report end offsets)",
            highlight=False, soft_wrap=True,
        )  # fmt: skip
    if report.processors:
        processors = Table(title="processors (from their metrics endpoints)",
                           box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)  # fmt: skip
        widest = max(len(p.url.removeprefix("http://")) for p in report.processors)
        processors.add_column("endpoint", no_wrap=True, min_width=widest)
        for column in ("ready", "records/s", "DLQ/s", "assigned", "paused", "in flight",
                       "workers"):  # fmt: skip
            processors.add_column(column, justify="right")
        unreachable = []
        for p in report.processors:
            endpoint = p.url.removeprefix("http://")
            if not p.reachable:
                processors.add_row(endpoint, "[red]no[/red]")
                unreachable.append(f"{endpoint}: {p.error}")
                continue
            ready = "yes" if p.ready else "?" if p.ready is None else "no: " + ", ".join(p.failing)
            per_second = (p.events_per_second, p.dead_letters_per_second)
            processors.add_row(endpoint, ready, *(f"{r:,.1f}" if r is not None else "-"
                                                  for r in per_second),
                               number(p.assigned_partitions), number(p.paused_partitions),
                               number(p.in_flight_records),
                               f"{number(p.workers_alive)}/{number(p.workers)}")  # fmt: skip
        stdout.print(processors)
        for line in unreachable:
            stdout.print(f"[red]unreachable[/red] {escape(line)}", highlight=False, soft_wrap=True)
    breakers = report.breakers
    if breakers is None:
        stdout.print("cloud breakers: n/a (pass --metrics-url to read them from the processors)",
                     highlight=False)  # fmt: skip
    elif not breakers:
        stdout.print("cloud breakers: none (no cloud detector in use)", highlight=False)
    else:
        colours = {"closed": "green", "half-open": "yellow", "open": "red"}
        states = ", ".join(f"{provider} [{colours.get(state, 'white')}]{state}[/]"
                           for provider, state in sorted(breakers.items()))  # fmt: skip
        stdout.print(f"cloud breakers: {states}", highlight=False)


# --- vault: streamer keys, streamer unmask, streamer serve (issue 6) ------------------------

keys_app = typer.Typer(
    help="Manage the key file: list, create, rotate and shred key scopes (crypto-shredding).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")

KeyProviderOption = Annotated[
    str | None,
    typer.Option("--key-provider", envvar="STREAMER_KEY_PROVIDER", show_default=False,
                 help="Where the key-encryption key lives: file, env, aws-kms, azure-keyvault. "
                 "\\[default: file]"),
]  # fmt: skip
TokenTopicOption = Annotated[
    str | None,
    typer.Option("--token-topic", envvar="STREAMER_TOKEN_TOPIC", show_default=False,
                 help="Topic of token mappings. \\[default: pii.tokens]"),
]  # fmt: skip
AuditTopicOption = Annotated[
    str | None,
    typer.Option("--audit-topic", envvar="STREAMER_AUDIT_TOPIC", show_default=False,
                 help="Topic every unmask writes its audit record to. \\[default: pii.audit]"),
]  # fmt: skip
KeysTopicOption = Annotated[
    str | None,
    typer.Option("--keys-topic", envvar="STREAMER_KEYS_TOPIC", show_default=False,
                 help="Topic that shares the key store between hosts (changes are published "
                 "there). \\[default: none: the key file is local]"),
]  # fmt: skip
RebuildIndexOption = Annotated[
    bool,
    typer.Option("--rebuild-index", help="Rebuild the local token index from the token topic."),
]


def _print_json(document: Any) -> None:
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


@keys_app.command("list")
def keys_list(
    patterns: Annotated[
        list[str] | None,
        typer.Argument(help="Scopes to show ('*' patterns); none shows all.", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    key_file: ExistingKeyFileOption = None,
    keys_topic: KeysTopicOption = None,
    bootstrap_servers: BootstrapOption = None,
) -> None:
    """List key scopes and their keys (ids only, never key material)."""
    from streamer.redaction.keystore import Keystore
    from streamer.vault.key_admin import list_scopes
    from streamer.vault.keyring import require_key_store

    settings = build_settings(key_file=key_file, keys_topic=keys_topic,
                              bootstrap_servers=bootstrap_servers)  # fmt: skip
    require_key_store(settings)
    _sync_key_store(settings)
    keystore = Keystore.open(settings.resolved_key_file(), create=False)
    try:
        scopes = list_scopes(keystore, patterns)
    finally:
        keystore.close()
    if as_json:
        _print_json([
            {"scope": s.scope, "state": s.state, "token_key_id": s.token_key_id,
             "active_key_id": s.active_key_id, "data_key_ids": list(s.data_key_ids),
             "shredded_key_ids": list(s.shredded_key_ids), "created_ms": s.created_ms,
             "rotated_ms": s.rotated_ms}
            for s in scopes
        ])  # fmt: skip
        return
    table = Table(title=f"key scopes in {settings.resolved_key_file()}")
    for column in ("scope", "state", "active key", "data keys", "shredded keys", "created (UTC)"):
        table.add_column(column)
    for s in scopes:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(s.created_ms / 1000))
        # A scope is a tenant id or a header's value, any text: '[/x]' is no markup.
        table.add_row(Text(_terminal_safe(s.scope)), s.state, s.active_key_id or "-",
                      str(len(s.data_key_ids)), str(len(s.shredded_key_ids)), created)  # fmt: skip
    stdout.print(table)


@keys_app.command("create")
def keys_create(
    scopes: Annotated[list[str], typer.Argument(help="Scopes to create keys for.")],
    key_file: KeyFileOption = None,
    key_provider: KeyProviderOption = None,
    keys_topic: KeysTopicOption = None,
    bootstrap_servers: BootstrapOption = None,
) -> None:
    """Create keys for scopes ahead of their first use.

    Needed when several hosts share a key file, or with STREAMER_KEY_SCOPE_AUTOCREATE=false.
    """
    from streamer.vault.key_admin import create_scopes
    from streamer.vault.keyring import key_store_keyring

    settings = build_settings(
        key_file=key_file, key_provider=key_provider, keys_topic=keys_topic,
        bootstrap_servers=bootstrap_servers,
    )  # fmt: skip
    summaries = create_scopes(key_store_keyring(settings, **_keys_topic_options(settings)), scopes)
    _sync_key_store(settings)
    for summary in summaries:
        stdout.print(
            f"{escape(_terminal_safe(summary.scope))}: active key {summary.active_key_id}",
            highlight=False,
            soft_wrap=True,
        )


@keys_app.command("rotate")
def keys_rotate(
    scopes: Annotated[
        list[str] | None,
        typer.Argument(help="Scopes to rotate; with --all, every live scope.", show_default=False),
    ] = None,
    all_scopes: Annotated[bool, typer.Option("--all", help="Rotate every live scope.")] = False,
    kek: Annotated[
        bool,
        typer.Option(
            "--kek",
            help="Re-wrap the root key with a new key-encryption key instead: "
            "a new KEK file (file provider) or the KMS / Key Vault key's current "
            "version.",
        ),
    ] = False,
    to_provider: Annotated[
        str | None,
        typer.Option(
            "--to-provider",
            show_default=False,
            help="With --kek: move the root key to this provider (then set "
            "STREAMER_KEY_PROVIDER to it).",
        ),
    ] = None,
    key_file: ExistingKeyFileOption = None,
    key_provider: KeyProviderOption = None,
    keys_topic: KeysTopicOption = None,
    bootstrap_servers: BootstrapOption = None,
) -> None:
    """Rotate data keys of scopes (or, with --kek, the key-encryption key).

    New ciphertexts use the new data key; old ones still decrypt; tokens do not change.
    Running processes pick the new key up within key_refresh_seconds.
    """
    from streamer.redaction.keystore import Keystore
    from streamer.vault import KEY_PROVIDERS
    from streamer.vault.key_admin import (
        list_scopes,
        resolve_scopes,
        rotate_kek,
        rotate_kek_file,
        rotate_scopes,
    )
    from streamer.vault.keyring import key_store_keyring, require_key_store

    settings = build_settings(
        key_file=key_file, key_provider=key_provider, keys_topic=keys_topic,
        bootstrap_servers=bootstrap_servers,
    )  # fmt: skip
    require_key_store(settings)
    if not settings.keys_topic:  # (a keys topic fills a new key file first)
        # Opening the keyring would make a new key store there, with nothing to rotate.
        Keystore.open(settings.resolved_key_file(), create=False).close()
    keyring = key_store_keyring(settings, **_keys_topic_options(settings))
    if kek:
        if scopes or all_scopes:
            raise typer.BadParameter("--kek re-wraps the root key; give no scopes with it")
        target = to_provider or settings.resolved_key_provider()
        if target == "file":
            wrapping = rotate_kek_file(keyring, settings.resolved_kek_file())
        else:
            provider = KEY_PROVIDERS.create(target, settings)
            try:
                wrapping = rotate_kek(keyring, provider)
            finally:
                provider.close()
        _sync_key_store(settings)
        stdout.print(f"root key re-wrapped by {wrapping.provider} ({wrapping.kek_id})",
                     highlight=False, soft_wrap=True)  # fmt: skip
        if target != settings.resolved_key_provider():
            stdout.print(f"now set STREAMER_KEY_PROVIDER={target}", highlight=False, soft_wrap=True)
        return
    if all_scopes == bool(scopes):
        raise typer.BadParameter("name scopes to rotate, or give --all (not both)")
    chosen = (
        [s.scope for s in list_scopes(keyring.keystore) if s.state == "active"]
        if all_scopes
        else resolve_scopes(keyring.keystore, scopes or [])
    )
    if not chosen:
        stderr.print(f"no active key scopes in {settings.resolved_key_file()}: nothing rotated",
                     highlight=False, soft_wrap=True)  # fmt: skip
    rotations = rotate_scopes(keyring, chosen)
    _sync_key_store(settings)
    for rotation in rotations:
        scope = escape(_terminal_safe(rotation.scope))
        stdout.print(f"{scope}: {rotation.old_key_id} -> {rotation.new_key_id}",
                     highlight=False, soft_wrap=True)  # fmt: skip


@keys_app.command("shred")
def keys_shred(
    scopes: Annotated[
        list[str] | None, typer.Argument(help="Scopes to shred.", show_default=False)
    ] = None,
    prefix: Annotated[
        str | None,
        typer.Option(
            "--prefix",
            show_default=False,
            help="Also shred every scope starting with this (a tenant's subjects).",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    key_file: ExistingKeyFileOption = None,
    keys_topic: KeysTopicOption = None,
    bootstrap_servers: BootstrapOption = None,
) -> None:
    """Crypto-shred scopes: destroy their keys, so their originals are gone for good.

    For erasure requests. Irreversible. Copies of the key file made before (backups)
    still hold the keys, wrapped by the root key.
    """
    from streamer.redaction.keystore import Keystore
    from streamer.vault.key_admin import resolve_scopes, shred_scopes
    from streamer.vault.keyring import require_key_store

    if not scopes and prefix is None:
        raise typer.BadParameter("name scopes to shred, or give --prefix")
    settings = build_settings(key_file=key_file, keys_topic=keys_topic,
                              bootstrap_servers=bootstrap_servers)  # fmt: skip
    require_key_store(settings)
    _sync_key_store(settings)
    keystore = Keystore.open(settings.resolved_key_file(), create=False)
    try:
        chosen = resolve_scopes(keystore, scopes or [], prefix=prefix)
        if not yes and not typer.confirm(
            f"Destroy the keys of {len(chosen)} scope(s) ({', '.join(chosen[:5])}"
            f"{', ...' if len(chosen) > 5 else ''})? Their originals will be gone for good"
        ):
            raise typer.Exit(1)
        shredded = shred_scopes(keystore, chosen)
        _sync_key_store(settings)  # every host forgets them on its next pull
        for scope, key_ids in shredded.items():
            stdout.print(
                f"{escape(_terminal_safe(scope))}: shredded {len(key_ids)} key(s)",
                highlight=False,
                soft_wrap=True,
            )
    finally:
        keystore.close()


@app.command()
def unmask(
    text: Annotated[
        str | None,
        typer.Argument(
            help="Text (or with --json, a JSON event) to restore; none reads lines from stdin.",
            show_default=False,
        ),
    ] = None,
    json_events: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Input is JSON events (one per line on stdin); topic "
            "records that are JSON are always treated as JSON. A tokenized whole number "
            "comes back as a string (see the README).",
        ),
    ] = False,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            show_default=False,
            help="Key scope you may unmask ('*' patterns); repeat for several. "
            "Tokens of other scopes are refused. \\[default: default]",
        ),
    ] = None,
    from_topic: Annotated[
        str | None,
        typer.Option(
            "--from-topic",
            show_default=False,
            help="Restore a range of this clean topic into --to-topic.",
        ),
    ] = None,
    to_topic: Annotated[
        str | None,
        typer.Option("--to-topic", show_default=False, help="Where restored records go."),
    ] = None,
    partition: Annotated[
        list[int] | None,
        typer.Option(
            "--partition",
            show_default=False,
            help="With --from-topic: partition to read; repeat. \\[default: all]",
        ),
    ] = None,
    start_offset: Annotated[
        int | None,
        typer.Option(
            "--start-offset",
            min=0,
            show_default=False,
            help="With --from-topic: first offset (each partition). \\[default: earliest]",
        ),
    ] = None,
    end_offset: Annotated[
        int | None,
        typer.Option(
            "--end-offset",
            min=0,
            show_default=False,
            help="With --from-topic: stop before this offset. \\[default: the end now]",
        ),
    ] = None,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="Restore what can be and leave the rest as tokens, "
            "instead of failing (the exit code still reports failures).",
        ),
    ] = False,
    bootstrap_servers: BootstrapOption = None,
    token_topic: TokenTopicOption = None,
    audit_topic: AuditTopicOption = None,
    key_file: ExistingKeyFileOption = None,
    key_provider: KeyProviderOption = None,
    keys_topic: KeysTopicOption = None,
    rebuild_index: RebuildIndexOption = False,
) -> None:
    """Restore originals in a text, JSON events, or a range of a clean topic.

    Tokens are looked up in the token topic (through a local index). Only tokens of the
    --scope you give are restored; every call first writes an audit record (never the
    originals) to the audit topic.

    Exit codes: 4 unknown token, 5 wrong key, 6 tampered ciphertext, 7 shredded key,
    8 scope not allowed, 9 audit topic unavailable, 10 key provider unavailable, 13 a topic
    (or Kafka) cannot be read.
    """
    _kafka_failures_as_one_line()
    import asyncio

    from streamer.stream.connection import security_options
    from streamer.vault import Actor, Caller, PartlyRestored, UnmaskSession

    if (from_topic is None) != (to_topic is None):
        raise typer.BadParameter("--from-topic and --to-topic go together")
    if from_topic is not None and text is not None:
        raise typer.BadParameter("give a TEXT or --from-topic, not both")
    if from_topic is None and (partition or start_offset is not None or end_offset is not None):
        raise typer.BadParameter(
            "--partition, --start-offset and --end-offset choose records of --from-topic; "
            "add --from-topic and --to-topic, or leave them out"
        )
    settings = build_settings(
        key_file=key_file, key_provider=key_provider, bootstrap_servers=bootstrap_servers,
        token_topic=token_topic, audit_topic=audit_topic, keys_topic=keys_topic,
    )  # fmt: skip
    caller = Caller(Actor.os_user(), tuple(scope or ["default"]))

    async def run() -> int:
        options = security_options(settings)
        async with UnmaskSession(settings, rebuild_index=rebuild_index, **options) as session:
            reidentifier = session.reidentifier
            if from_topic is not None:
                assert to_topic is not None
                return await _unmask_topic(
                    reidentifier, caller, settings, from_topic, to_topic, partition,
                    start_offset, end_offset, "json",
                )  # fmt: skip
            if text is not None:
                restored, restoration = await _unmask_one(
                    reidentifier, caller, text, json_events, partial
                )
                sys.stdout.write(restored + "\n")
                _note_shortened_tokens([text], set())
                failure = restoration.first_failure()  # only with --partial
                if failure is None:
                    return 0
                stderr.print(f"error: {failure}", markup=False, highlight=False, soft_wrap=True)
                return failure.exit_code
            first_error = 0
            number = 0
            noted: set[str] = set()
            for batch in _read_batches(sys.stdin.buffer, 500):
                lines = [raw.decode("utf-8", "surrogateescape") for raw, _ in batch]
                filled = [line for line in lines if line.strip()]
                _note_shortened_tokens(filled, noted)
                results = iter(await reidentifier.unmask_lines(
                    filled, caller, json_events=json_events, strict=not partial))  # fmt: skip
                for line, (_, ending) in zip(lines, batch, strict=True):
                    number += 1
                    result = next(results) if line.strip() else ""
                    if isinstance(result, str):
                        sys.stdout.write(result + ending.decode())
                        continue
                    if isinstance(result, PartlyRestored):  # --partial: the line, and why
                        sys.stdout.write(result.text + ending.decode())
                        result = result.error
                    first_error = first_error or result.exit_code
                    error = {"line": number, "error": result.code, "message": str(result)}
                    sys.stderr.write(orjson.dumps(error).decode() + "\n")
                sys.stdout.flush()
            return first_error

    code = asyncio.run(run())
    if code:
        raise typer.Exit(code)


#: Shortened tokens ``streamer unmask`` names at most, per run.
_SHORTENED_NOTES = 10


def _note_shortened_tokens(texts: list[str], noted: set[str]) -> None:
    """Say on stderr which tokens in ``texts`` are shortened or cut off (``noted``: those
    said already): nothing can restore them, so they pass through as they are."""
    from streamer.vault.reidentify import find_shortened_tokens

    for token in find_shortened_tokens(texts):
        if token in noted or len(noted) > _SHORTENED_NOTES:
            continue
        noted.add(token)
        if len(noted) > _SHORTENED_NOTES:
            stderr.print("note: more shortened tokens are not listed", highlight=False)
            continue
        stderr.print(
            f"note: {token} is not a whole token, so it is left as it is: a token has 16 hex "
            "digits after its entity type, as in [EMAIL_ADDRESS_9f2c4e1ab37d5c08]; copy it "
            "whole from the clean record",
            markup=False, highlight=False, soft_wrap=True,
        )  # fmt: skip


async def _unmask_one(
    reidentifier: Any, caller: Any, text: str, json_events: bool, partial: bool
) -> tuple[str, Any]:
    """The restored text (or JSON event) and the restoration (its failures, if partial)."""
    if not json_events:
        restored, restoration = await reidentifier.restore_text(text, caller, strict=not partial)
        return str(restored), restoration
    from streamer.vault.exceptions import UnmaskError

    try:
        event = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise UnmaskError("input is not a JSON event; drop --json to treat it as text") from None
    restored, restoration = await reidentifier.restore_event(event, caller, strict=not partial)
    return orjson.dumps(restored).decode(), restoration


async def _unmask_topic(
    reidentifier: Any, caller: Any, settings: StreamerSettings, from_topic: str, to_topic: str,
    partitions: list[int] | None, start_offset: int | None, end_offset: int | None,
    event_format: Any,
) -> int:  # fmt: skip
    from streamer.stream.connection import security_options
    from streamer.vault import OffsetRange, unmask_topic
    from streamer.vault.exceptions import ERROR_EXIT_CODES

    progress = Progress(TextColumn("{task.description}"), TextColumn("{task.completed} records"),
                        console=stderr, transient=True)  # fmt: skip
    with progress:
        task = progress.add_task(f"{from_topic} -> {to_topic}", total=None)
        report = await unmask_topic(
            reidentifier, caller, bootstrap_servers=settings.bootstrap_servers,
            source_topic=from_topic, target_topic=to_topic, partitions=partitions,
            offsets=OffsetRange(start_offset, end_offset), event_format=event_format,
            on_progress=lambda n: progress.advance(task, n), **security_options(settings),
        )  # fmt: skip
    stderr.print(
        f"{report.records} record(s) copied to {to_topic}, {report.restored_tokens} token(s) "
        f"restored, {report.records_with_errors} record(s) with tokens left in place",
        highlight=False,
        soft_wrap=True,
    )
    for code, count in sorted(report.errors.items()):
        stderr.print(f"  {count} record(s): {code}", highlight=False, soft_wrap=True)
    if not report.errors:
        return 0
    first_code = sorted(report.errors)[0]
    return ERROR_EXIT_CODES.get(first_code, 3)


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            envvar="STREAMER_SERVE_HOST",
            show_default=False,
            help="Address to bind. \\[default: 127.0.0.1]",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=1,
            max=65535,
            envvar="STREAMER_SERVE_PORT",
            show_default=False,
            help="Port to listen on. \\[default: 8087]",
        ),
    ] = None,
    clients_file: Annotated[
        Path | None,
        typer.Option(
            "--clients-file",
            envvar="STREAMER_API_CLIENTS_FILE",
            show_default=False,
            help="YAML/JSON file of API clients: name, token or token_sha256, scopes. "
            "Or set STREAMER_API_CLIENTS to the same as JSON.",
        ),
    ] = None,
    rate_limit_per_second: Annotated[
        float | None,
        typer.Option(
            "--rate-limit-per-second",
            min=0.001,
            envvar="STREAMER_RATE_LIMIT_PER_SECOND",
            show_default=False,
            help="Requests per second per client. \\[default: 10]",
        ),
    ] = None,
    rate_limit_burst: Annotated[
        int | None,
        typer.Option(
            "--rate-limit-burst",
            min=1,
            envvar="STREAMER_RATE_LIMIT_BURST",
            show_default=False,
            help="Burst size per client. \\[default: 20]",
        ),
    ] = None,
    bootstrap_servers: BootstrapOption = None,
    token_topic: TokenTopicOption = None,
    audit_topic: AuditTopicOption = None,
    key_file: ExistingKeyFileOption = None,
    key_provider: KeyProviderOption = None,
    keys_topic: KeysTopicOption = None,
    rebuild_index: RebuildIndexOption = False,
) -> None:
    """Serve the HTTP detokenize endpoint, with bearer-token auth and rate limits.

    POST /v1/detokenize with "Authorization: Bearer <token>" and {"tokens": [...]},
    {"text": ...} or {"event": ...}. 401 without a valid token, 403 for scopes the client
    is not allowed, 429 over the rate limit; every request is audited.
    """
    import asyncio
    import signal

    from streamer.errors import DependencyMissingError

    try:
        from streamer.vault.server import DetokenizeServer
    except ImportError:
        raise DependencyMissingError("streamer serve", "aiohttp", "cloud") from None
    from streamer.observability.logging import configure_logging
    from streamer.stream.connection import security_options
    from streamer.vault.keyring import keyring_from_settings, require_existing_key_file

    settings = build_settings(
        serve_host=host, serve_port=port, api_clients_file=clients_file,
        rate_limit_per_second=rate_limit_per_second, rate_limit_burst=rate_limit_burst,
        bootstrap_servers=bootstrap_servers, token_topic=token_topic, audit_topic=audit_topic,
        key_file=key_file, key_provider=key_provider, keys_topic=keys_topic,
    )  # fmt: skip
    options = security_options(settings)
    require_existing_key_file(settings)
    keyring = keyring_from_settings(settings, **options)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with DetokenizeServer(
            settings, keyring, rebuild_index=rebuild_index, **options
        ) as server:
            # From here on a lost broker is retried: its failures go through the repeat
            # limiter (aiokafka logs each one many times a second) and the redacting filter.
            configure_logging("WARNING", "text")
            stderr.print(f"detokenize endpoint on {server.url}/v1/detokenize "
                         f"({len(server.clients.clients)} client(s)); Ctrl-C stops",
                         highlight=False, soft_wrap=True)  # fmt: skip
            await stop.wait()

    asyncio.run(run())


# --- streamer emulate (cloud emulators, streamer/cloud/emulators) --------------------------


@app.command()
def emulate(
    service: Annotated[
        str, typer.Argument(help="The service to emulate: azure (AI Language) or aws (Comprehend).")
    ],
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = 0,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    latency_ms: Annotated[
        float, typer.Option("--latency-ms", min=0, help="Latency added to every answer.")
    ] = 0.0,
    error_rate: Annotated[
        float, typer.Option("--error-rate", min=0, max=1, help="Share of requests answered 500.")
    ] = 0.0,
    throttle_rate: Annotated[
        float,
        typer.Option("--throttle-rate", min=0, max=1, help="Share of requests answered 429."),
    ] = 0.0,
    retry_after: Annotated[
        float, typer.Option("--retry-after", min=0, help="Retry-After of 429s, in seconds.")
    ] = 1.0,
    outage: Annotated[
        bool, typer.Option("--outage", help="Start in an outage: every request fails with 503.")
    ] = False,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="STREAMER_EMULATOR_API_KEY",
            show_default=False,
            help="Accept only this key (Azure) or access key id (AWS); default: any.",
        ),
    ] = None,
    detectors: Annotated[
        list[str] | None,
        typer.Option(
            "--detector",
            show_default=False,
            help="Local detector to find entities with; repeat. [default: the defaults]",
        ),
    ] = None,
    policy: PolicyOption = None,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls",
            help="Serve https with a self-signed certificate (written to the "
            "data directory; trust it with STREAMER_CLOUD_CA_BUNDLE).",
        ),
    ] = False,
    tenant_id: Annotated[
        str | None,
        typer.Option(
            "--tenant-id",
            show_default=False,
            help="Azure: also issue Azure AD tokens for this tenant (needs --tls).",
        ),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id", show_default=False, help="Azure AD: the service principal to accept."
        ),
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            "--client-secret",
            envvar="STREAMER_EMULATOR_CLIENT_SECRET",
            show_default=False,
            help="Azure AD: the secret to accept.",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", show_default=False, help="Seed for random faults.")
    ] = None,
) -> None:
    """Run a local emulator of Azure AI Language or AWS Comprehend PII detection.

    The official SDKs work against it unmodified; it finds entities with the local
    detectors. Change its faults while it runs with POST /_emulator/settings (JSON, e.g.
    {"outage": true} or {"throttle_next": 20}); read counters at GET /_emulator/stats.
    """
    import asyncio

    from streamer.cloud.emulators import EmulatorSettings, build_engine, emulator_class
    from streamer.cloud.emulators.server import READY_PREFIX, serve_until_stopped
    from streamer.stream.topology import load_policy_file

    emulator_type = emulator_class(service)
    settings = build_settings()
    rules = load_policy_file(policy, detectors_given=bool(detectors)) if policy else None
    if tenant_id and not (client_id and client_secret and tls and service == "azure"):
        raise typer.BadParameter(
            "Azure AD emulation is for azure and needs --tls, --client-id and --client-secret "
            "(Azure SDKs send tokens only over https)",
            param_hint="--tenant-id",
        )
    ssl_context = None
    ca_path = None
    if tls:
        from streamer.cloud.emulators.tls import server_context, write_self_signed

        ca_path, key_path = write_self_signed(settings.data_dir / "emulator-tls", host)
        ssl_context = server_context(ca_path, key_path)
    options: dict[str, Any] = {}
    if service == "azure" and tenant_id:
        options["service_principal"] = (tenant_id, client_id, client_secret)
    emulator = emulator_type(
        EmulatorSettings(
            latency_seconds=latency_ms / 1000,
            error_rate=error_rate,
            throttle_rate=throttle_rate,
            retry_after_seconds=retry_after,
            outage=outage,
            api_key=api_key,
            seed=seed,
        ),
        engine=build_engine(detectors, rules, settings),
        host=host,
        port=port,
        ssl_context=ssl_context,
        **options,
    )

    def ready(running: Any) -> None:
        print(f"{READY_PREFIX}{running.url}", flush=True)
        if service == "azure":
            stderr.print(
                f"point clients at it: AZURE_TEXT_ANALYTICS_ENDPOINT={running.url} "
                "AZURE_TEXT_ANALYTICS_KEY=<any key, or --api-key>",
                highlight=False,
            )
        else:
            stderr.print(
                f"point clients at it: endpoint_url: {running.url} (any region, "
                "any credentials unless --api-key)",
                highlight=False,
            )
        if ca_path is not None:
            stderr.print(
                f"trust its certificate: STREAMER_CLOUD_CA_BUNDLE={ca_path}", highlight=False
            )
        if tenant_id:
            stderr.print(f"Azure AD authority: AZURE_AUTHORITY_HOST={running.url}", highlight=False)

    try:
        asyncio.run(serve_until_stopped(emulator, ready))
    except OSError as exc:
        raise ConfigurationError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port "
            "or 0 for a free one"
        ) from None


def _kafka_failures_as_one_line() -> None:
    """For a short command that sets up no logging and turns a Kafka client's failure into
    one error line: without a handler of their own, Python would print aiokafka's log
    records on stderr too ("Unable connect to ..."), above that line."""
    import logging

    logging.getLogger("aiokafka").addHandler(logging.NullHandler())


def _print_error(message: str) -> None:
    stderr.print("[bold red]error:[/bold red]", escape(message), highlight=False, soft_wrap=True)


def _setting_names(location: tuple[int | str, ...]) -> str:
    """``--workers (STREAMER_WORKERS)`` for a setting's error location; the variable alone
    for settings no command takes as a flag."""
    name = "_".join(str(part) for part in location if isinstance(part, str))  # not item [0]
    variable = f"STREAMER_{name.upper()}"
    flag = "--" + name.replace("_", "-")
    command = typer.main.get_command(app)
    commands = getattr(command, "commands", {}).values()
    flags = {opt for each in commands for param in each.params for opt in param.opts}
    return f"{flag} ({variable})" if flag in flags else variable


def _unparsable_setting(exc: SettingsError) -> str:
    """What is wrong with a variable pydantic-settings could not read as JSON, and how to
    write it (its message names only the field; the value may hold a secret)."""
    found = re.search(r'field "(\w+)"', str(exc))
    if found is None:
        return "a STREAMER_* variable is not valid JSON"
    name = found.group(1)
    example = (
        '{"key": "value"}'
        if get_origin(StreamerSettings.model_fields[name].annotation) is dict
        else '["A", "B"]'
    )
    return f"{_setting_names((name,))}: not valid JSON; write it as JSON, e.g. '{example}'"


def _reflow_help(group: typer.Typer) -> None:
    """Join the lines of each command's help paragraphs. Docstrings wrap at the source's
    width and typer keeps those line breaks, so help in an 80-column terminal came out as
    alternating long and one-word lines; rich wraps the joined paragraphs to the terminal."""
    import inspect

    for command in group.registered_commands:
        text = command.help or inspect.getdoc(command.callback) or ""
        command.help = "\n\n".join(" ".join(p.split("\n")) for p in text.split("\n\n"))
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _reflow_help(sub.typer_instance)


def main() -> None:
    """Entry point of the ``streamer`` command."""
    _reflow_help(app)
    try:
        app()
    except StreamerError as exc:
        _print_error(str(exc))
        raise SystemExit(exc.exit_code) from None
    except ValidationError as exc:  # a STREAMER_* variable (or flag) with an invalid value
        problems = "; ".join(
            f"{_setting_names(error['loc'])}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        )
        _print_error(f"invalid setting: {problems}")
        raise SystemExit(ConfigurationError.exit_code) from None
    except SettingsError as exc:  # a STREAMER_* variable that should be JSON and is not
        _print_error(f"invalid setting: {_unparsable_setting(exc)}")
        raise SystemExit(ConfigurationError.exit_code) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
