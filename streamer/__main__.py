"""The ``streamer`` command's entry point (``python -m streamer`` too).

Loading the command takes about a second; a Ctrl-C or SIGTERM meanwhile stops it there
with one line and no traceback, as it does later while a command starts.
"""

import signal
import sys
from types import FrameType

#: What ``streamer run`` says when a signal stops it before the pipeline started.
STOPPED_WHILE_STARTING = "stopped while starting: nothing was processed"

#: What other commands say when a Ctrl-C stops them there (exit 130), as they do later.
INTERRUPTED_WHILE_STARTING = {
    "replay": "interrupted while starting: nothing was replayed",
    "demo": "interrupted",
}


def interrupt(signum: int, frame: FrameType | None) -> None:
    """A signal handler: SIGTERM (or SIGINT) as a Ctrl-C, which the commands catch."""
    raise KeyboardInterrupt


def main() -> None:
    """Load the command and run it."""
    signal.signal(signal.SIGTERM, interrupt)
    try:
        from streamer.cli import main as command
    except KeyboardInterrupt:
        if sys.argv[1:2] == ["run"]:  # it documents exit 0 for a stop by a signal
            sys.stderr.write(f"{STOPPED_WHILE_STARTING}\n")
            raise SystemExit(0) from None
        said = INTERRUPTED_WHILE_STARTING.get(sys.argv[1] if len(sys.argv) > 1 else "")
        if said is not None:
            sys.stderr.write(f"{said}\n")
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    command()


if __name__ == "__main__":
    main()
