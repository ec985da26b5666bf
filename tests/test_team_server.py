"""A team member's ordinary role on the PostgreSQL server (not a superuser), as the README
tells an administrator to set it up: the whole toolkit works with it."""

from __future__ import annotations

import study
from study.backup import backup
from study.privacy import forget
from tests.test_faults import study_cmd


def test_an_ordinary_role_owning_its_database_can_do_everything(pg_server, tmp_path):
    pg_server.psql("DROP DATABASE IF EXISTS team_study")
    pg_server.psql("DROP ROLE IF EXISTS anna")
    pg_server.psql("CREATE ROLE anna LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
    pg_server.psql("CREATE DATABASE team_study OWNER anna")
    url = f"postgresql+psycopg://anna@/team_study?host={pg_server.socket_dir}"
    env = {"STUDY_DB": url}
    assert study_cmd("init", env=env).returncode == 0
    added = study_cmd("contact", "add", "Anna Beispiel", "--platform", "xing", env=env)
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip()
    res = study_cmd(
        "log", "interaction", "--contact", key, "--channel", "call", "--direction", "out", env=env
    )
    assert res.returncode == 0, res.stderr
    s = study.open(url)
    backup(s, tmp_path / "team.db")
    done = forget(s, key)
    assert not done.warnings and s.count() == 1
    assert study_cmd("events", env=env).returncode == 0
    # another role without rights on the database gets one clear error line
    pg_server.psql("DROP ROLE IF EXISTS mallory")
    pg_server.psql("CREATE ROLE mallory LOGIN")
    pg_server.psql("REVOKE CONNECT ON DATABASE team_study FROM PUBLIC")
    bad = study_cmd("events", "--db", url.replace("anna@", "mallory@"))
    assert bad.returncode == 2 and bad.stderr.startswith("error: cannot open")
    assert bad.stderr.count("\n") == 1 and "permission denied" in bad.stderr
