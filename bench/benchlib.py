# SPDX-License-Identifier: ISC
"""Helpers shared by the benchmarks in bench/: child processes, loopback
ports, private Postfix + Dovecot and postino instances, memory sampling.

Standard library only (bench/run runs under /usr/bin/python3). Every server
is a child process in its own process group, started with a parent-death
signal, and is stopped by its own PID (then its process group) in
Instance.stop(), which bench/run calls from a `finally`.
"""

import ctypes
import os
import platform
import pwd
import grp
import shutil
import signal
import socket
import subprocess
import threading
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)

READY_TIMEOUT = 30.0    # seconds for a server to answer on its port
STOP_TIMEOUT = 20.0     # seconds between SIGTERM and SIGKILL
CLI_TIMEOUT = 60.0      # seconds for one setup command (postino init, ...)
LOG_TAIL_LINES = 25

POSTFIX_MASTER = "/usr/lib/postfix/sbin/master"
POSTFIX_CMD = "/usr/sbin/postfix"
DOVECOT_CMD = "/usr/sbin/dovecot"
SMTP_SOURCE = "/usr/sbin/smtp-source"

PR_SET_PDEATHSIG = 1

# Scheduling priority for every child (bench/run sets it). Each child runs
# in a session of its own, and with the kernel's autogroups (Debian's
# default) a session is scheduled as one group against every other
# session's group, whatever its processes' nice values: so the priority is
# given to the child's autogroup as well, or a server would get no more
# CPU than each unrelated busy process on a shared machine.
CHILD_NICE = None


class BenchError(Exception):
    """The harness could not do what it had to (setup, a server, a run)."""


# ---------------------------------------------------------------- processes

def _child_setup():
    """In the child, after setsid() and before exec: die with the harness
    (best effort; Linux clears this when the child changes its credentials),
    and give the new session's autogroup the bench's priority."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except Exception:
        pass
    if CHILD_NICE is not None:
        try:
            with open("/proc/self/autogroup", "w") as f:
                f.write(str(CHILD_NICE))
        except OSError:
            pass    # no autogroups in this kernel: the process nice applies


def spawn(argv, log_path=None, env=None, stdout=None, stderr=None):
    """Start a child in its own session and process group."""
    if log_path is not None:
        logf = open(log_path, "ab")
        stdout, stderr = logf, subprocess.STDOUT
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=stderr, env=env, start_new_session=True,
                                preexec_fn=_child_setup)
    finally:
        if log_path is not None:
            logf.close()


def run_cmd(argv, input=None, timeout=CLI_TIMEOUT, env=None, what=None):
    """Run a setup command; BenchError with its output when it fails."""
    try:
        r = subprocess.run(argv, input=input, capture_output=True, text=True,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise BenchError("%s: timed out after %ss" % (what or argv[0], timeout))
    except OSError as e:
        raise BenchError("%s: cannot run %s: %s" % (what or argv[0], argv[0], e))
    if r.returncode != 0:
        raise BenchError("%s: exit %d\n%s%s" % (what or " ".join(argv), r.returncode,
                                                r.stdout, r.stderr))
    return r


def pgroup_members(pgid):
    """PIDs currently in process group pgid."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _read_stat(int(name))
        if st is not None and st[2] == pgid:
            pids.append(int(name))
    return pids


def stop_process(proc, name, timeout=STOP_TIMEOUT):
    """SIGTERM the process by PID, wait, then SIGKILL its process group
    (which the harness created for it) if anything is left. Returns the
    exit status, or None if it had to be killed."""
    if proc is None:
        return None
    pgid = proc.pid    # start_new_session: the child leads its own group
    rc = proc.poll()
    if rc is None:
        try:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            print("bench: %s (pid %d) did not stop within %ss, killing it"
                  % (name, proc.pid, timeout), flush=True)
            rc = None
    # helpers it forked (Postfix and Dovecot children) stay in its group
    deadline = time.monotonic() + 5.0
    while True:
        left = pgroup_members(pgid)
        if not left:
            break
        if time.monotonic() > deadline:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    return rc


def log_tail(path, lines=LOG_TAIL_LINES):
    try:
        with open(path, errors="replace") as f:
            text = f.read().splitlines()
    except OSError as e:
        return "(no log %s: %s)" % (path, e)
    return "\n".join("    " + line for line in text[-lines:]) or "    (log is empty)"


# -------------------------------------------------------------------- ports

def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_port_free(port, who):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            raise BenchError("%s: port 127.0.0.1:%d is busy (%s)" % (who, port, e.strerror))


def read_greeting(port, timeout=5.0):
    """Connect to 127.0.0.1:port and return the first line the server says
    (str, without CRLF); OSError when nothing answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        data = b""
        while b"\n" not in data and len(data) < 4096:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        try:
            s.sendall(b"QUIT\r\n")
        except OSError:
            pass
    return data.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")


def wait_greeting(port, proc, who, log_path, timeout=READY_TIMEOUT):
    """Wait until 127.0.0.1:port greets; BenchError with the log tail when
    the server exits first or never answers."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError("%s exited with status %s before answering on port %d; "
                             "log %s:\n%s" % (who, proc.returncode, port, log_path,
                                               log_tail(log_path)))
        try:
            line = read_greeting(port)
            if line:
                return line
        except OSError as e:
            last = e
        time.sleep(0.1)
    raise BenchError("%s did not answer on 127.0.0.1:%d within %ss (%s); log %s:\n%s"
                     % (who, port, timeout, last, log_path, log_tail(log_path)))


# ------------------------------------------------------------------- memory

PAGE = os.sysconf("SC_PAGE_SIZE")


def _read_stat(pid, cpu=False):
    """(comm, ppid, pgid) from /proc/PID/stat, or None if it is gone; with
    cpu, (comm, ppid, pgid, clock ticks used by it and its reaped children)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    r = data.rfind(b")")
    fields = data[r + 2:].split()
    comm = data[data.find(b"(") + 1:r].decode("utf-8", "replace")
    if cpu:
        # utime stime cutime cstime: fields 14-17 of proc(5)
        return comm, int(fields[1]), int(fields[2]), sum(int(x) for x in fields[11:15])
    return comm, int(fields[1]), int(fields[2])


def process_tree(roots):
    """PIDs of roots and all their descendants."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _read_stat(int(name))
        if st is not None:
            children.setdefault(st[1], []).append(int(name))
    out, todo = [], [r for r in roots if r]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


CLK_TCK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(roots):
    """CPU seconds used so far by the process trees under roots, counting
    children that already exited (their time is in their parent's cutime,
    and the parent is in the tree): the difference of two calls is the CPU
    the server used in between, helper processes included."""
    ticks = 0
    for pid in process_tree(roots):
        st = _read_stat(pid, cpu=True)
        if st is not None:
            ticks += st[3]
    return ticks / CLK_TCK


def machine_busy_seconds():
    """(busy, total) CPU seconds of the whole machine since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / CLK_TCK, sum(v[:8]) / CLK_TCK


def wait_quiet(max_wait, threshold=0.10, window=1.0):
    """Wait up to max_wait seconds for the machine's CPU to be less than
    threshold busy over window; returns the last busy fraction seen."""
    deadline = time.monotonic() + max_wait
    while True:
        b0, t0 = machine_busy_seconds()
        time.sleep(window)
        b1, t1 = machine_busy_seconds()
        busy = (b1 - b0) / max(t1 - t0, 1e-9)
        if busy < threshold or time.monotonic() >= deadline:
            return busy


def rss_bytes(pid):
    try:
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def pss_bytes(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class MemSampler(threading.Thread):
    """Samples the summed RSS (every interval) and PSS (every pss_every-th
    sample: reading smaps costs more) of a set of process trees, keeping
    the peaks and the largest number of processes seen."""

    def __init__(self, roots_fn, interval=0.1, pss_every=5):
        super().__init__(daemon=True)
        self.roots_fn = roots_fn
        self.interval = interval
        self.pss_every = pss_every
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_procs = 0
        self._stop_ev = threading.Event()

    def sample(self, with_pss):
        pids = process_tree(self.roots_fn())
        self.peak_procs = max(self.peak_procs, len(pids))
        self.peak_rss = max(self.peak_rss, sum(rss_bytes(p) for p in pids))
        if with_pss:
            self.peak_pss = max(self.peak_pss, sum(pss_bytes(p) for p in pids))

    def run(self):
        n = 0
        while not self._stop_ev.is_set():
            self.sample(n % self.pss_every == 0)
            n += 1
            self._stop_ev.wait(self.interval)

    def finish(self):
        self._stop_ev.set()
        self.join(timeout=5)
        self.sample(True)
        return self


# ---------------------------------------------------------------- instances

def fill_template(src, dst, values):
    with open(src) as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace("@%s@" % key, str(value))
    with open(dst, "w") as f:
        f.write(text)


def maildir_count(maildir):
    """Messages in a Maildir: files in new/ and cur/ (0 before it exists)."""
    n = 0
    for sub in ("new", "cur"):
        try:
            n += len(os.listdir(os.path.join(maildir, sub)))
        except FileNotFoundError:
            pass
    return n


class Instance:
    """A mail server under test: `name`, `smtp_port`, `start()`, `stop()`,
    `roots()` (PIDs whose process trees make up the server, for memory),
    `maildir(user)` and `describe()` (version line for RESULTS.md)."""
    name = "?"
    smtp_port = None

    def roots(self):
        return []


class PostfixDovecot(Instance):
    """Postfix (private config/queue/data dirs, master run in the
    foreground) delivering over LMTP to Dovecot (private config file,
    base_dir, state_dir and Maildirs)."""
    name = "Postfix+Dovecot"

    def __init__(self, tmp, domain, users, password):
        self.tmp = tmp
        self.domain = domain
        self.users = users
        self.password = password
        self.pf_conf = os.path.join(tmp, "postfix", "conf")
        self.pf_queue = os.path.join(tmp, "postfix", "queue")
        self.pf_data = os.path.join(tmp, "postfix", "data")
        self.pf_log = os.path.join(tmp, "logs", "postfix.log")
        self.pf_out = os.path.join(tmp, "logs", "postfix-master.out")
        self.dc_dir = os.path.join(tmp, "dovecot")
        self.dc_conf = os.path.join(self.dc_dir, "dovecot.conf")
        self.dc_mail = os.path.join(self.dc_dir, "mail")
        self.dc_log = os.path.join(tmp, "logs", "dovecot.log")
        self.dc_out = os.path.join(tmp, "logs", "dovecot.out")
        self.smtp_port = free_port()
        self.lmtp_port = free_port()
        self.imap_port = free_port()
        while len({self.smtp_port, self.lmtp_port, self.imap_port}) < 3:
            self.imap_port = free_port()
        self.postfix = None
        self.dovecot = None

    def describe(self):
        pf = run_cmd(["/usr/sbin/postconf", "-d", "-h", "mail_version"]).stdout.strip()
        dc = run_cmd([DOVECOT_CMD, "--version"]).stdout.strip()
        return "Postfix %s, Dovecot %s" % (pf, dc)

    def maildir(self, user):
        return os.path.join(self.dc_mail, self.domain, user)

    def roots(self):
        return [p.pid for p in (self.postfix, self.dovecot) if p is not None]

    def _setup_dovecot(self):
        mail = pwd.getpwnam("mail")
        for d in (self.dc_dir, os.path.join(self.dc_dir, "run"),
                  os.path.join(self.dc_dir, "state")):
            os.makedirs(d, mode=0o755, exist_ok=True)
        os.makedirs(self.dc_mail, mode=0o700, exist_ok=True)
        os.chown(self.dc_mail, mail.pw_uid, mail.pw_gid)
        users_file = os.path.join(self.dc_dir, "users")
        with open(users_file, "w") as f:
            for u in self.users:
                f.write("%s@%s:{PLAIN}%s::::::\n" % (u, self.domain, self.password))
        os.chmod(users_file, 0o640)
        os.chown(users_file, 0, grp.getgrnam("dovecot").gr_gid)
        fill_template(os.path.join(BENCH_DIR, "dovecot", "dovecot.conf.in"), self.dc_conf, {
            "INSTANCE": "postino-bench-%d" % os.getpid(),
            "BASE_DIR": os.path.join(self.dc_dir, "run"),
            "STATE_DIR": os.path.join(self.dc_dir, "state"),
            "LOG_FILE": self.dc_log,
            "MAIL_UID": mail.pw_uid, "MAIL_GID": mail.pw_gid,
            "MAIL_DIR": self.dc_mail,
            "USERS_FILE": users_file,
            "LMTP_PORT": self.lmtp_port, "IMAP_PORT": self.imap_port,
            "DOMAIN": self.domain,
        })
        run_cmd([DOVECOT_CMD, "-c", self.dc_conf, "-n"], what="dovecot config check")

    def _setup_postfix(self):
        for d in (self.pf_conf, self.pf_queue, self.pf_data):
            os.makedirs(d, mode=0o755, exist_ok=True)
        values = {
            "QUEUE_DIR": self.pf_queue, "DATA_DIR": self.pf_data,
            "CONF_DIR": self.pf_conf, "DOMAIN": self.domain,
            "LMTP_PORT": self.lmtp_port, "SMTP_PORT": self.smtp_port,
            "LOG_FILE": self.pf_log, "TMP_DIR": self.tmp,
        }
        for name in ("main.cf", "master.cf"):
            fill_template(os.path.join(BENCH_DIR, "postfix", name + ".in"),
                          os.path.join(self.pf_conf, name), values)
        with open(os.path.join(self.pf_conf, "vmailbox"), "w") as f:
            for u in self.users:
                f.write("%s@%s %s/%s/\n" % (u, self.domain, self.domain, u))
        pf = pwd.getpwnam("postfix")
        os.chown(self.pf_data, pf.pw_uid, pf.pw_gid)
        # creates the queue subdirectories with Postfix's owners and modes
        run_cmd([POSTFIX_CMD, "-c", self.pf_conf, "check"], what="postfix check")

    def start(self):
        os.makedirs(os.path.join(self.tmp, "logs"), exist_ok=True)
        for port, who in ((self.smtp_port, "Postfix smtpd"), (self.lmtp_port, "Dovecot LMTP"),
                          (self.imap_port, "Dovecot IMAP")):
            check_port_free(port, who)
        self._setup_dovecot()
        self._setup_postfix()
        self.dovecot = spawn([DOVECOT_CMD, "-F", "-c", self.dc_conf], log_path=self.dc_out)
        wait_greeting(self.lmtp_port, self.dovecot, "dovecot (LMTP)", self.dc_log)
        wait_greeting(self.imap_port, self.dovecot, "dovecot (IMAP)", self.dc_log)
        # -s: stay in the foreground (what `postfix start-fg` runs);
        # -e: exit by itself even if the harness never stops it.
        self.postfix = spawn([POSTFIX_MASTER, "-c", self.pf_conf, "-s", "-e", "3600"],
                             log_path=self.pf_out,
                             env=dict(os.environ, MAIL_CONFIG=self.pf_conf))
        greeting = wait_greeting(self.smtp_port, self.postfix, "postfix (smtpd)", self.pf_log)
        if not greeting.startswith("220"):
            raise BenchError("postfix greets with %r; log %s:\n%s"
                             % (greeting, self.pf_log, log_tail(self.pf_log)))

    def idle(self):
        """True when Postfix's queue holds no message."""
        for sub in ("incoming", "active", "deferred"):
            for _dirpath, _dirs, files in os.walk(os.path.join(self.pf_queue, sub)):
                if files:
                    return False
        return True

    def logs(self):
        return [self.pf_log, self.pf_out, self.dc_log, self.dc_out]

    def stop(self):
        rcs = {}
        rcs["postfix"] = stop_process(self.postfix, "postfix master")
        rcs["dovecot"] = stop_process(self.dovecot, "dovecot")
        self.postfix = self.dovecot = None
        return rcs


class Postino(Instance):
    """`postino serve` on a fresh data directory with loopback ports."""
    name = "postino"
    LISTENERS = ["smtp", "submission", "submissions", "imap", "imaps", "pop3",
                 "pop3s", "http"]
    hash_on_add = True      # `user add --password-stdin` (yescrypt, ~0.1 s a user)

    def __init__(self, tmp, bin_path, domain, users, password, sets=()):
        self.tmp = tmp
        self.bin = bin_path
        self.domain = domain
        self.users = users
        self.password = password
        self.sets = list(sets)
        self.data = os.path.join(tmp, "postino")
        self.log = os.path.join(tmp, "logs", "postino.log")
        self.ports = {}
        used = set()
        for name in self.LISTENERS:
            p = free_port()
            while p in used:
                p = free_port()
            used.add(p)
            self.ports[name] = p
        self.smtp_port = self.ports["smtp"]
        self.imap_port = self.ports["imap"]
        self.proc = None
        self.greeting = None
        self.applied = []

    def describe(self):
        try:
            commit = run_cmd(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.strip()
            dirty = run_cmd(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no",
                             "--", "src"]).stdout.strip()
        except BenchError:
            return "postino (git commit unknown)"
        return "postino %s%s%s" % (commit, " + uncommitted changes in src/" if dirty else "",
                                   (" (settings: %s)" % ", ".join(self.applied))
                                   if self.applied else "")

    def maildir(self, user):
        return os.path.join(self.data, "mail", self.domain, user)

    def roots(self):
        return [self.proc.pid] if self.proc is not None else []

    def cli(self, *args, input=None):
        env = dict(os.environ)
        env.pop("POSTINO_DATA", None)
        return run_cmd([self.bin, "--data", self.data] + list(args), input=input, env=env,
                       what="postino " + " ".join(args[:2]))

    def start(self):
        os.makedirs(os.path.join(self.tmp, "logs"), exist_ok=True)
        for name, port in self.ports.items():
            check_port_free(port, "postino " + name)
        args = ["init", "--hostname", "mail." + self.domain]
        for name, port in self.ports.items():
            args += ["--set", "listen.%s=127.0.0.1:%d" % (name, port)]
        for kv in self.sets:
            args += ["--set", kv]
        self.cli(*args)
        self.applied = self._bench_settings()
        self.cli("domain", "add", self.domain)
        for u in self.users:
            if self.hash_on_add:
                self.cli("user", "add", "%s@%s" % (u, self.domain), "--password-stdin",
                         input=self.password + "\n")
            else:   # before_serve() sets the password hashes itself
                self.cli("user", "add", "%s@%s" % (u, self.domain))
        self.before_serve()
        self.proc = spawn([self.bin, "serve", "--data", self.data], log_path=self.log,
                          env={k: v for k, v in os.environ.items() if k != "POSTINO_DATA"})
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                with open(self.log, errors="replace") as f:
                    if " ready " in f.read():
                        break
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise BenchError("postino serve exited with status %s before it was ready; "
                                 "log %s:\n%s" % (self.proc.returncode, self.log,
                                                   log_tail(self.log)))
            if time.monotonic() > deadline:
                raise BenchError("postino serve not ready within %ss; log %s:\n%s"
                                 % (READY_TIMEOUT, self.log, log_tail(self.log)))
            time.sleep(0.05)
        self.greeting = wait_greeting(self.smtp_port, self.proc, "postino (SMTP)", self.log)

    # Settings the bench changes when this postino has them (checked in the
    # postino.conf that init wrote, so an older binary still runs): port 25's
    # greeting pause refuses early talkers the way Postfix's postscreen does
    # with greet_wait; the Postfix side runs plain smtpd without postscreen,
    # so the pause would only measure sleep. The per-address connection cap
    # is raised because Postfix exempts its own networks (localhost among
    # them) from its connection-count limit, and every bench client is on
    # 127.0.0.1.
    BENCH_SETTINGS = {"smtp.greeting-delay-ms": "0", "limits.connections-per-ip": "1000"}

    def _bench_settings(self):
        conf = os.path.join(self.data, "postino.conf")
        with open(conf) as f:
            lines = f.readlines()
        applied = []
        explicit = {kv.split("=", 1)[0] for kv in self.sets}
        for i, line in enumerate(lines):
            key = line.split("=", 1)[0].strip()
            if "=" in line and not line.lstrip().startswith("#") and \
                    key in self.BENCH_SETTINGS and key not in explicit:
                lines[i] = "%s = %s\n" % (key, self.BENCH_SETTINGS[key])
                applied.append("%s=%s" % (key, self.BENCH_SETTINGS[key]))
        with open(conf, "w") as f:
            f.writelines(lines)
        return applied + list(self.sets)

    def before_serve(self):
        """Called once the data directory, domain and users exist and
        before `postino serve` starts (the IMAP bench fills Maildirs and
        installs its certificate here)."""

    def smtp_available(self):
        return self.greeting is not None and self.greeting.startswith("220")

    def idle(self):
        return True

    def logs(self):
        return [self.log]

    def stop(self):
        rc = stop_process(self.proc, "postino serve")
        self.proc = None
        return {"postino": rc}


# ------------------------------------------------------------------- report

def add_common_args(p, budget, nice, budget_help, strict_help):
    """The options every bench part shares (bench/run, imap.py,
    outbound.py): where and how long it runs, and what it writes."""
    p.add_argument("--postino-set", action="append", default=[], metavar="KEY=VALUE",
                   help="extra `postino init --set` (repeatable)")
    p.add_argument("--tmpdir", default=os.environ.get("BENCH_TMPDIR", "/var/tmp"),
                   help="where the servers' directories go (default /var/tmp)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--budget", type=float, default=budget,
                   help="%s (default %d)" % (budget_help, budget))
    p.add_argument("--wait-quiet", type=float, default=60, metavar="SECONDS",
                   help="wait up to this long for other CPU load to settle (default 60)")
    p.add_argument("--nice", type=int, default=nice,
                   help="scheduling priority of the harness, the servers and the load "
                        "clients (default %d, 0 = leave as is)" % nice)
    p.add_argument("--strict", action="store_true", help=strict_help)
    p.add_argument("--write-results", action="store_true",
                   help="rewrite bench/RESULTS.md even for a partial run")
    p.add_argument("--no-results", action="store_true", help="do not touch bench/RESULTS.md")


def machine_facts(tmp_parent, servers):
    """Lines for RESULTS.md: CPU, memory, OS, the file system the servers'
    directories are on, and each server's describe()."""
    facts = []
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1048576.0)
    except OSError:
        pass
    osname = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    facts.append("CPU: %s, %d cores (nproc)" % (cpu, os.cpu_count() or 0))
    facts.append("Memory: %s" % mem)
    facts.append("OS: %s, kernel %s" % (osname, platform.release()))
    facts.append("Spool file system: %s" % fs_of(tmp_parent))
    for s in servers:
        try:
            facts.append("Server: %s" % s.describe())
        except BenchError:
            pass
    return facts


def fs_of(path):
    """'ext4 on /dev/vda (rw,relatime)' for the mount holding path."""
    path = os.path.realpath(path)
    best = None
    try:
        with open("/proc/mounts") as f:
            for line in f:
                dev, mnt, fstype, opts = line.split()[:4]
                if path == mnt or path.startswith(mnt.rstrip("/") + "/"):
                    if best is None or len(mnt) >= len(best[1]):
                        best = (dev, mnt, fstype, opts)
    except OSError:
        return "?"
    if best is None:
        return "?"
    return "%s on %s mounted at %s (%s)" % (best[2], best[0], best[1], best[3])


def markdown_table(head, rows, left=2):
    """A Markdown table; the first `left` columns are left-aligned."""
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---" if i < left else "---:" for i in range(len(head))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(r) + " |")
    return "\n".join(out)


def text_table(head, rows, left=2):
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i])
              for i in range(len(head))]
    line = lambda cells: "  ".join(c.rjust(w) if i >= left else c.ljust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def write_generated(path, begin_mark, end_mark, text, heading=None):
    """Replace what lies between begin_mark and end_mark in path with text,
    leaving the rest of the file alone; append heading and both marks at
    the end when the file does not have them yet."""
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        old = "# Benchmark results\n\n"
    if begin_mark in old and end_mark in old[old.index(begin_mark):]:
        b = old.index(begin_mark)
        head = old[:b]
        tail = old[old.index(end_mark, b) + len(end_mark):]
    else:
        head = old.rstrip("\n") + "\n\n" + (heading.strip("\n") + "\n\n" if heading else "")
        tail = "\n"
    with open(path + ".tmp", "w") as f:
        f.write(head + begin_mark + "\n\n" + text.strip("\n") + "\n\n" + end_mark + tail)
    os.replace(path + ".tmp", path)


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)
