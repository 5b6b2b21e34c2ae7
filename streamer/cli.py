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

from streamer.errors import StreamerError
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
) -> None:
    """Redact generated support-ticket events and print before/after pairs and a summary."""
    from streamer.redaction.service import RedactionService
    from streamer.samples import support_tickets

    settings = build_settings(key_file=key_file)
    sample = list(support_tickets(events))
    payloads = [orjson.dumps(event) for event in sample]
    with RedactionService(policy, settings=settings) as service:
        started = time.perf_counter()
        outcomes = service.redact_payloads(payloads)
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
    stdout.print(
        f"{len(payloads)} events in {elapsed:.2f}s: {len(payloads) / elapsed:,.0f} events/s"
    )


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
