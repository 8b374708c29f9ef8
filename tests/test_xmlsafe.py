"""The shared safe-XML helper: entity refusal, lenient starts, true line numbers."""

from __future__ import annotations

import io

import pytest

from selfdata import xmlsafe
from selfdata.errors import ParseError, UnsafeInputError


def parse(data: bytes, chunk_bytes: int | None = None, **options: str) -> list[tuple[str, int]]:
    """(element name, line) for every start tag."""
    parser = xmlsafe.make_parser(**options)
    seen: list[tuple[str, int]] = []
    parser.StartElementHandler = lambda name, attrs: seen.append((name, parser.CurrentLineNumber))
    for _ in xmlsafe.feed(parser, io.BytesIO(data), "test.xml", chunk_bytes):
        pass
    return seen


def test_bom_and_blank_lines_before_the_declaration_keep_line_numbers() -> None:
    data = b"\xef\xbb\xbf\n\r\n  <?xml version='1.0' encoding='UTF-8'?>\n<a>\n  <b/>\n</a>"
    assert parse(data) == [("a", 4), ("b", 5)]


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5, 7, 64])
def test_a_start_longer_than_one_chunk(chunk_bytes: int) -> None:
    data = b"\xef\xbb\xbf" + b"\n" * 100 + b'<?xml version="1.0" encoding="UTF-8"?>\n<a><b/></a>\n'
    assert parse(data, chunk_bytes=chunk_bytes) == [("a", 102), ("b", 102)]


@pytest.mark.parametrize("chunk_bytes", [1, 3, 4096])
def test_tiny_documents_in_tiny_chunks(chunk_bytes: int) -> None:
    assert parse(b"\xef\xbb\xbf<a/>", chunk_bytes=chunk_bytes) == [("a", 1)]
    assert parse(b"<?xml version='1.0'?><a/>", chunk_bytes=chunk_bytes) == [("a", 1)]


def test_whitespace_before_a_root_without_declaration_is_left_alone() -> None:
    assert parse(b"\n\n<a/>") == [("a", 3)]


def test_errors_name_the_line_after_leading_blank_lines() -> None:
    with pytest.raises(ParseError, match="mismatched tag") as raised:
        parse(b"\n\n<?xml version='1.0'?>\n<a>\n<b>\n</a>\n")
    assert raised.value.line == 6


@pytest.mark.parametrize(
    "data",
    [
        b'<!DOCTYPE a [<!ENTITY x "x">]><a>&x;</a>',
        b'<!DOCTYPE a [<!ENTITY ext SYSTEM "file:///etc/passwd">]><a>&ext;</a>',
        b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://example.invalid/p.dtd"> %p;]><a/>',
    ],
    ids=["internal", "external", "parameter"],
)
def test_entity_declarations_are_refused(data: bytes) -> None:
    with pytest.raises(UnsafeInputError, match="refuses entity declarations"):
        parse(data)


def test_an_external_dtd_is_never_fetched() -> None:
    assert parse(b'<!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>') == [("a", 1)]


def test_namespace_processing_on_request() -> None:
    data = b'<g xmlns="urn:g" xmlns:x="urn:x"><x:hr/></g>'
    assert parse(data, namespace_separator=" ") == [("urn:g g", 1), ("urn:x hr", 1)]
    assert parse(data) == [("g", 1), ("x:hr", 1)]
