"""OFX bytes to a tree of elements: one tokenizer for SGML (1.x), XML (2.x) and hybrids.

OFX 1.x is SGML: a `KEY:VALUE` header block, then tags whose *leaf* elements are
never closed (`<TRNAMT>-6.60<FITID>123`) while *aggregates* always are
(`</STMTTRN>`). OFX 2.x is XML with an `<?OFX OFXHEADER="200" ...?>` processing
instruction. Banks also write hybrids: a 2.x header over an SGML body, or an
SGML body with some leaves closed. Spec: https://www.financialexchange.org/
("OFX Banking Specification" 2.3, chapter 2.2 for both header forms).

Rather than mend SGML into XML, one small tokenizer reads every variant the same
way, so the same content gives the same tree whatever the version:

- a start tag followed by non-blank text is a leaf holding that text, whether or
  not `</TAG>` follows; a start tag followed by another tag is an aggregate;
- a closing tag closes the nearest open aggregate of that name. Anything opened
  as an aggregate above it was really an empty leaf (`<MEMO>` with no value),
  or an aggregate whose writer forgot its end tag: either way its children are
  handed to its parent, so nothing is lost, and the mend is counted;
- `<![CDATA[...]]>` is literal text; comments, processing instructions and
  declarations are skipped; the five XML entities, `&nbsp;` and character
  references are decoded, any other `&name;` is left as written (nothing is
  ever looked up, so no external entity can be resolved).

The bytes are decoded as the header says: `ENCODING:UTF-8`, else `CHARSET`
(1252 and ISO-8859-1 both read as Windows-1252, as browsers do) for 1.x; the
XML declaration's encoding for 2.x. Bytes that are valid UTF-8 under a header
claiming a single-byte charset are read as UTF-8 (Windows-1252 text with
accents is practically never valid UTF-8, while banks that write UTF-8 under a
1252 header are common). Bytes that fit no charset become U+FFFD. Every such
mend is counted through the `repaired` callback.
"""

from __future__ import annotations

import bisect
import codecs
import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from selfdata.errors import ParseError

__all__ = ["Element", "parse"]

Repaired = Callable[[str, int], None]

_BOM = b"\xef\xbb\xbf"
# Header keys are ASCII, so the head is read as Latin-1 before the charset is known.
_SGML_HEADER = re.compile(r"\b([A-Z]+)[ \t]*:[ \t]*([^\s<]*)")
_XML_ENCODING = re.compile(r"<\?xml[^>]*?\bencoding\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_TOKEN = re.compile(
    r"<!\[CDATA\[(?P<cdata>.*?)\]\]>"
    r"|<!--.*?-->"
    r"|<[?!][^<>]*>"
    r"|<(?P<close>/)?\s*(?P<tag>[A-Za-z][\w.:-]*)(?:\s[^<>]*?)?\s*(?P<empty>/)?>"
    r"|(?P<text>[^<]+)"
    r"|<",
    re.DOTALL,
)
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|amp|lt|gt|quot|apos|nbsp);")
_UTF8 = ("utf-8", "utf8", "unicode")
# Far deeper than OFX nests; keeps the tree's recursive walks far from Python's limit.
_MAX_DEPTH = 200
_UNCLOSED = "element with neither a value nor an end tag: read as empty, its contents one level up"


@dataclass
class Element:
    """An OFX element: a leaf (`text` is its value) or an aggregate (`text` is None)."""

    tag: str
    line: int
    text: str | None = None
    children: list[Element] = field(default_factory=list)

    def find(self, tag: str) -> Element | None:
        """The first direct child named `tag`."""
        return next((child for child in self.children if child.tag == tag), None)

    def value(self, tag: str) -> str | None:
        """The value of the direct leaf child `tag`, or None when absent or blank."""
        child = self.find(tag)
        return (child.text or None) if child is not None else None

    def iter(self, tag: str) -> Iterator[Element]:
        """Every descendant named `tag`, in document order."""
        for child in self.children:
            if child.tag == tag:
                yield child
            yield from child.iter(tag)

    def leaves(self) -> Iterator[Element]:
        """Every leaf below this element, in document order."""
        for child in self.children:
            if child.text is None:
                yield from child.leaves()
            else:
                yield child


def parse(data: bytes, display_name: str, repaired: Repaired) -> Element:
    """The document's elements under one nameless root (so header junk has somewhere to go).

    Raises:
        ParseError: the file ends inside an aggregate or a tag (cut off), or
            nests implausibly deep.

    Example:
        >>> root = parse(b"OFXHEADER:100\\n\\n<OFX><CODE>0</OFX>", "a.ofx", lambda r, n: None)
        >>> root.children[0].value("CODE")
        '0'
    """
    text = _decode(data, repaired)
    return _Builder(text, display_name, repaired).build()


def _decode(data: bytes, repaired: Repaired) -> str:
    """The file's text, decoded as its header says (see the module docstring)."""
    if data.startswith(_BOM):
        return _strict_or_mended(data[len(_BOM) :], "utf-8", repaired)
    declared = _declared_codec(data[:4096].decode("latin-1"))
    if data.isascii():
        return data.decode("ascii")
    if declared != "utf-8" and _is_utf8(data):
        repaired(f"bytes are UTF-8 although the header says {declared}: read as UTF-8", 1)
        return data.decode("utf-8")
    return _strict_or_mended(data, declared, repaired)


def _declared_codec(head: str) -> str:
    """The codec the header names; Windows-1252 for 1.x without one, UTF-8 for XML."""
    xml = _XML_ENCODING.search(head)
    if xml:
        return _codec(xml[1], default="utf-8")
    fields = dict(_SGML_HEADER.findall(head.split("<", 1)[0]))
    if fields.get("ENCODING", "").lower() in _UTF8:
        return "utf-8"
    if "OFXHEADER" in fields:
        return _codec(fields.get("CHARSET", "1252"), default="cp1252")
    return "utf-8"


def _codec(name: str, *, default: str) -> str:
    name = name.strip().lower()
    if name in _UTF8:
        return "utf-8"
    if name in {"none", "us-ascii", "ascii", "usascii"}:
        return default
    if name.isdigit():
        name = "cp" + name
    if name in {"iso-8859-1", "8859-1", "iso8859-1", "latin-1", "latin1"}:
        return "cp1252"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return default


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _strict_or_mended(data: bytes, codec: str, repaired: Repaired) -> str:
    if codec == "utf-8":
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            repaired("bytes are not the UTF-8 the header says: read as Windows-1252", 1)
            codec = "cp1252"
    text = data.decode(codec, errors="replace")
    # A single-byte charset never decodes to U+FFFD itself, so each one is a byte
    # it does not define (cp1252 leaves five undefined).
    if undefined := text.count("\ufffd"):
        repaired(f"undecodable bytes ({codec}) replaced by U+FFFD", undefined)
    return text


@dataclass
class _Pending:
    """A start tag not yet known to be a leaf or an aggregate, and the text after it."""

    element: Element
    parts: list[str] = field(default_factory=list)

    @property
    def value(self) -> str:
        return "".join(self.parts).strip()


class _Builder:
    """Tokens to elements, with the leaf/aggregate rule of the module docstring."""

    def __init__(self, text: str, display_name: str, repaired: Repaired) -> None:
        self.text = text
        self.display_name = display_name
        self.repaired = repaired
        self.newlines = [match.start() for match in re.finditer("\n", text)]
        self.root = Element("", 1)
        self.stack: list[Element] = [self.root]
        self.pending: _Pending | None = None

    def line(self, position: int) -> int:
        return bisect.bisect_left(self.newlines, position) + 1

    def build(self) -> Element:
        for token in _TOKEN.finditer(self.text):
            if token["tag"] is not None:
                self._tag(token)
            elif token["text"] is not None or token["cdata"] is not None:
                self._text(token)
            elif token[0] == "<":
                self._lone_angle(token.start())
        self._finish()
        return self.root

    def _tag(self, token: re.Match[str]) -> None:
        tag, line = token["tag"].upper(), self.line(token.start())
        if token["close"]:
            self._close(tag, line)
            return
        self._settle(closing=False)
        element = Element(tag, line)
        if token["empty"]:  # <TAG/>: an empty leaf
            element.text = ""
            self.stack[-1].children.append(element)
        else:
            self.pending = _Pending(element)

    def _text(self, token: re.Match[str]) -> None:
        if token["cdata"] is not None:
            piece = token["cdata"]
        else:
            piece = token["text"]
            if "&" in piece:
                piece = _ENTITY.sub(lambda m: html.unescape(m[0]), piece)
        if self.pending is not None:
            self.pending.parts.append(piece)
        elif piece.strip() and len(self.stack) > 1:
            self.repaired("text outside any value ignored", 1)

    def _lone_angle(self, position: int) -> None:
        if self.text.find(">", position) < 0:
            raise ParseError(
                self.display_name,
                "the file ends inside a tag; was it cut off while copying?",
                line=self.line(len(self.text)),
            )
        # A bare "<" in a value (writers that forget to escape it): keep it as text.
        self.repaired("unescaped '<' kept as text", 1)
        if self.pending is not None:
            self.pending.parts.append("<")

    def _settle(self, *, closing: bool) -> None:
        """Decide what the pending start tag was, now that the next tag has come."""
        pending, self.pending = self.pending, None
        if pending is None:
            return
        element, value = pending.element, pending.value
        self.stack[-1].children.append(element)
        if value or closing:
            element.text = value  # a leaf; closed or not
        elif len(self.stack) > _MAX_DEPTH:
            raise ParseError(
                self.display_name,
                f"elements nest more than {_MAX_DEPTH} deep (OFX nests about a dozen)",
                line=element.line,
            )
        else:
            self.stack.append(element)  # an aggregate, until its end tag says otherwise

    def _close(self, tag: str, line: int) -> None:
        if self.pending is not None and self.pending.element.tag == tag:
            element, value = self.pending.element, self.pending.value
            self.pending = None
            element.text = value
            self.stack[-1].children.append(element)
            return
        self._settle(closing=True)
        depth = next((i for i in range(len(self.stack) - 1, 0, -1) if self.stack[i].tag == tag), 0)
        if not depth:
            self.repaired("closing tag that closes nothing ignored", 1)
            return
        self._unopen(depth)
        self.stack.pop()

    def _unopen(self, depth: int) -> None:
        """Start tags above `depth` never closed and without a value: their children move up.

        Each was either an empty SGML leaf (`<MEMO>` and nothing) or an aggregate
        whose end tag the writer forgot (Nubank leaves `<BANKTRANLIST>` open);
        without the DTD the two look alike, and either way nothing is lost. Each
        one is the last child of the one below it, so appending their children
        in stack order keeps document order, in time linear in what moves.
        """
        target = self.stack[depth]
        for element in self.stack[depth + 1 :]:
            if element.children:
                self.repaired(_UNCLOSED, 1)
            target.children.extend(element.children)
            element.children = []
            element.text = ""
        del self.stack[depth + 1 :]

    def _finish(self) -> None:
        pending = self.pending
        if pending is not None and pending.value:
            self._settle(closing=True)
            pending = None
        if pending is None and len(self.stack) == 1:
            return
        inside = pending.element if pending is not None else self.stack[-1]
        raise ParseError(
            self.display_name,
            f"the file ends inside <{inside.tag}> (opened at line {inside.line}); "
            "was it cut off while copying?",
            line=self.line(len(self.text.rstrip())),
        )
