"""Benchmark: import a large synthetic LinkedIn archive, then re-import it; prints rows/s.

    .venv/bin/python bench/import_linkedin.py [CONNECTIONS] [MESSAGES]

Invented people only. Measures the whole path: zip, decoding, parsing, rules, one transaction.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import study
from study.importers import import_path

HEAD = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
MSG_HEAD = "CONVERSATION ID,FROM,SENDER PROFILE URL,TO,RECIPIENT PROFILE URLS,DATE,SUBJECT,CONTENT,FOLDER\n"


def archive(path: Path, n_conn: int, n_msg: int) -> None:
    start = dt.date(2012, 1, 1)
    conn = io.StringIO()
    conn.write(HEAD)
    for i in range(n_conn):
        day = start + dt.timedelta(days=i % 5000)
        conn.write(
            f"Person{i},Test,https://www.linkedin.com/in/p{i},,Firm {i % 97},Role,{day:%d %b %Y}\n"
        )
    msg = io.StringIO()
    msg.write(MSG_HEAD)
    for j in range(n_msg):
        i = j % n_conn
        t = dt.datetime(2020, 1, 1) + dt.timedelta(minutes=7 * j)
        if j % 2:
            msg.write(
                f"c{i},Me Myself,https://www.linkedin.com/in/me,Person{i} Test,https://www.linkedin.com/in/p{i},{t:%Y-%m-%d %H:%M:%S} UTC,,hi {j},INBOX\n"
            )
        else:
            msg.write(
                f"c{i},Person{i} Test,https://www.linkedin.com/in/p{i},Me Myself,https://www.linkedin.com/in/me,{t:%Y-%m-%d %H:%M:%S} UTC,,hello {j},INBOX\n"
            )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Connections.csv", conn.getvalue())
        zf.writestr("messages.csv", msg.getvalue())
        zf.writestr("Profile.csv", "First Name,Last Name\nMe,Myself\n")


def main() -> None:
    n_conn = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    n_msg = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        zpath = Path(tmp) / "Complete_LinkedInDataExport_11-01-2026.zip"
        archive(zpath, n_conn, n_msg)
        s = study.init(Path(tmp) / "bench.db")
        rows = n_conn + n_msg
        t0 = time.perf_counter()
        first = import_path(s, "linkedin", zpath)
        t1 = time.perf_counter()
        again = import_path(s, "linkedin", zpath)
        t2 = time.perf_counter()
        print(
            f"archive: {n_conn} connections, {n_msg} messages ({zpath.stat().st_size / 1e6:.1f} MB zip)"
        )
        print(
            f"first import:  {t1 - t0:6.2f} s  {rows / (t1 - t0):8.0f} rows/s  ({first.total_added} events added)"
        )
        print(
            f"re-import:     {t2 - t1:6.2f} s  {rows / (t2 - t1):8.0f} rows/s  ({again.total_added} added, {again.total_present} already present)"
        )
        s.close()


if __name__ == "__main__":
    main()
