"""The ``streamer`` command. Thin: it parses arguments, builds the settings once, and calls
into the packages. Every ``StreamerError`` becomes one line on stderr and its exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

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
    try:
        return StreamerSettings(**{k: v for k, v in overrides.items() if v is not None and v != []})
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'-'.join(str(p) for p in e['loc']).replace('_', '-')} "
            f"(STREAMER_{'_'.join(str(p) for p in e['loc']).upper()}): {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigurationError(f"invalid setting: {problems}") from None


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
ScopeOption = Annotated[
    str, typer.Option("--scope", help="Key scope (a tenant, say): tokens differ between scopes.")
]
RegionOption = Annotated[
    list[str] | None,
    typer.Option("--default-region", help="Region tried for phone numbers without a country "
                 "code; repeat for several. [default: US, GB, DE]", show_default=False),
]  # fmt: skip
MaxBytesOption = Annotated[
    int | None,
    typer.Option("--max-record-bytes", envvar="STREAMER_MAX_RECORD_BYTES", show_default=False,
                 help="Records larger than this fail. [default: 1048576]"),
]  # fmt: skip
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", envvar="STREAMER_WORKERS", show_default=False,
                 help="Worker processes for detection. [default: CPU count]"),
]  # fmt: skip


# --- streamer redact -----------------------------------------------------------------------


def _read_batches(handle: BinaryIO, batch_size: int) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for line in handle:
        batch.append(line.rstrip(b"\r\n"))
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
    its file and line number; the rest goes on, and the exit code is 1 at the end.
    """
    from streamer.redaction.service import RedactionService

    settings = build_settings(
        key_file=key_file,
        default_regions=default_region,
        max_record_bytes=max_record_bytes,
        workers=workers,
    )
    sources = [p for p in files or [] if str(p) != "-"]
    read_stdin = not files or any(str(p) == "-" for p in files)
    for path in sources:
        if not path.is_file():
            raise typer.BadParameter(f"{path} is not a readable file", param_hint="FILES")
    failures = 0
    out = sys.stdout.buffer
    with RedactionService(policy, settings=settings, parallel=parallel) as service:
        progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TransferSpeedColumn(),
            TimeRemainingColumn(), console=stderr, transient=True,
        )  # fmt: skip
        with progress:
            for name, handle, size in _open_sources(sources, read_stdin):
                task = progress.add_task(name, total=size) if size is not None else None
                line_number = 0
                with handle:
                    for batch in _read_batches(handle, batch_size):
                        outcomes = service.redact_payloads(
                            batch, "text" if text else "json", [scope] * len(batch)
                        )
                        for raw, outcome in zip(batch, outcomes, strict=True):
                            line_number += 1
                            if outcome.value is not None:
                                out.write(outcome.value + b"\n")
                            elif not raw.strip():
                                out.write(b"\n")  # blank lines pass through
                            else:
                                failures += 1
                                assert outcome.failure is not None
                                error = {"file": name, "line": line_number,
                                         "error": outcome.failure.code,
                                         "message": outcome.failure.message}  # fmt: skip
                                sys.stderr.write(orjson.dumps(error).decode() + "\n")
                        out.flush()
                        if task is not None:
                            progress.advance(task, sum(len(raw) + 1 for raw in batch))
    if failures:
        stderr.print(f"{failures} line(s) could not be redacted; see the error records above")
        raise typer.Exit(1)


def _open_sources(
    sources: list[Path], read_stdin: bool
) -> Iterator[tuple[str, BinaryIO, int | None]]:
    for path in sources:
        yield str(path), path.open("rb"), path.stat().st_size
    if read_stdin:
        yield "<stdin>", sys.stdin.buffer, None


# --- streamer demo -------------------------------------------------------------------------


@app.command()
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
            help="Run against this Kafka instead of the embedded broker.",
        ),
    ] = None,
    workers: WorkersOption = None,
) -> None:
    """Run the whole pipeline on sample support tickets and show what came out.

    Starts the embedded Kafka-compatible broker (unless --bootstrap-servers is given),
    creates the topics of topologies/support-tickets.yaml (prefixed for this run),
    produces sample events, runs the processor until every event is committed, prints
    a few before/after pairs and a summary, and stops everything.
    """
    import asyncio

    from streamer.redaction.policy import Policy
    from streamer.stream.demo import run_demo

    settings = build_settings(
        key_file=key_file, workers=workers, bootstrap_servers=bootstrap_servers
    )
    report = asyncio.run(
        run_demo(
            settings,
            events=events,
            pairs=pairs,
            policy=Policy.from_file(policy) if policy else None,
            on_stage=lambda stage: stderr.print(f"[dim]demo:[/dim] {stage}", highlight=False),
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
        f"{report.events:,} events -> {report.clean_records:,} clean records on "
        f"{topology.output_topic}, {report.token_records:,} token mappings on "
        f"{topology.token_topic}, {report.dead_letters:,} dead letters on {topology.dlq_topic}"
    )
    stdout.print(
        f"pipeline: {stats.rate():,.0f} events/s on {report.workers} worker process(es); "
        f"whole demo {report.elapsed:.1f}s"
    )


# --- Kafka: streamer run, broker, produce, tail, topics (streamer/stream/) ------------------

BootstrapOption = Annotated[
    str | None,
    typer.Option("--bootstrap-servers", show_default=False,
                 help="Kafka bootstrap servers, HOST:PORT[,HOST:PORT]. "
                 "\\[env: STREAMER_BOOTSTRAP_SERVERS]"),
]  # fmt: skip
TopologyOption = Annotated[
    Path | None,
    typer.Option("--topology", dir_okay=False, show_default=False,
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


@app.command()
def run(
    bootstrap_servers: BootstrapOption = None,
    topology: TopologyOption = None,
    input_topic: InputTopicOption = None,
    output_topic: Annotated[
        str | None,
        typer.Option(
            "--output-topic", show_default=False, help="Clean topic. \\[default: <input>.clean]"
        ),
    ] = None,
    token_topic: Annotated[
        str | None,
        typer.Option(
            "--token-topic",
            show_default=False,
            help="Token mapping topic, compacted. \\[default: <input>.tokens]",
        ),
    ] = None,
    dlq_topic: Annotated[
        str | None,
        typer.Option(
            "--dlq-topic", show_default=False, help="Dead-letter topic. \\[default: <input>.dlq]"
        ),
    ] = None,
    group_id: Annotated[
        str | None,
        typer.Option(
            "--group-id",
            show_default=False,
            help="Consumer group shared by all instances of the pipeline.",
        ),
    ] = None,
    event_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            show_default=False,
            help="Input event format: json or text. \\[default: json]",
        ),
    ] = None,
    max_record_bytes: MaxBytesOption = None,
    max_in_flight_records: Annotated[
        int | None,
        typer.Option(
            "--max-in-flight-records",
            min=1,
            show_default=False,
            help="Records fetched but not committed, at most; partitions "
            "ahead are paused beyond it. \\[default: 20000]",
        ),
    ] = None,
    max_in_flight_bytes: Annotated[
        int | None,
        typer.Option(
            "--max-in-flight-bytes",
            min=1,
            show_default=False,
            help="Bytes fetched but not committed, at most. \\[default: 64 MiB]",
        ),
    ] = None,
    batch_records: Annotated[
        int | None,
        typer.Option(
            "--batch-records",
            min=1,
            show_default=False,
            help="Records per batch handed to a worker. \\[default: 1000]",
        ),
    ] = None,
    workers: WorkersOption = None,
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
            help="Create missing clean, token and DLQ topics. \\[default: create]",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="Log level.")] = "INFO",
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
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
) -> None:
    """Run the stream processor: raw topics in; clean, token and dead-letter topics out.

    Consumes the topology's input topics, redacts on worker processes, publishes clean
    events, token mappings and dead letters, and commits offsets once they are
    acknowledged. Runs until SIGTERM or Ctrl-C, then drains in-flight work, commits and
    exits 0.

    Every flag is also a STREAMER_* variable (--group-id is STREAMER_GROUP_ID) and
    overrides the topology file.
    """
    import asyncio

    from streamer.observability.logging import configure_logging
    from streamer.stream.runtime import run_pipeline
    from streamer.stream.topology import Topology

    settings = build_settings(
        **_kafka_overrides(bootstrap_servers, security_protocol, sasl_mechanism, sasl_username,
                           sasl_password, ssl_cafile, ssl_certfile, ssl_keyfile),
        topology=topology, input_topic=input_topic, output_topic=output_topic,
        token_topic=token_topic, dlq_topic=dlq_topic, group_id=group_id, format=event_format,
        max_record_bytes=max_record_bytes, max_in_flight_records=max_in_flight_records,
        max_in_flight_bytes=max_in_flight_bytes, batch_records=batch_records, workers=workers,
        exactly_once=exactly_once, key_file=key_file, shutdown_timeout=shutdown_timeout,
        create_topics=create_topics,
    )  # fmt: skip
    pipeline = Topology.load(settings).check_runnable()
    fmt = log_format or ("text" if sys.stderr.isatty() else "json")
    if fmt not in ("json", "text"):
        raise typer.BadParameter("use json or text", param_hint="--log-format")
    configure_logging(log_level, "json" if fmt == "json" else "text")
    stderr.print(
        f"[bold]pii-streamer[/bold] {', '.join(pipeline.inputs)} -> {pipeline.output_topic} "
        f"(tokens {pipeline.token_topic}, dead letters {pipeline.dlq_topic}), "
        f"group {pipeline.group}; Ctrl-C to stop",
        highlight=False,
    )
    stats = asyncio.run(run_pipeline(pipeline, settings))
    stderr.print(
        f"stopped: {stats.processed:,} records processed, {stats.clean_out:,} clean, "
        f"{stats.dead_letters.total():,} dead letters, {stats.token_records:,} token mappings",
        highlight=False,
    )


@app.command()
def broker(
    port: Annotated[
        int | None, typer.Option("--port", show_default=False, help="Port. \\[default: a free one]")
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
    embedded = EmbeddedBroker(port=port, host=host)
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
            help="JSON-lines files; none or '-' reads standard input.", show_default=False
        ),
    ] = None,
    key_field: Annotated[
        str | None,
        typer.Option(
            "--key-field",
            show_default=False,
            help="JSON field (dotted path) whose value is the record key.",
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
) -> None:
    """Produce each line of JSON-lines files (or stdin) as one record, as is."""
    import asyncio

    from streamer.stream.tools import produce_lines

    settings = build_settings(
        **_kafka_overrides(bootstrap_servers, security_protocol, sasl_mechanism, sasl_username,
                           sasl_password, ssl_cafile, ssl_certfile, ssl_keyfile),
    )  # fmt: skip
    sources = [p for p in files or [] if str(p) != "-"]
    for path in sources:
        if not path.is_file():
            raise typer.BadParameter(f"{path} is not a readable file", param_hint="FILES")
    read_stdin = not files or any(str(p) == "-" for p in files)
    total = sum(path.stat().st_size for path in sources) if not read_stdin else None
    handles: list[BinaryIO] = [path.open("rb") for path in sources]
    if read_stdin:
        handles.append(sys.stdin.buffer)
    progress = Progress(
        TextColumn(f"producing to {topic}"), BarColumn(), TransferSpeedColumn(),
        TimeRemainingColumn(), console=stderr, transient=True,
    )  # fmt: skip
    try:
        with progress:
            task = progress.add_task("produce", total=total)
            report = asyncio.run(
                produce_lines(
                    settings, topic, handles, key_field=key_field,
                    on_progress=lambda size: progress.advance(task, size),
                )
            )  # fmt: skip
    finally:
        for handle in handles:
            if handle is not sys.stdin.buffer:
                handle.close()
    stderr.print(f"produced {report.records:,} records ({report.bytes:,} bytes) to {topic}")


@app.command()
def tail(
    topic: Annotated[str, typer.Option("--topic", help="Topic to read.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep waiting for new records.")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", "-n", min=1, show_default=False, help="Stop after this many records."
        ),
    ] = None,
    from_end: Annotated[
        bool, typer.Option("--from-end", help="Only records produced from now on.")
    ] = False,
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

    Reads every partition from the beginning without joining a group (nothing is
    committed) and stops when no record arrived for two seconds, unless --follow.
    """
    import asyncio

    from rich.json import JSON

    from streamer.stream.tools import describe_record, read_topic

    settings = build_settings(
        **_kafka_overrides(bootstrap_servers, security_protocol, sasl_mechanism, sasl_username,
                           sasl_password, ssl_cafile, ssl_certfile, ssl_keyfile),
    )  # fmt: skip

    async def show() -> int:
        count = 0
        async for record in read_topic(
            settings, topic, from_beginning=not from_end, follow=follow, limit=limit
        ):
            count += 1
            described = describe_record(record)
            if as_json:
                sys.stdout.write(orjson.dumps(described).decode() + "\n")
                sys.stdout.flush()
                continue
            stdout.print(
                f"[bold]{topic}[/bold] partition {record.partition} offset {record.offset} "
                f"key {described['key']!r} timestamp {record.timestamp}",
                highlight=False,
            )
            for name, value in described["headers"].items():
                stdout.print(f"  [dim]{name}:[/dim] {value}", highlight=False)
            value = described["value"]
            if isinstance(value, dict | list):
                stdout.print(JSON.from_data(value))
            else:
                stdout.print(repr(value) if not isinstance(value, str) else value, markup=False)
            stdout.print()
        return count

    try:
        count = asyncio.run(show())
    except KeyboardInterrupt:
        return
    if not as_json:
        stderr.print(f"{count:,} record(s)", highlight=False)


@app.command()
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
    partition count. Existing topics are left alone (and checked).
    """
    import asyncio

    from streamer.stream.admin import ensure_topics
    from streamer.stream.topology import Topology

    settings = build_settings(
        **_kafka_overrides(bootstrap_servers, security_protocol, sasl_mechanism, sasl_username,
                           sasl_password, ssl_cafile, ssl_certfile, ssl_keyfile),
        topology=topology, input_topic=input_topic, output_topic=output_topic,
        token_topic=token_topic, dlq_topic=dlq_topic,
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


def main() -> None:
    """Entry point of the ``streamer`` command."""
    try:
        app()
    except StreamerError as exc:
        stderr.print(
            f"[bold red]error:[/bold red] {exc}", markup=True, highlight=False, soft_wrap=True
        )
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
