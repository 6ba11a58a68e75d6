"""Signals for the commands: SIGTERM and SIGHUP stop them as Ctrl-C does."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["interrupt", "stop_like_ctrl_c", "until_signalled"]

T = TypeVar("T")


def interrupt(signum: int, frame: object) -> None:
    """A signal handler that raises KeyboardInterrupt, as Ctrl-C does."""
    raise KeyboardInterrupt


def stop_like_ctrl_c() -> None:
    """SIGTERM, and SIGHUP when the terminal closes, stop the command like Ctrl-C
    does, so that whatever it started (a broker, a JVM) stops too."""
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)


async def until_signalled(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work``; SIGINT, SIGTERM or SIGHUP cancels it cleanly, then KeyboardInterrupt."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    signalled = False

    def cancel() -> None:
        nonlocal signalled
        signalled = True
        task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, cancel)
    try:
        return await task
    except asyncio.CancelledError:
        if signalled:
            raise KeyboardInterrupt from None
        raise
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)
