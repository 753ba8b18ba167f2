# SPDX-License-Identifier: ISC
"""bench/imapservers.py - the two servers of the IMAP bench (bench/imap.py):
Dovecot, IMAP over implicit TLS only, from bench/dovecot/imap.conf.in; and
postino (benchlib.Postino) with the bench's certificate, Maildirs,
password hashes and connection limits. Both get the same certificate,
the same SHA512-CRYPT hash per user and the same mail, written into their
Maildirs before they start.
"""

import collections
import ctypes
import grp
import os
import pwd
import re
import resource
import signal
import sqlite3
import statistics
import time

import benchlib as bl
from imapload import DOMAIN, PASSWORD, ImapError, SyncImap


def wait_imaps(port, proc, who, log_path, timeout=bl.READY_TIMEOUT):
    """Wait until 127.0.0.1:port completes a TLS handshake and greets;
    returns the greeting line."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise bl.BenchError("%s exited with status %s before answering on port %d; "
                                "log %s:\n%s" % (who, proc.returncode, port, log_path,
                                                  bl.log_tail(log_path)))
        try:
            c = SyncImap(port, timeout=5)
            c.close()
            return c.greeting
        except (OSError, ImapError) as e:
            last = e
        time.sleep(0.2)
    raise bl.BenchError("%s did not answer IMAP over TLS on 127.0.0.1:%d within %ss (%s); "
                        "log %s:\n%s" % (who, port, timeout, last, log_path,
                                         bl.log_tail(log_path)))


# ------------------------------------------------------------------ servers

def describe_exit(proc):
    """'signal SIGSEGV' or 'status 1' for a process that has exited."""
    rc = proc.poll() if proc is not None else None
    if rc is None:
        return "running"
    if rc < 0:
        try:
            return "killed by signal %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    return "exit status %d" % rc


def make_cert(tmp):
    d = os.path.join(tmp, "tls")
    os.makedirs(d, mode=0o700)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    bl.run_cmd(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                "-out", cert, "-days", "30", "-subj", "/O=bench/CN=mail." + DOMAIN],
               what="openssl req")
    return cert, key


def crypt_hash(password, prefix=b"$6$"):
    """A crypt(3) hash made with libcrypt at its default cost for the
    method: "$6$" SHA512-CRYPT (5000 rounds), "$y$" yescrypt."""
    try:
        lib = ctypes.CDLL("libcrypt.so.1")
        lib.crypt_gensalt_ra.restype = ctypes.c_void_p
        lib.crypt.restype = ctypes.c_char_p
        salt = lib.crypt_gensalt_ra(prefix, 0, None, 0)
        if not salt:
            raise OSError("crypt_gensalt_ra(%r) failed" % prefix)
        out = lib.crypt(password.encode(), ctypes.c_char_p(salt))
        ctypes.CDLL(None).free(ctypes.c_void_p(salt))
    except (OSError, AttributeError) as e:
        raise bl.BenchError("cannot make a %s hash with libcrypt: %s" % (prefix.decode(), e))
    if not out or not out.startswith(prefix):
        raise bl.BenchError("libcrypt does not make %s hashes (got %r)" % (prefix.decode(), out))
    return out.decode()


def verify_ms(hashed, password=PASSWORD, reps=5):
    """Milliseconds one verification of hashed costs here (median)."""
    lib = ctypes.CDLL("libcrypt.so.1")
    lib.crypt.restype = ctypes.c_char_p
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        lib.crypt(password.encode(), hashed.encode())
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


class DovecotImap(bl.Instance):
    """Dovecot, IMAP over implicit TLS only, from bench/dovecot/imap.conf.in."""
    name = "Dovecot"

    def __init__(self, tmp, hashes, cert, key, fill, limits):
        self.tmp = tmp
        self.hashes = hashes        # user -> crypt(3) hash
        self.cert, self.key = cert, key
        self.fill = fill
        self.limits = limits
        self.dir = os.path.join(tmp, "dovecot-imap")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.mail = os.path.join(self.dir, "mail")
        self.log = os.path.join(tmp, "logs", "dovecot-imap.log")
        self.out = os.path.join(tmp, "logs", "dovecot-imap.out")
        self.imaps_port = bl.free_port()
        self.proc = None
        self.warnings = []
        self.settings = []

    def describe(self):
        return "Dovecot %s" % bl.run_cmd([bl.DOVECOT_CMD, "--version"]).stdout.strip()

    def maildir(self, user):
        return os.path.join(self.mail, DOMAIN, user)

    def roots(self):
        return [self.proc.pid] if self.proc is not None else []

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def exit_status(self):
        return describe_exit(self.proc)

    def logs(self):
        return [self.log, self.out]

    def start(self):
        bl.check_port_free(self.imaps_port, "Dovecot IMAPS")
        mail = pwd.getpwnam("mail")
        for d in (self.dir, os.path.join(self.dir, "run"), os.path.join(self.dir, "state")):
            os.makedirs(d, mode=0o755, exist_ok=True)
        os.makedirs(self.mail, mode=0o700, exist_ok=True)
        os.chown(self.mail, mail.pw_uid, mail.pw_gid)
        users_file = os.path.join(self.dir, "users")
        with open(users_file, "w") as f:
            for u, hashed in self.hashes.items():
                f.write("%s@%s:{SHA512-CRYPT}%s::::::\n" % (u, DOMAIN, hashed))
        os.chmod(users_file, 0o640)
        os.chown(users_file, 0, grp.getgrnam("dovecot").gr_gid)
        values = {
            "INSTANCE": "postino-bench-imap-%d" % os.getpid(),
            "BASE_DIR": os.path.join(self.dir, "run"),
            "STATE_DIR": os.path.join(self.dir, "state"),
            "LOG_FILE": self.log, "CERT": self.cert, "KEY": self.key,
            "MAIL_UID": mail.pw_uid, "MAIL_GID": mail.pw_gid, "MAIL_DIR": self.mail,
            "USERS_FILE": users_file, "IMAPS_PORT": self.imaps_port, "EXTRA": "",
        }
        values.update(self.limits)
        bl.fill_template(os.path.join(bl.BENCH_DIR, "dovecot", "imap.conf.in"), self.conf,
                         values)
        r = bl.run_cmd([bl.DOVECOT_CMD, "-c", self.conf, "-n"], what="dovecot config check")
        self.warnings = [l.strip() for l in r.stderr.splitlines() if l.strip()]
        self.settings = [
            "default_client_limit = %s" % self.limits["CLIENT_LIMIT"],
            "service imap-login { service_count = 0, process_min_avail = %s, "
            "client_limit = %s (default_client_limit), vsz_limit = 1G }"
            % (self.limits["LOGIN_PROCESSES"], self.limits["CLIENT_LIMIT"]),
            "service imap { process_limit = %s, client_limit = 1 (stock) }"
            % self.limits["PROCESS_LIMIT"],
            "mail_max_userip_connections = %s" % self.limits["PER_USER"],
            "ssl = required (imaps only), no FTS plugin, mail_fsync = optimized (stock), "
            "imap_hibernate_timeout = 0 (stock), auth_cache_size = 0 (stock)",
            "passwords: SHA512-CRYPT, the same hash per user as postino's",
            "RLIMIT_NOFILE %d inherited by the master" % resource.getrlimit(
                resource.RLIMIT_NOFILE)[0],
        ]
        self.fill(self.maildir, mail.pw_uid, mail.pw_gid, os.path.join(self.mail, DOMAIN))
        self.proc = bl.spawn([bl.DOVECOT_CMD, "-F", "-c", self.conf], log_path=self.out)
        self.greeting = wait_imaps(self.imaps_port, self.proc, "dovecot (IMAPS)", self.log)
        if not self.greeting.startswith("* OK"):
            raise bl.BenchError("Dovecot greets with %r" % self.greeting)

    def log_warnings(self):
        """Warnings and errors of its log, each kind once with a count
        (dates, users, PIDs and session ids stripped)."""
        kinds = collections.Counter()
        try:
            with open(self.log, errors="replace") as f:
                for line in f:
                    if not ("Warning:" in line or "Error:" in line or "Fatal:" in line) \
                            or "Killed with signal 15" in line:
                        continue
                    line = re.sub(r"^\w{3} +\d+ [\d:]+ ", "", line.strip())
                    line = re.sub(r"\([^)]*\)(<[^>]*>)*", "", line)
                    line = re.sub(r"\d+(\.\d+)?", "N", line)
                    kinds[re.sub(r"  +", " ", line)] += 1
        except OSError:
            pass
        return ["%s (%d times)" % (k, v) if v > 1 else k for k, v in kinds.most_common()]

    def stop(self):
        rc = bl.stop_process(self.proc, "dovecot")
        self.proc = None
        return {"dovecot": rc}


class PostinoImap(bl.Postino):
    """bl.Postino with the bench's certificate, Maildirs and limits."""

    def __init__(self, tmp, bin_path, hashes, sets, cert, key, fill, settings):
        super().__init__(tmp, bin_path, DOMAIN, list(hashes), PASSWORD, sets)
        self.hashes = hashes
        self.hash_on_add = False        # before_serve() writes the hashes
        self.imaps_port = self.ports["imaps"]
        self.BENCH_SETTINGS = dict(settings)     # the SMTP bench's do not matter here
        self.cert, self.key, self.fill = cert, key, fill
        self.imap_greeting = None

    def before_serve(self):
        for src, name in ((self.cert, "cert.pem"), (self.key, "key.pem")):
            with open(src, "rb") as f:
                data = f.read()
            # rewrite in place: postino's owner and mode stay
            with open(os.path.join(self.data, "tls", name), "r+b") as f:
                f.truncate(0)
                f.write(data)
        # the same SHA512-CRYPT hash as Dovecot's users file: postino
        # verifies the schemes Dovecot stores, so imported accounts keep
        # their passwords (its own `user add` writes yescrypt)
        db = sqlite3.connect(os.path.join(self.data, "postino.db"), timeout=10)
        try:
            with db:
                for u, hashed in self.hashes.items():
                    n = db.execute("UPDATE accounts SET password_hash = ? WHERE address = ?",
                                   (hashed, "%s@%s" % (u, DOMAIN))).rowcount
                    if n != 1:
                        raise bl.BenchError("postino.db: no account %s@%s" % (u, DOMAIN))
        except sqlite3.Error as e:
            raise bl.BenchError("postino.db: cannot set the password hashes: %s" % e)
        finally:
            db.close()
        st = os.stat(os.path.join(self.data, "postino.db"))
        for extra in ("-wal", "-shm", "-journal"):
            if os.path.exists(os.path.join(self.data, "postino.db" + extra)):
                os.chown(os.path.join(self.data, "postino.db" + extra), st.st_uid, st.st_gid)
        st = os.stat(os.path.join(self.data, "mail"))
        self.fill(self.maildir, st.st_uid, st.st_gid, os.path.join(self.data, "mail", DOMAIN))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def exit_status(self):
        return describe_exit(self.proc)

    def check_imap(self):
        self.imap_greeting = wait_imaps(self.imaps_port, self.proc, "postino (IMAPS)", self.log)
        return self.imap_greeting.startswith("* OK")
