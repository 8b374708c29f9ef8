# Type stub for the optional C reader of Apple Health exports (src/selfdata/_xmltok.c).
from typing import Any

def check(buffer: bytes | bytearray | memoryview, final: bool) -> tuple[int, int]: ...
def records(
    buffer: bytes | bytearray | memoryview,
    level: int,
    final: bool,
    sleep_type: bytes,
    canonical: tuple[tuple[bytes, bytes], ...],
    spans: tuple[bytes, ...],
) -> tuple[Any, ...]: ...
