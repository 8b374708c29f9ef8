"""Safe, streaming XML parsing on top of the standard library's expat.

Every XML importer (GPX, TCX, Apple Health, camt.053, Green Button) parses with
the two functions here, so that the same defences and the same error messages
apply everywhere:

- `make_parser()` returns an expat parser that refuses any entity declaration
  (the "billion laughs" expansion bomb needs one) and never fetches external
  entities or DTDs, the two attacks `defusedxml` guards against
  (https://github.com/tiran/defusedxml#attack-vectors).
- `feed(parser, stream, display_name)` pushes a binary stream through the parser
  in chunks, yielding after each chunk so the caller can hand on the rows its
  handlers collected and keep memory flat. It tolerates a UTF-8 byte order mark
  and blank lines before the XML declaration (OsmAnd writes one), and turns
  expat's errors into `ParseError` naming the file and line.

Example:
    >>> import io
    >>> names = []
    >>> parser = make_parser()
    >>> parser.StartElementHandler = lambda name, attrs: names.append(name)
    >>> stream = io.BytesIO(b"\\xef\\xbb\\xbf\\n<?xml version='1.0'?><a><b/></a>")
    >>> for _ in feed(parser, stream, "example.xml"):
    ...     pass
    >>> names
    ['a', 'b']
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO
from xml.parsers import expat

from selfdata.errors import IngestError, ParseError, UnsafeInputError

__all__ = ["CHUNK_BYTES", "feed", "make_parser"]

# Big enough that the per-call overhead vanishes, small enough to keep memory flat.
CHUNK_BYTES = 1 << 20

_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"
# How far to look for the end of an XML declaration before giving up on moving it.
_DECLARATION_LIMIT = 4096
_EXTERNAL_ENTITY = expat.errors.codes[expat.errors.XML_ERROR_EXTERNAL_ENTITY_HANDLING]
# What expat says when the input stops inside a tag or before the root closes.
_UNFINISHED = frozenset(
    expat.errors.codes[message]
    for message in (
        expat.errors.XML_ERROR_NO_ELEMENTS,
        expat.errors.XML_ERROR_UNCLOSED_TOKEN,
        expat.errors.XML_ERROR_PARTIAL_CHAR,
        expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
    )
)


def make_parser(namespace_separator: str | None = None) -> expat.XMLParserType:
    """An expat parser that refuses entity declarations and external entities.

    Args:
        namespace_separator: None (the default) reports names as written, prefix
            included (`gpxtpx:hr`), which tolerates the undeclared prefixes real
            exports contain. A separator such as `" "` turns on namespace
            processing: names arrive as `uri<sep>local`, and an undeclared prefix
            becomes a `ParseError`.

    Example:
        >>> parser = make_parser(namespace_separator=" ")
        >>> parser.buffer_text
        True
    """
    parser = expat.ParserCreate(namespace_separator=namespace_separator)
    # Deliver each text node in one piece (up to the buffer size), not per line.
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = _refuse_entity
    # Only reached for an external entity reference, which needs a declaration
    # we already refuse; returning 0 makes expat stop rather than resolve it.
    parser.ExternalEntityRefHandler = lambda *args: 0
    return parser


def feed(
    parser: expat.XMLParserType,
    stream: IO[bytes],
    display_name: str,
    chunk_bytes: int | None = None,
) -> Iterator[None]:
    """Parse `stream` chunk by chunk, yielding after each chunk.

    The caller's handlers collect rows; the caller drains them at each yield.
    `chunk_bytes` defaults to `CHUNK_BYTES`.

    Raises:
        ParseError: the XML is malformed or truncated (with the line expat gave).
        UnsafeInputError: the document declares an entity.

    Example:
        >>> import io
        >>> parser = make_parser()
        >>> list(feed(parser, io.BytesIO(b"<a>"), "broken.xml"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        selfdata.errors.ParseError: broken.xml, line 1: not well-formed XML: no element found; ...
    """
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    chunk = _leading_chunk(stream, chunk_bytes)
    final = False
    try:
        while chunk:
            parser.Parse(chunk, False)
            yield
            chunk = stream.read(chunk_bytes)
        final = True
        parser.Parse(b"", True)
    except _EntityDeclared as declared:
        raise UnsafeInputError(
            display_name,
            f"declares the XML entity {declared.name!r}; selfdata refuses entity "
            "declarations (they allow entity-expansion bombs)",
            line=parser.CurrentLineNumber,
        ) from None
    except expat.ExpatError as error:
        raise _parse_error(error, display_name, at_end=final) from None
    yield


def _parse_error(error: expat.ExpatError, display_name: str, *, at_end: bool) -> IngestError:
    """Expat's error as ours; an error at the very end most likely means a cut-off file."""
    if error.code == _EXTERNAL_ENTITY:
        return UnsafeInputError(
            display_name, "refers to an external entity, which selfdata never resolves"
        )
    reason = f"not well-formed XML: {expat.ErrorString(error.code)}"
    if at_end and error.code in _UNFINISHED:
        reason += "; the file ends before its XML does (was it cut off while copying?)"
    return ParseError(display_name, reason, line=error.lineno)


class _EntityDeclared(Exception):
    """Raised inside expat's callback; `feed` turns it into `UnsafeInputError`."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _refuse_entity(name: str, *args: object) -> None:
    raise _EntityDeclared(name)


def _leading_chunk(stream: IO[bytes], chunk_bytes: int) -> bytes:
    """The first chunk, with a BOM dropped and blank lines moved after the declaration.

    XML forbids anything before `<?xml ...?>`, but some writers put a blank line
    there. Moving that whitespace to just after the declaration, instead of
    dropping it, keeps every later line number true to the file.
    """
    chunk = stream.read(chunk_bytes)
    # Enough bytes to see the BOM and tell "<?xml" from a root element, however
    # small the chunks and however many blank lines come first.
    while len(chunk.removeprefix(_BOM).lstrip(_WHITESPACE)) < 5 and (
        more := stream.read(chunk_bytes)
    ):
        chunk += more
    chunk = chunk.removeprefix(_BOM)
    body = chunk.lstrip(_WHITESPACE)
    if body == chunk or not body.startswith(b"<?xml"):
        # Whitespace before the root element is legal when there is no declaration.
        return chunk
    leading = chunk[: len(chunk) - len(body)]
    while (
        b"?>" not in body and len(body) < _DECLARATION_LIMIT and (more := stream.read(chunk_bytes))
    ):
        body += more
    end = body.find(b"?>", 0, _DECLARATION_LIMIT)
    if end < 0:
        return body  # not a declaration expat will accept; let it say why
    return body[: end + 2] + leading + body[end + 2 :]
