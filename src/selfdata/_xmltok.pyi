# Type stub for the optional C tokenizer (src/selfdata/_xmltok.c).
def tokenize(
    buffer: bytes, elements: tuple[bytes, ...], names: tuple[bytes, ...]
) -> tuple[int, int, bytes, bytes, bytes, tuple[tuple[bytes, bytes, bytes, bytes], ...]]: ...
