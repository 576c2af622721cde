"""The glibc allocator helpers, each in a fresh interpreter (they change process state)."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

from zarrlake._malloc import release_free_memory

glibc_only = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the helpers are no-ops off glibc",
)


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with ``args`` in a fresh interpreter (the helpers change process state)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def _run(code: str) -> str:
    return _python(code).stdout.strip()


def _rss_mib() -> str:
    return textwrap.dedent(
        """
        def rss():
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmRSS"):
                        return int(line.split()[1]) / 1024
        """
    )


@glibc_only
def test_release_free_memory_returns_freed_heap_to_the_system() -> None:
    # 2,000 blocks of 64 KiB come from the heap (below the mmap threshold); one kept
    # block above them stops malloc from trimming the heap's top by itself.
    out = _run(
        _rss_mib()
        + textwrap.dedent(
            """
        from zarrlake._malloc import release_free_memory
        blocks = [bytearray(64 * 1024) for _ in range(2000)]
        keeper = bytearray(64 * 1024)
        del blocks
        held = rss()
        released = release_free_memory()
        print(released, held - rss())
        """
        )
    )
    released, dropped = out.split()
    assert released == "True"
    assert float(dropped) > 60, f"only {dropped} MiB given back"


@glibc_only
def test_limit_arenas_makes_threads_share_one_arena() -> None:
    # Each thread that allocates gets its own arena unless the limit is set first;
    # malloc_stats prints one "Arena N:" block per arena to stderr.
    code = """
        import threading, sys, ctypes
        from zarrlake._malloc import limit_arenas
        if sys.argv[1:] == ["limit"]:
            assert limit_arenas(1)
        def work():
            blocks = [bytearray(200_000) for _ in range(50)]
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        ctypes.CDLL(None).malloc_stats()
        """

    def arenas(*args: str) -> int:
        return _python(code, *args).stderr.count("Arena ")

    assert arenas() > 1
    assert arenas("limit") == 1


@glibc_only
def test_keep_free_heap_stops_faulting_in_reused_read_sized_buffers() -> None:
    # A 4 MiB buffer (a slab read, under the 16 MiB mmap threshold) allocated and freed
    # 50 times: with the trim threshold at glibc's 128 KiB, each free hands the heap's
    # top back and each allocation faults its 1,024 pages in again.
    code = """
        import resource, sys
        from zarrlake._malloc import keep_free_heap, map_buffers_from
        assert map_buffers_from(16 * 2**20)
        if sys.argv[1:] == ["keep"]:
            assert keep_free_heap()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(50):
            buffer = bytearray(4 * 2**20)
            del buffer
        print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        """

    def faults(*args: str) -> int:
        return int(_python(code, *args).stdout)

    assert faults() > 40 * 1024
    assert faults("keep") < 2 * 1024


def test_release_answers_without_raising_on_any_platform() -> None:
    assert isinstance(release_free_memory(), bool)
