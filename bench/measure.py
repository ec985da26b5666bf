"""Run a command; its wall time, its own peak memory and its output.

Linux charges a child with the peak memory of the process that started it: ``exec`` keeps the
old address space's high-water mark in the child's resource usage, and under ``vfork`` (how
Python starts children) that address space is the parent's. A benchmark process that has
grown (pandas imported, a panel built) would so print its own size as every child's peak.
The children are therefore started by a spawner: a bare interpreter of about 10 MiB that
takes one command per line, runs it and answers with the child's figures, so each child's
peak is its own.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys

_SPAWNER = r"""
import json, os, subprocess, sys, tempfile, time
for line in sys.stdin:
    job = json.loads(line)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(job["cmd"], cwd=job["cwd"], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        answer = {"seconds": seconds, "peak": usage.ru_maxrss * 1024,
                  "rc": os.waitstatus_to_exitcode(status), "out": out.read(), "err": err.read()}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
"""

_spawner: subprocess.Popen | None = None


def _get_spawner() -> subprocess.Popen:
    global _spawner
    if _spawner is None or _spawner.poll() is not None:
        _spawner = subprocess.Popen(
            [sys.executable, "-c", _SPAWNER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        atexit.register(_stop, _spawner)
    return _spawner


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait()


def run_measured(cmd: list[str]) -> tuple[float, int, str]:
    """Run ``cmd``; its wall time, its own peak memory (bytes, from wait4) and its stdout."""
    spawner = _get_spawner()
    spawner.stdin.write(json.dumps({"cmd": cmd, "cwd": os.getcwd()}) + "\n")  # type: ignore[union-attr]
    spawner.stdin.flush()  # type: ignore[union-attr]
    line = spawner.stdout.readline()  # type: ignore[union-attr]
    if not line:
        raise RuntimeError("the benchmark's spawner process ended")
    answer = json.loads(line)
    if answer["rc"]:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({answer['rc']}): {answer['err'].strip()[-2000:]}"
        )
    return answer["seconds"], answer["peak"], answer["out"]
