"""The ``streamer`` command. Thin: it parses arguments, builds the settings once, and calls
into the packages. Every ``StreamerError`` becomes one line on stderr and its exit code.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import orjson
import typer
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
    cloud: Annotated[
        str,
        typer.Option(
            "--cloud",
            help="Also detect with cloud services: 'off' or 'emulated' "
            "(local Azure and AWS emulators, through the official SDKs).",
        ),
    ] = "off",
) -> None:
    """Redact generated support-ticket events and print before/after pairs and a summary."""
    from streamer.redaction.service import RedactionService
    from streamer.samples import support_tickets

    settings = build_settings(key_file=key_file)
    sample = list(support_tickets(events))
    payloads = [orjson.dumps(event) for event in sample]
    if cloud not in ("off", "emulated"):
        raise typer.BadParameter("must be 'off' or 'emulated'", param_hint="--cloud")
    with RedactionService(policy, settings=settings) as service:
        started = time.perf_counter()
        cloud_spans = cloud_summary = None
        if cloud == "emulated":  # streamer/cloud: spans from both emulated services
            from streamer.cloud.demo import detect_with_emulators

            cloud_spans, cloud_summary = detect_with_emulators(service.engine, payloads, settings)
        outcomes = service.redact_payloads(payloads, extra_spans=cloud_spans)
        elapsed = time.perf_counter() - started
    for raw, outcome in list(zip(payloads, outcomes, strict=True))[:pairs]:
        stdout.print("[bold]before[/bold]", raw.decode(), markup=True, highlight=False)
        stdout.print(
            "[bold]after [/bold]", (outcome.value or b"").decode(), markup=True, highlight=False
        )
        stdout.print()
    entities: Counter[str] = Counter()
    for outcome in outcomes:
        entities.update(outcome.entity_counts)
    table = Table(title="entities replaced")
    table.add_column("entity type")
    table.add_column("count", justify="right")
    for entity, count in entities.most_common():
        table.add_row(entity, str(count))
    stdout.print(table)
    if cloud_summary is not None:
        costs = Table(title="cloud detection (emulated, failover: concurrent)")
        for column in ("provider", "requests", "documents", "characters", "billed", "spans used"):
            costs.add_column(column, justify="left" if column == "provider" else "right")
        for item in cloud_summary:
            costs.add_row(item.provider, str(item.requests), str(item.documents),
                          f"{item.characters:,}", f"{item.billed_units:,.0f} {item.unit}",
                          str(item.spans))  # fmt: skip
        stdout.print(costs)
    stdout.print(
        f"{len(payloads)} events in {elapsed:.2f}s: {len(payloads) / elapsed:,.0f} events/s"
    )


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
    from streamer.redaction.policy import Policy

    emulator_type = emulator_class(service)
    settings = build_settings()
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
        engine=build_engine(detectors, Policy.from_file(policy) if policy else None, settings),
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
