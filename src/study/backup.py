"""Backups and restores of a whole study, consistent while others keep writing.

A backup is always a SQLite file (readable by any SQLite tool, ``study.open`` included):

* from SQLite it is SQLite's online backup API, copying every page in one step under one read
  transaction: a snapshot, even while other processes append (WAL lets them go on);
* from PostgreSQL it is a logical copy through SQLAlchemy of every table inside one
  ``REPEATABLE READ READ ONLY`` transaction: a snapshot as well, with no client binaries whose
  version must match the server's (pg_dump refuses a newer server), and a file a researcher can
  restore onto either engine, which also moves a study between SQLite and a team server.

A restore copies every row of the backup into the target in one transaction (all or nothing),
refusing a target that already holds events or contacts unless ``force``. A backup from an
older toolkit is upgraded on a private copy first. Erasures recorded in the target before the
restore (``study forget``) are applied again afterwards, so a restore never brings back a person
who was forgotten. Backup files hold names; they are created owner-only (0600) and recorded in
the study's list of files with names (docs/privacy.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Table,
    bindparam,
    create_engine,
    delete,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from study import store
from study.errors import DatabaseError, StudyError
from study.files import private_path, target_file

if TYPE_CHECKING:
    from study.api import Study

#: Tables in the order their rows can be inserted (contacts' introducers are set afterwards).
TABLES: tuple[Table, ...] = (
    store.study_meta,
    store.participants,
    store.contacts,
    store.contact_details,
    store.events,
    store.erasures,
    store.named_files,
)
CHUNK = 5_000


def extra_tables() -> tuple[Table, ...]:
    """The importers' own tables (provenance, snapshots), created on the first import."""
    from study.importers.provenance import metadata as import_metadata

    return tuple(import_metadata.sorted_tables)


def tables_of(conn: Any) -> tuple[Table, ...]:
    """The tables a study holds: the log's, and the importers' where they exist."""
    present = set(inspect(conn).get_table_names())
    return TABLES + tuple(t for t in extra_tables() if t.name in present)


@dataclass
class CopySummary:
    rows: dict[str, int]
    reapplied_erasures: int = 0
    files_deleted: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return ", ".join(f"{n} {t}" for t, n in self.rows.items() if t != "study_meta")


def _private_file(path: Path) -> None:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


def backup(study: Study, dest: str | os.PathLike[str], *, force: bool = False) -> CopySummary:
    """Write a consistent copy of ``study`` to the SQLite file ``dest`` (owner-only)."""
    from study.privacy import register_named_file

    out = Path(dest).expanduser().absolute()
    if out.exists() and not force:
        raise StudyError(f"{out} exists; choose another name or use --force to replace it")
    src_path = store.sqlite_path(study.url)
    if src_path is not None and src_path.resolve() == out.resolve():
        raise StudyError("the backup cannot be the study's own file")
    target_file(out, "backup")
    register_named_file(study, out, "backup")  # before the first byte: a read-only study stops here
    with private_path(out) as tmp:
        if src_path is not None:
            _sqlite_online_backup(src_path, tmp)
        else:
            _logical_backup(study, tmp)
        rows = table_counts(f"sqlite:///{tmp}")
    for suffix in ("-wal", "-shm"):
        Path(str(out) + suffix).unlink(missing_ok=True)
    return CopySummary(rows)


def _sqlite_online_backup(src_path: Path, tmp: Path) -> None:
    timeout = store.busy_timeout()
    try:
        with (
            contextlib.closing(sqlite3.connect(src_path, timeout=timeout)) as src,
            contextlib.closing(sqlite3.connect(tmp)) as dst,
        ):
            src.backup(dst)  # pages=-1: every page in one step, one consistent snapshot
            dst.execute("PRAGMA journal_mode = DELETE")
            ok = dst.execute("PRAGMA quick_check").fetchone()[0]
        if ok != "ok":
            raise DatabaseError(f"the copy of {src_path} failed its check: {ok}")
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot back up {src_path}: {exc}") from None


def _logical_backup(study: Study, tmp: Path) -> None:
    dst = create_engine(f"sqlite:///{tmp}")
    try:
        with (
            study.engine.connect().execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            ) as src,
            src.begin(),
            dst.begin() as out,
        ):
            tables = tables_of(src)
            for table in tables:
                table.create(out, checkfirst=True)
            for table in tables:
                for rows in _chunks(src, table):
                    out.execute(insert(table), rows)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot back up {study.name}: {store._short(exc)}") from None
    finally:
        dst.dispose()


def _chunks(conn: Any, table: Table) -> Iterator[list[dict[str, Any]]]:
    order = list(table.primary_key.columns)
    result = conn.execution_options(yield_per=CHUNK).execute(select(table).order_by(*order))
    for part in result.mappings().partitions(CHUNK):
        yield [dict(r) for r in part]


def table_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
                for t in tables_of(conn)
            }
    finally:
        engine.dispose()


@contextlib.contextmanager
def _opened_backup(src: str | os.PathLike[str]) -> Iterator[Study]:
    """The backup as a study, opened on a private copy (so upgrading it leaves it as it is)."""
    from study.api import Study

    path = Path(src).expanduser()
    if not path.is_file():
        raise StudyError(f"no backup at {path}")
    with open(path, "rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise StudyError(f"{path} is not a study backup (not a SQLite file)")
    workdir = Path(tempfile.mkdtemp(prefix="study-restore-"))
    copy = workdir / "backup.db"
    try:
        _private_file(copy)
        shutil.copyfile(path, copy)
        try:
            opened = Study(copy)
        except DatabaseError as exc:
            raise StudyError(f"{path} is not a study backup ({exc})") from None
        try:
            yield opened
        finally:
            opened.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def restore(
    url: str | os.PathLike[str] | None, src: str | os.PathLike[str], *, force: bool = False
) -> CopySummary:
    """Replace the study at ``url`` (created if there is none) by the backup ``src``.

    What the target knew about privacy is merged in, never dropped: its erasures (applied
    again, in the same transaction, to the people the backup still holds) and its register
    of files written with names (so ``study forget`` still deletes exports and reports made
    after the backup was taken)."""
    from study.api import Study
    from study.privacy import compact, remove_named_files

    with _opened_backup(src) as backup_study:
        target = Study(url, create=True)
        try:
            with target._read() as conn:
                held = {
                    t.name: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
                    for t in (store.events, store.contacts)
                }
            if any(held.values()) and not force:
                raise StudyError(
                    f"{target.name} already holds {held['events']} events and "
                    f"{held['contacts']} contacts; restoring would replace them "
                    "(use --force, perhaps after `study backup` of it)"
                )
            rows, again = _copy_all(backup_study, target)
            with target._read() as conn:
                target.meta = store.read_meta(conn)
            summary = CopySummary(rows, again)
            if again:  # files with names may show the people forgotten again
                summary.files_deleted = remove_named_files(target).files_deleted
            if force or again:  # no copy of replaced or erased rows in free pages or journal
                summary.warnings = compact(target)
            return summary
        finally:
            target.close()


#: Tables whose rows the target keeps through a restore, merged with the backup's.
MERGED = (store.erasures, store.named_files)


def _copy_all(source: Study, target: Study) -> tuple[dict[str, int], int]:
    """Every row of ``source`` into ``target`` in one transaction, the target's erasures and
    named files merged in and its erasures applied again; (rows copied, erasures applied)."""
    from study.privacy import erase

    counts: dict[str, int] = {}
    c = store.contacts
    try:
        with source._read() as src, target.engine.begin() as out:
            if out.dialect.name == "sqlite":
                out.exec_driver_sql("PRAGMA secure_delete = ON")
            kept = {t.name: [dict(r) for r in out.execute(select(t)).mappings()] for t in MERGED}
            incoming = tables_of(src)
            for table in incoming:
                table.create(out, checkfirst=True)
            for table in reversed(tables_of(out)):
                if table is c:
                    out.execute(update(c).values(introducer=None))
                out.execute(delete(table))
            introducers: list[dict[str, Any]] = []
            for table in incoming:
                counts[table.name] = 0
                for rows in _chunks(src, table):
                    if table is c:
                        introducers += [
                            {"k": r["key"], "i": r["introducer"]} for r in rows if r["introducer"]
                        ]
                        rows = [{**r, "introducer": None} for r in rows]
                    out.execute(insert(table), rows)
                    counts[table.name] += len(rows)
            if introducers:
                out.execute(
                    update(c).where(c.c.key == bindparam("k")).values(introducer=bindparam("i")),
                    introducers,
                )
            if out.dialect.name == "postgresql":
                for table in incoming:
                    if "id" not in table.c or table.c.id.type.python_type is not int:
                        continue
                    out.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"coalesce(max(id), 1), max(id) IS NOT NULL) FROM {table.name}"
                    )
            _merge(out, kept)
            again = _erase_again(out, [r["contact"] for r in kept[store.erasures.name]], erase)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot restore into {target.name}: {store._short(exc)}") from None
    return counts, again


def _merge(out: Any, kept: dict[str, list[dict[str, Any]]]) -> None:
    """The target's erasures and named files that the backup does not hold, added back."""
    er, nf = store.erasures, store.named_files
    have = {(r.contact, r.erased_at) for r in out.execute(select(er.c.contact, er.c.erased_at))}
    rows = [
        {k: v for k, v in r.items() if k != "id"}
        for r in kept[er.name]
        if (r["contact"], r["erased_at"]) not in have
    ]
    if rows:
        out.execute(insert(er), rows)
    paths = set(out.execute(select(nf.c.path)).scalars())
    rows = [r for r in kept[nf.name] if r["path"] not in paths]
    if rows:
        out.execute(insert(nf), rows)


def _erase_again(out: Any, erased: list[str], erase: Any) -> int:
    """Forget again, in the restore's transaction, every erased contact the backup holds."""
    if not erased:
        return 0
    meta = store.read_meta(out)
    present = set(
        out.execute(select(store.contacts.c.key).where(store.contacts.c.key.in_(erased))).scalars()
    )
    for key in dict.fromkeys(erased):
        if key in present:
            erase(out, key, meta, record=False)
    return len(present)
