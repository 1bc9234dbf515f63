"""A throwaway PostgreSQL cluster for the team-memory tests, the benchmark and ``.ci/run``.

Contract:
- ``Cluster.create()`` runs ``initdb`` into a fresh temporary folder (as the unprivileged
  ``nobody`` when we are root: PostgreSQL refuses to run as root), with a random superuser
  password (scram-sha-256 for every connection), and ``start()`` serves it on a Unix
  socket inside that folder only (no TCP port, so two suites side by side never collide).
  ``url`` is the superuser's libpq URL; ``stop()`` / ``start()`` stop and restart the same
  cluster (fault tests); ``destroy()`` stops it and removes the folder.
- ``find_bin()`` is the folder holding ``initdb``/``pg_ctl`` (``$PG_BIN``, else the Debian
  package's newest ``/usr/lib/postgresql/*/bin``, else ``PATH``), or None: callers skip.
- As a script: ``python tests/pgcluster.py start`` creates and starts one and prints
  ``URL<TAB>FOLDER``; ``python tests/pgcluster.py stop FOLDER`` stops and removes it.
"""
from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

UNPRIVILEGED = "nobody"


def find_bin() -> str | None:
    configured = os.environ.get("PG_BIN")
    if configured and os.path.exists(os.path.join(configured, "initdb")):
        return configured
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if candidates:
        return os.path.dirname(candidates[-1])
    found = shutil.which("initdb")
    return os.path.dirname(found) if found else None


class Cluster:
    def __init__(self, folder: str, password: str, bin_dir: str, port: int = 5432):
        self.folder = folder
        self.password = password
        self.bin_dir = bin_dir
        self.port = port

    # -- making one -------------------------------------------------------------------

    @classmethod
    def create(cls, bin_dir: str | None = None) -> "Cluster":
        bin_dir = bin_dir or find_bin()
        if not bin_dir:
            raise RuntimeError("PostgreSQL is not installed (no initdb found)")
        # Directly under /tmp (not in a root-only pytest folder) so ``nobody`` can reach it.
        folder = tempfile.mkdtemp(prefix="claude-mem-pg-", dir="/tmp")
        cluster = cls(folder, secrets.token_hex(12), bin_dir)
        if os.geteuid() == 0:
            import pwd

            entry = pwd.getpwnam(UNPRIVILEGED)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        pwfile = os.path.join(folder, "pwfile")
        with open(pwfile, "w") as fh:
            fh.write(cluster.password + "\n")
        if os.geteuid() == 0:
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        cluster._run("initdb", "-D", cluster.data, "-U", "postgres", "--pwfile", pwfile,
                     "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-sync")
        os.unlink(pwfile)
        with open(os.path.join(cluster.data, "postgresql.conf"), "a") as fh:
            fh.write("\nlisten_addresses = ''\n"
                     f"unix_socket_directories = '{folder}'\n"
                     "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                     "max_connections = 60\nshared_buffers = 32MB\n")
        return cluster

    @property
    def data(self) -> str:
        return os.path.join(self.folder, "data")

    @property
    def url(self) -> str:
        return self.url_for("postgres", self.password)

    def url_for(self, user: str, password: str, dbname: str = "postgres") -> str:
        host = urllib.parse.quote(self.folder, safe="")
        return (f"postgresql://{urllib.parse.quote(user)}:{urllib.parse.quote(password)}@"
                f"/{dbname}?host={host}&port={self.port}")

    # -- running it -------------------------------------------------------------------

    def _run(self, tool: str, *args: str) -> None:
        argv = [os.path.join(self.bin_dir, tool), *args]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", UNPRIVILEGED, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, cwd="/tmp", timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.folder, "server.log"),
                  "-o", f"-p {self.port}", "-w", "-t", "60", "start")

    def stop(self) -> None:
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["start"]:
        cluster = Cluster.create()
        cluster.start()
        print(f"{cluster.url}\t{cluster.folder}")
        return 0
    if argv[:1] == ["stop"] and len(argv) == 2:
        folder = argv[1]
        bin_dir = find_bin()
        if bin_dir:
            Cluster(folder, "", bin_dir).destroy()
        return 0
    print("usage: pgcluster.py start | stop FOLDER", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
