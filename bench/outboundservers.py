# SPDX-License-Identifier: ISC
"""bench/outboundservers.py - what bench/outbound.py runs: one smtp-sink
per server (the remote MX, counting what it receives), Postfix relaying
relay@bench.test to its sink (virtual alias + transport map, everything
else stock), and postino (benchlib.Postino) doing the same with an alias
and relay.domains. Every process is a benchlib.spawn() child, stopped by
its own PID.
"""

import json
import os
import re

import benchlib as bl

DOMAIN = "bench.test"
SINK_DOMAIN = "sink.test"
ALIAS = "relay@" + DOMAIN
TARGET = "x@" + SINK_DOMAIN
DEST_CONCURRENCY = 20               # Postfix's default_destination_concurrency_limit
SMTP_SINK = "/usr/sbin/smtp-sink"
POSTCONF = "/usr/sbin/postconf"
POSTQUEUE = "/usr/sbin/postqueue"


# -------------------------------------------------------------- the sinks

class Sink:
    """One smtp-sink on a free loopback port. With -c it writes
    "sess=S quit=Q mesg=M\\r" to its stdout (a file here) each time a
    message's "." arrives or a session ends; the last record is the count."""

    COUNTER = re.compile(rb"sess=(\d+) quit=\d+ mesg=(\d+)\r")

    def __init__(self, tmp, name):
        self.name = name
        self.port = bl.free_port()
        self.out = os.path.join(tmp, "logs", "smtp-sink-%s.out" % name)
        self.proc = None
        self.started = False

    def start(self):
        """Start (or start again, on the same port: the drain phase stops
        it to make the server queue); counts start from 0."""
        if not self.started:
            # (again, the port has TIME_WAIT connections: smtp-sink binds it
            # with SO_REUSEADDR, this check does not)
            bl.check_port_free(self.port, "smtp-sink for " + self.name)
        self.started = True
        open(self.out, "wb").close()
        # -u: it must drop root; backlog 1024 so no connect waits on it
        self.proc = bl.spawn([SMTP_SINK, "-c", "-u", "nobody", "127.0.0.1:%d" % self.port,
                              "1024"], log_path=self.out)
        bl.wait_greeting(self.port, self.proc, "smtp-sink for " + self.name, self.out)

    def counts(self):
        """(sessions, messages) so far."""
        try:
            with open(self.out, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 256))
                found = self.COUNTER.findall(f.read())
        except OSError:
            return 0, 0
        return (int(found[-1][0]), int(found[-1][1])) if found else (0, 0)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cpu(self):
        return bl.tree_cpu_seconds([self.proc.pid]) if self.proc else 0.0

    def stop(self):
        rc = bl.stop_process(self.proc, "smtp-sink " + self.name)
        self.proc = None
        return rc


# ------------------------------------------------------------ the servers

class PostfixRelay(bl.Instance):
    """Postfix's master with private directories, relaying every message
    for relay@bench.test to the sink (virtual alias + transport map)."""
    name = "Postfix"

    def __init__(self, tmp, sink):
        self.tmp = tmp
        self.sink = sink
        self.conf = os.path.join(tmp, "postfix", "conf")
        self.queue = os.path.join(tmp, "postfix", "queue")
        self.data = os.path.join(tmp, "postfix", "data")
        self.log = os.path.join(tmp, "logs", "postfix.log")
        self.out = os.path.join(tmp, "logs", "postfix-master.out")
        self.smtp_port = bl.free_port()
        while self.smtp_port == sink.port:
            self.smtp_port = bl.free_port()
        self.proc = None

    def describe(self):
        return "Postfix %s (settings: %s)" % (
            bl.run_cmd([POSTCONF, "-d", "-h", "mail_version"]).stdout.strip(),
            self.settings())

    def settings(self):
        return ("virtual_alias_maps %s -> %s, transport_maps %s smtp:[127.0.0.1]:port; "
                "stock concurrency (default_destination_concurrency_limit = 20, "
                "initial_destination_concurrency = 5, default_process_limit = 100), "
                "connection cache on demand, in_flow_delay = 1s, no TLS"
                % (ALIAS, TARGET, SINK_DOMAIN))

    def roots(self):
        return [self.proc.pid] if self.proc is not None else []

    def _main_cf(self):
        return "\n".join([
            "# Postfix relay for bench/outbound.py (generated). Everything not set",
            "# here is Postfix's stock default (Debian 12, Postfix 3.7).",
            "compatibility_level = 3.6",
            "queue_directory = " + self.queue,
            "data_directory = " + self.data,
            "mail_owner = postfix",
            "setgid_group = postdrop",
            "myhostname = postfix." + DOMAIN,
            "mydomain = " + DOMAIN,
            "myorigin = $myhostname",
            "mydestination =",
            "relayhost =",
            "inet_interfaces = 127.0.0.1",
            "inet_protocols = ipv4",
            "mynetworks = 127.0.0.0/8",
            # an MX for bench.test whose one address forwards off-site,
            # like postino's alias: accepted at RCPT, queued, relayed
            "virtual_alias_domains = " + DOMAIN,
            "virtual_alias_maps = texthash:%s/virtual" % self.conf,
            "transport_maps = texthash:%s/transport" % self.conf,
            "smtpd_relay_restrictions = reject_unauth_destination",
            "smtpd_recipient_restrictions =",
            "alias_maps =",
            "alias_database =",
            "local_recipient_maps =",
            "append_dot_mydomain = no",
            "biff = no",
            "maillog_file = " + self.log,
            "maillog_file_prefixes = " + self.tmp,
            ""])

    def start(self):
        bl.check_port_free(self.smtp_port, "Postfix smtpd")
        for d in (self.conf, self.queue, self.data):
            os.makedirs(d, mode=0o755, exist_ok=True)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(self._main_cf())
        # the SMTP part's service list: smtpd on one port, smtp, qmgr, ...
        bl.fill_template(os.path.join(bl.BENCH_DIR, "postfix", "master.cf.in"),
                         os.path.join(self.conf, "master.cf"),
                         {"SMTP_PORT": self.smtp_port})
        with open(os.path.join(self.conf, "virtual"), "w") as f:
            f.write("%s %s\n" % (ALIAS, TARGET))
        with open(os.path.join(self.conf, "transport"), "w") as f:
            f.write("%s smtp:[127.0.0.1]:%d\n" % (SINK_DOMAIN, self.sink.port))
        pf = bl.pwd.getpwnam("postfix")
        os.chown(self.data, pf.pw_uid, pf.pw_gid)
        bl.run_cmd([bl.POSTFIX_CMD, "-c", self.conf, "check"], what="postfix check")
        self.proc = bl.spawn([bl.POSTFIX_MASTER, "-c", self.conf, "-s", "-e", "3600"],
                             log_path=self.out, env=dict(os.environ, MAIL_CONFIG=self.conf))
        greeting = bl.wait_greeting(self.smtp_port, self.proc, "postfix (smtpd)", self.log)
        if not greeting.startswith("220"):
            raise bl.BenchError("postfix greets with %r; log %s:\n%s"
                                % (greeting, self.log, bl.log_tail(self.log)))

    def queued(self, subs=("maildrop", "incoming", "active", "deferred", "hold")):
        n = 0
        for sub in subs:
            for _dirpath, _dirs, files in os.walk(os.path.join(self.queue, sub)):
                n += len(files)
        return n

    def deferred(self):
        """Messages waiting for a retry, when nothing else is queued."""
        n = self.queued(("deferred",))
        return n if n == self.queued() else 0

    def flush_argv(self):
        return [POSTQUEUE, "-c", self.conf, "-f"]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def logs(self):
        return [self.log, self.out]

    def stop(self):
        rc = bl.stop_process(self.proc, "postfix master")
        self.proc = None
        return {"postfix": rc}


class PostinoRelay(bl.Postino):
    """postino with relay@bench.test forwarding to x@sink.test and
    sink.test routed to the sink."""

    def __init__(self, tmp, bin_path, sink, sets=()):
        relay = ["dns.servers=127.0.0.1:9",
                 "relay.domains=%s=[127.0.0.1]:%d" % (SINK_DOMAIN, sink.port),
                 "relay.tls=none",
                 "queue.destination-concurrency=%d" % DEST_CONCURRENCY]
        given = {kv.split("=", 1)[0] for kv in sets}
        super().__init__(tmp, bin_path, DOMAIN, [], "",
                         [kv for kv in relay if kv.split("=", 1)[0] not in given] + list(sets))
        self.sink = sink
        while sink.port in self.ports.values():      # a port the sink has: pick again
            self.ports["smtp"] = self.smtp_port = bl.free_port()

    def before_serve(self):
        self.cli("alias", "add", ALIAS, TARGET)

    def queued(self):
        try:
            return len(os.listdir(os.path.join(self.data, "queue", "msg")))
        except FileNotFoundError:
            return 0

    def deferred(self):
        """Messages waiting for a retry, when no recipient is in any other
        state (`postino queue list --json`)."""
        msgs = json.loads(self.cli("queue", "list", "--json").stdout)
        states = [r.get("state") for m in msgs for r in m.get("recipients", [])]
        return len(msgs) if all(s == "queued" for s in states) else 0

    def flush_argv(self):
        return [self.bin, "--data", self.data, "queue", "retry", "--all"]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None
