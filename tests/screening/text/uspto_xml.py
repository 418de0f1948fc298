"""USPTO trademark-applications XML, written here from the published layout (tests and benchmarks build
their own files: the real ones are gigabytes). One `case-file` per record, with the elements the
importer reads and some it skips (statements, events, correspondent), as the office's files have."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Case:
    serial: str
    mark: str
    status: int = 700
    classes: tuple[int, ...] = (25,)
    owner: str = "Example Holdings LLC"
    registration: str = ""
    registered: str = "20150301"
    drawing: str = "4000"  # 4000 standard characters; 2000 design only; 3000 words and design
    owners: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # extra (party-type, name)


def case_xml(c: Case) -> str:
    classes = "".join(
        f"<classification><international-code-total-no>1</international-code-total-no>"
        f"<international-code>{k:03d}</international-code><us-code>039</us-code>"
        f"<status-code>6</status-code><primary-code>{k:03d}</primary-code></classification>"
        for k in c.classes
    )
    owners = "".join(
        f"<case-file-owner><entry-number>1</entry-number><party-type>{t}</party-type>"
        f"<party-name>{escape(n)}</party-name><city>Springfield</city></case-file-owner>"
        for t, n in ((("10", c.owner),) if c.owner else ()) + c.owners
    )
    return (
        f"<case-file><serial-number>{c.serial}</serial-number>"
        f"<registration-number>{c.registration or '0000000'}</registration-number>"
        f"<transaction-date>20260101</transaction-date>"
        f"<case-file-header><filing-date>20100101</filing-date>"
        f"<registration-date>{c.registered}</registration-date>"
        f"<status-code>{c.status}</status-code><status-date>20200101</status-date>"
        f"<mark-identification>{escape(c.mark)}</mark-identification>"
        f"<mark-drawing-code>{c.drawing}</mark-drawing-code>"
        f"<attorney-name>A. Lawyer</attorney-name></case-file-header>"
        f"<case-file-statements><case-file-statement><type-code>GS0251</type-code>"
        f"<text>Clothing, namely, shirts</text></case-file-statement></case-file-statements>"
        f"<case-file-event-statements><case-file-event-statement><code>NWAP</code><type>I</type>"
        f"<description-text>NEW APPLICATION ENTERED</description-text><date>20100105</date>"
        f"<number>1</number></case-file-event-statement></case-file-event-statements>"
        f"<classifications>{classes}</classifications>"
        f"<correspondent><address-1>PO Box 1</address-1></correspondent>"
        f"<case-file-owners>{owners}</case-file-owners></case-file>"
    )


def uspto_chunks(cases: Iterable[Case | str], *, daily: bool = True) -> Iterator[bytes]:
    """The document in pieces (a case given as a str is written as is: a broken record)."""
    root = "trademark-applications-daily" if daily else "trademark-applications"
    yield (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}><version><version-no>2.0</version-no>'
        f"<version-date>20260101</version-date></version><creation-datetime>202601010000</creation-datetime>"
        f"<application-information><data-available-code>N</data-available-code>"
        f"<file-segments><file-segment>TMRC</file-segment><action-keys><action-key>AA</action-key>"
    ).encode()
    buf = io.StringIO()
    for k, c in enumerate(cases):
        buf.write(c if isinstance(c, str) else case_xml(c))
        if k % 1000 == 999:
            yield buf.getvalue().encode()
            buf = io.StringIO()
    yield buf.getvalue().encode()
    yield f"</action-keys></file-segments></application-information></{root}>\n".encode()


def write_uspto(path: Path, cases: Iterable[Case | str], *, daily: bool = True, zipped: bool = False) -> Path:
    """A file (or a zip holding one .xml member) of these cases, written in pieces."""
    if zipped:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            with zf.open(path.stem + ".xml", "w", force_zip64=True) as out:
                for chunk in uspto_chunks(cases, daily=daily):
                    out.write(chunk)
    else:
        with path.open("wb") as out:
            for chunk in uspto_chunks(cases, daily=daily):
                out.write(chunk)
    return path
