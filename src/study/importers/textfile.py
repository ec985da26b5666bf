"""Reading the delimited text files platforms and spreadsheet programs write, as they really are.

One job: bytes in, rows of named cells out, each with the file and line it came from. It sniffs
the encoding (UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252), the delimiter
(``,``, ``;`` or tab), finds the header line (LinkedIn puts a ``Notes:`` preamble before it in
newer exports; never skip a fixed count) and maps columns by name, never by position. Every
problem is an :class:`ImportFileError` naming file, line and column.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from study.errors import StudyError

DELIMITERS = (",", ";", "\t")
#: How far down a file the header may sit (LinkedIn's preamble is 3 lines).
HEADER_SEARCH_LINES = 30
#: Longest cell accepted; LinkedIn's own limits are far below this.
MAX_CELL = 1_000_000

csv.field_size_limit(MAX_CELL)


class ImportFileError(StudyError):
    """A malformed file: names the file, the line and (where known) the column."""

    def __init__(self, file: str, message: str, line: int | None = None, column: str | None = None):
        self.file, self.line, self.column, self.reason = file, line, column, message
        where = file
        if line is not None:
            where += f" line {line}"
        if column is not None:
            where += f" column {column}"
        super().__init__(f"{where}: {message}")


@dataclass
class Row:
    """One record: its cells by (normalized) column name, and where it came from."""

    file: str
    line: int
    cells: dict[str, str]
    columns: dict[str, str] = field(default_factory=dict)  # normalized name -> "N (Header)"

    def get(self, name: str, default: str = "") -> str:
        value = self.cells.get(norm_name(name))
        return default if value is None else value

    def column(self, name: str) -> str:
        """How an error names this column: its number and header text."""
        return self.columns.get(norm_name(name), name)

    def error(self, name: str | None, message: str) -> ImportFileError:
        return ImportFileError(self.file, message, self.line, self.column(name) if name else None)


@dataclass
class Table:
    """A parsed file: its header (normalized names), how it was read, and its rows."""

    file: str
    encoding: str
    delimiter: str
    header: list[str]
    header_line: int
    rows: list[Row]
    bad_rows: list[ImportFileError]


@functools.lru_cache(maxsize=4096)
def norm_name(name: str) -> str:
    """A column name compared loosely: no BOM, no surrounding quotes, spaces collapsed, lower."""
    return re.sub(r"\s+", " ", name.replace("\ufeff", "").strip().strip('"').strip()).lower()


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return line, offset - start + 1


def decode(data: bytes, file: str) -> tuple[str, str]:
    """The text of a file and the encoding it was read in; raise naming the first bad byte."""
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ["utf-8-sig"]
    elif data.startswith(b"\xff\xfe"):
        encodings = ["utf-16-le"]
        data = data[2:]
    elif data.startswith(b"\xfe\xff"):
        encodings = ["utf-16-be"]
        data = data[2:]
    else:
        encodings = ["utf-8", "cp1252"]
    if encodings[0] in ("utf-8", "utf-8-sig"):
        nul = data.find(b"\x00")
        if nul >= 0:
            line, col = _position(data, nul)
            raise ImportFileError(
                file, "a NUL byte: this is not a text file", line, f"{col} (byte)"
            )
    if encodings[0].startswith("utf-16"):
        try:
            text = data.decode(encodings[0])
        except UnicodeDecodeError:
            raise ImportFileError(
                file, f"cannot decode the bytes as {encodings[0].upper()} (a broken file?)"
            ) from None
        if "\x00" in text:
            raise ImportFileError(file, "a NUL character: this is not a text file")
        return _lines(text), encodings[0]
    try:
        return _lines(data.decode(encodings[0])), encodings[0]
    except UnicodeDecodeError as exc:
        bad = exc.start
        # Valid multi-byte UTF-8 before the bad byte: the file is UTF-8, and damaged.
        damaged = any(b >= 0x80 for b in data[:bad])
    if not damaged and len(encodings) > 1:
        try:
            return _lines(data.decode(encodings[1])), encodings[1]
        except UnicodeDecodeError as exc:
            bad = exc.start
    line, col = _position(data, bad)
    why = (
        "is not valid UTF-8 (the rest of the file is UTF-8: a damaged file?)"
        if damaged or len(encodings) == 1
        else "cannot be decoded (neither UTF-8 nor Windows-1252)"
    )
    raise ImportFileError(file, f"byte 0x{data[bad]:02X} {why}", line, f"{col} (byte)")


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def sniff_delimiter(line: str) -> str:
    """The delimiter that splits a header line into the most fields (ties: comma first)."""
    counts = {d: len(next(csv.reader([line], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))


def _failure(exc: csv.Error) -> str:
    """What went wrong in a record csv could not read, for the error line."""
    if "field larger than field limit" in str(exc):
        return "a cell longer than a million characters"
    return "unreadable quoting"


def _records(
    text: str, delimiter: str, first_line: int
) -> Iterator[tuple[int, list[str] | None, str]]:
    """Records of ``text`` with the line each starts on; None (and why) where csv failed."""
    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    start = first_line
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, None, _failure(exc)
            start = first_line + reader.line_num
            continue
        yield start, rec, ""
        start = first_line + reader.line_num


def _repair(raw: str, delimiter: str, width: int) -> list[str] | None:
    """Split a record whose last column is free text with broken quoting (LinkedIn's
    Comments.csv): the first ``width - 1`` fields by the delimiter, the rest is the last field."""
    head = raw.split(delimiter, width - 1)
    if len(head) != width:
        return None
    fields = [next(csv.reader([h], delimiter=delimiter), [""])[0] if h else "" for h in head[:-1]]
    last = head[-1].rstrip("\n")
    if len(last) >= 2 and last.startswith('"') and last.endswith('"'):
        last = last[1:-1].replace('""', '"')
    return [*fields, last]


def read_table(
    data: bytes,
    file: str,
    *,
    required: Iterable[str],
    optional: Iterable[str] = (),
    record_start: re.Pattern[str] | None = None,
) -> Table:
    """Parse a delimited file; the header is the first line naming every required column.

    ``record_start`` (a pattern every record's first line matches) switches to the tolerant
    reader for files whose last column is free text with broken quoting. Rows with a wrong
    number of cells are collected in ``bad_rows`` (the caller decides: error or skip).
    """
    text, encoding = decode(data, file)
    required = [norm_name(c) for c in required]
    known = set(required) | {norm_name(c) for c in optional}
    lines = text.split("\n")
    header_idx = None
    delimiter = ","
    header: list[str] = []
    for i, line in enumerate(lines[:HEADER_SEARCH_LINES]):
        if not line.strip():
            continue
        try:
            delim = sniff_delimiter(line)
            cells = [norm_name(c) for c in next(csv.reader([line], delimiter=delim), [])]
        except csv.Error:  # a line no header can be (a cell over the limit)
            continue
        if all(r in cells for r in required):
            header_idx, delimiter, header = i, delim, cells
            break
    if header_idx is None:
        first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
        if first is None:
            raise ImportFileError(file, "the file is empty (no header line)", 1)
        raise ImportFileError(
            file,
            f"no header line naming the columns {', '.join(required)} in the first "
            f"{HEADER_SEARCH_LINES} lines",
            first + 1,
        )
    dup = next((c for c in header if c and header.count(c) > 1 and c in known), None)
    if dup:
        raise ImportFileError(
            file, f"the column {dup!r} appears twice", header_idx + 1, str(header.index(dup) + 1)
        )
    columns = {c: f"{i + 1} ({c})" for i, c in enumerate(header) if c}
    width = len(header)
    body = "\n".join(lines[header_idx + 1 :])
    rows: list[Row] = []
    bad: list[ImportFileError] = []

    def emit(
        line_no: int, rec: list[str] | None, raw: str | None, why: str = "unreadable quoting"
    ) -> None:
        if rec is not None and not any(c.strip() for c in rec):
            return  # blank line
        if (rec is None or len(rec) != width) and raw is not None:
            rec = _repair(raw, delimiter, width) or rec
        if rec is None:
            bad.append(ImportFileError(file, why, line_no))
            return
        if len(rec) != width:
            extra = len(rec) > width
            bad.append(
                ImportFileError(
                    file,
                    f"{len(rec)} cells where the header has {width}"
                    + (" (an unquoted delimiter?)" if extra else ""),
                    line_no,
                    str(min(len(rec), width) + (1 if extra else 0)),
                )
            )
            return
        for c in rec:
            if len(c) > MAX_CELL - 1:
                bad.append(
                    ImportFileError(file, "a cell longer than a million characters", line_no)
                )
                return
        rows.append(
            Row(file, line_no, {h: v for h, v in zip(header, rec, strict=True) if h}, columns)
        )

    first_body_line = header_idx + 2
    if record_start is None:
        for line_no, rec, why in _records(body, delimiter, first_body_line):
            emit(line_no, rec, None, why or "unreadable quoting")
    else:
        chunk: list[str] = []
        chunk_line = first_body_line
        for i, line in enumerate(body.split("\n")):
            if record_start.match(line) and chunk:
                _emit_chunk(chunk, chunk_line, delimiter, emit)
                chunk = []
            if not chunk:
                chunk_line = first_body_line + i
            chunk.append(line)
        if chunk:
            _emit_chunk(chunk, chunk_line, delimiter, emit)
    return Table(file, encoding, delimiter, header, header_idx + 1, rows, bad)


def _emit_chunk(chunk: list[str], line_no: int, delimiter: str, emit) -> None:  # type: ignore[no-untyped-def]
    raw = "\n".join(chunk).rstrip("\n")
    if not raw.strip():
        return
    why = "unreadable quoting"
    try:
        recs = list(csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter, strict=True))
        rec = recs[0] if len(recs) == 1 else None
    except csv.Error as exc:
        rec, why = None, _failure(exc)
    emit(line_no, rec, raw, why)
