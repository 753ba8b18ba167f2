# SPDX-License-Identifier: ISC
"""Outbound routing through `postino route`, against a real dnsmasq: MX
order (RFC 5321 5.1), shuffling of equal preferences, implicit MX, null MX
(RFC 7505), NXDOMAIN, temporary failures, IPv6, smarthost specs, --json;
and the resolver's life in `postino serve` (bad dns.servers, SIGHUP)."""
import json
import subprocess
import time

import pytest

from conftest import run_postino
from dns_helpers import dns_server  # noqa: F401  (fixture)

ROUTE_TIMEOUT = 60


def routed(dns_server, make_datadir, sets=None, **records):
    dns_server.start(**records)
    merged = {"dns.servers": dns_server.servers}
    merged.update(sets or {})
    return make_datadir(sets=merged)


def route(postino_bin, dd, *args):
    return run_postino(postino_bin, ["route"] + list(args), data=dd.path,
                       timeout=ROUTE_TIMEOUT)


def route_json(postino_bin, dd, *args):
    r = route(postino_bin, dd, "--json", *args)
    return r.returncode, json.loads(r.stdout), r.stderr


def endpoints(result):
    return [(t["pref"], t["host"], t["address"], t["port"]) for t in result["targets"]]


def test_mx_in_preference_order(postino_bin, dns_server, make_datadir):
    dd = routed(dns_server, make_datadir, sets={"outbound.port": "2525"},
               mx=[("example.test", "mx2.example.test", 20),
                   ("example.test", "mx3.example.test", 30),
                   ("example.test", "mx1.example.test", 10)],
               hosts={"mx1.example.test": ["127.0.0.2"], "mx2.example.test": ["127.0.0.3"],
                      "mx3.example.test": ["127.0.0.4"]})
    rc, res, _ = route_json(postino_bin, dd, "example.test")
    assert rc == 0
    assert res["status"] == "ok" and res["reason"] is None
    assert endpoints(res) == [(10, "mx1.example.test", "127.0.0.2", 2525),
                              (20, "mx2.example.test", "127.0.0.3", 2525),
                              (30, "mx3.example.test", "127.0.0.4", 2525)]
    # the text form lists the same, in the same order
    r = route(postino_bin, dd, "example.test")
    assert r.returncode == 0, r.stderr
    lines = [line.split() for line in r.stdout.splitlines()[2:]]
    assert lines == [["10", "mx1.example.test", "127.0.0.2:2525"],
                     ["20", "mx2.example.test", "127.0.0.3:2525"],
                     ["30", "mx3.example.test", "127.0.0.4:2525"]]


def test_equal_preferences_are_shuffled(postino_bin, dns_server, make_datadir):
    dd = routed(dns_server, make_datadir,
               mx=[("example.test", "a.example.test", 10), ("example.test", "b.example.test", 10),
                   ("example.test", "c.example.test", 5)],
               hosts={"a.example.test": ["127.0.0.2"], "b.example.test": ["127.0.0.3"],
                      "c.example.test": ["127.0.0.4"]})
    orders = set()
    for _ in range(40):
        rc, res, _ = route_json(postino_bin, dd, "example.test")
        assert rc == 0
        hosts = [t["host"] for t in res["targets"]]
        # the lower preference always comes first
        assert hosts[0] == "c.example.test"
        orders.add(tuple(hosts[1:]))
        if len(orders) == 2:
            break
    assert orders == {("a.example.test", "b.example.test"), ("b.example.test", "a.example.test")}


def test_implicit_mx(postino_bin, dns_server, make_datadir):
    dd = routed(dns_server, make_datadir, hosts={"plain.test": ["127.0.0.5"]})
    rc, res, _ = route_json(postino_bin, dd, "plain.test")
    assert rc == 0
    assert endpoints(res) == [(0, "plain.test", "127.0.0.5", 25)]
    assert "implicit MX" in res["text"]


def test_null_mx_is_permanent(postino_bin, dns_server, make_datadir):
    # the domain has an address too: the null MX still wins (RFC 7505 3)
    dd = routed(dns_server, make_datadir, null_mx=["nomail.test"],
               hosts={"nomail.test": ["127.0.0.6"]})
    r = route(postino_bin, dd, "nomail.test")
    assert r.returncode == 1
    assert "route.null-mx" in r.stderr and "permanent" in r.stderr
    rc, res, _ = route_json(postino_bin, dd, "nomail.test")
    assert rc == 1
    assert res["status"] == "permfail" and res["reason"] == "route.null-mx"
    assert res["targets"] == []


def test_nxdomain_is_permanent(postino_bin, dns_server, make_datadir):
    dd = routed(dns_server, make_datadir, hosts={"other.test": ["127.0.0.2"]})
    r = route(postino_bin, dd, "nosuchdomain.test")
    assert r.returncode == 1
    assert "route.nxdomain" in r.stderr and "permanent" in r.stderr
    rc, res, _ = route_json(postino_bin, dd, "nosuchdomain.test")
    assert (rc, res["status"], res["reason"]) == (1, "permfail", "route.nxdomain")


def test_refused_lookup_is_temporary(postino_bin, dns_server, make_datadir):
    dd = routed(dns_server, make_datadir)
    r = route(postino_bin, dd, "example.fail.test")
    assert r.returncode == 1
    assert "route.dns-tempfail" in r.stderr and "temporary" in r.stderr
    rc, res, _ = route_json(postino_bin, dd, "example.fail.test")
    assert (rc, res["status"], res["reason"]) == (1, "tempfail", "route.dns-tempfail")


def test_unanswered_lookup_times_out(postino_bin, dns_server, make_datadir):
    # dnsmasq never answers *.slow.test: only the c-ares timer ends this
    dd = routed(dns_server, make_datadir)
    start = time.monotonic()
    rc, res, _ = route_json(postino_bin, dd, "example.slow.test")
    elapsed = time.monotonic() - start
    assert (rc, res["reason"]) == (1, "route.dns-tempfail")
    assert 1.0 < elapsed < 30.0


def test_mx_host_without_address_tempfail_vs_permanent(postino_bin, dns_server, make_datadir):
    # an MX host whose address lookup fails temporarily: try later
    dd = routed(dns_server, make_datadir,
               mx=[("example.test", "mx.fail.test", 10), ("gone.test", "nohost.test", 10)])
    rc, res, _ = route_json(postino_bin, dd, "example.test")
    assert (rc, res["status"], res["reason"]) == (1, "tempfail", "route.dns-tempfail")
    # an MX host that does not exist: permanent
    rc, res, _ = route_json(postino_bin, dd, "gone.test")
    assert (rc, res["status"], res["reason"]) == (1, "permfail", "route.no-address")


def test_ipv6_first_and_outbound_ipv6_no(postino_bin, dns_server, make_datadir):
    records = dict(mx=[("example.test", "mx1.example.test", 10),
                       ("example.test", "mx2.example.test", 20),
                       ("v6only.test", "mx6.v6only.test", 10)],
                   hosts={"mx1.example.test": ["127.0.0.2", "::1"],
                          "mx2.example.test": ["127.0.0.3"],
                          "mx6.v6only.test": ["::1"]})
    dd = routed(dns_server, make_datadir, **records)
    rc, res, _ = route_json(postino_bin, dd, "example.test")
    assert rc == 0
    assert endpoints(res) == [(10, "mx1.example.test", "::1", 25),
                              (10, "mx1.example.test", "127.0.0.2", 25),
                              (20, "mx2.example.test", "127.0.0.3", 25)]
    assert res["targets"][0]["family"] == "ipv6"
    r = route(postino_bin, dd, "example.test")
    assert "[::1]:25" in r.stdout

    dd.set_conf("outbound.ipv6", "no")
    rc, res, _ = route_json(postino_bin, dd, "example.test")
    assert rc == 0
    assert endpoints(res) == [(10, "mx1.example.test", "127.0.0.2", 25),
                              (20, "mx2.example.test", "127.0.0.3", 25)]
    rc, res, _ = route_json(postino_bin, dd, "v6only.test")
    assert (rc, res["status"], res["reason"]) == (1, "permfail", "route.no-address")


def test_unusable_and_literal_mx_hosts(postino_bin, dns_server, make_datadir):
    dd = routed(dns_server, make_datadir,
               mx=[("example.test", "zero.example.test", 5),
                   ("example.test", "good.example.test", 10),
                   ("example.test", "127.0.0.9", 20),       # RFC says a name; tolerated
                   ("allzero.test", "zero.example.test", 10)],
               hosts={"zero.example.test": ["0.0.0.0"], "good.example.test": ["127.0.0.2"]})
    rc, res, _ = route_json(postino_bin, dd, "example.test")
    assert rc == 0
    assert endpoints(res) == [(10, "good.example.test", "127.0.0.2", 25),
                              (20, "127.0.0.9", "127.0.0.9", 25)]
    rc, res, _ = route_json(postino_bin, dd, "allzero.test")
    assert (rc, res["status"], res["reason"]) == (1, "permfail", "route.no-address")


def test_relay_specs(postino_bin, dns_server, make_datadir):
    dd = routed(dns_server, make_datadir,
               mx=[("relay.test", "mx.elsewhere.test", 10)],
               hosts={"relay.test": ["127.0.0.7"], "mx.elsewhere.test": ["127.0.0.8"]})
    # brackets: the host itself, no MX lookup
    rc, res, _ = route_json(postino_bin, dd, "example.org", "--relay", "[relay.test]:2526")
    assert rc == 0
    assert res["relay"] == "[relay.test]:2526"
    assert endpoints(res) == [(0, "relay.test", "127.0.0.7", 2526)]
    # no brackets: the relay's MX
    rc, res, _ = route_json(postino_bin, dd, "example.org", "--relay=relay.test:2526")
    assert rc == 0
    assert endpoints(res) == [(10, "mx.elsewhere.test", "127.0.0.8", 2526)]
    # an address needs no DNS at all, the default port is 25
    rc, res, _ = route_json(postino_bin, dd, "example.org", "--relay", "[127.0.0.3]")
    assert endpoints(res) == [(0, "127.0.0.3", "127.0.0.3", 25)]
    r = route(postino_bin, dd, "example.org", "--relay", "relay.test:99999")
    assert r.returncode == 1 and "route.bad-domain" in r.stderr


def test_json_shape(postino_bin, dns_server, make_datadir):
    dd = routed(dns_server, make_datadir, mx=[("example.test", "mx.example.test", 10)],
               hosts={"mx.example.test": ["127.0.0.2"]})
    rc, res, _ = route_json(postino_bin, dd, "example.test")
    assert rc == 0
    assert set(res) == {"domain", "relay", "status", "reason", "text", "targets"}
    assert res["domain"] == "example.test" and res["relay"] is None
    assert res["targets"] == [{"pref": 10, "host": "mx.example.test", "address": "127.0.0.2",
                               "family": "ipv4", "port": 25}]
    rc, res, _ = route_json(postino_bin, dd, "nosuchdomain.test")
    assert rc == 1
    assert set(res) == {"domain", "relay", "status", "reason", "text", "targets"}
    assert "nosuchdomain.test" in res["text"]


def test_bad_domain_and_usage(postino_bin, dns_server, make_datadir):
    dd = routed(dns_server, make_datadir)
    r = route(postino_bin, dd, "exa mple..test")
    assert r.returncode == 1 and "route.bad-domain" in r.stderr
    # an address literal is its own destination
    rc, res, _ = route_json(postino_bin, dd, "[127.0.0.4]")
    assert endpoints(res) == [(0, "127.0.0.4", "127.0.0.4", 25)]
    assert route(postino_bin, dd).returncode == 2
    assert route(postino_bin, dd, "a.test", "b.test").returncode == 2


def test_bad_dns_servers(postino_bin, make_datadir):
    dd = make_datadir(sets={"dns.servers": "resolver.example.test"})
    r = route(postino_bin, dd, "example.test")
    assert r.returncode == 1 and "dns.servers" in r.stderr
    # the daemon refuses to start with it
    try:
        r = run_postino(postino_bin, ["serve"], data=dd.path, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("postino serve started with a bad dns.servers")
    assert r.returncode == 1 and "dns.servers" in r.stderr


def test_serve_reload_switches_resolvers(postino_bin, dns_server, make_datadir, start_server):
    dd = routed(dns_server, make_datadir, sets={"log.level": "debug"})
    server = start_server(dd)
    # a bad value is refused and the running resolvers stay
    dd.set_conf("dns.servers", "not-an-address")
    mark = len(server.log())
    server.reload()
    log = server.wait_for_log("reload failed", start=mark)
    assert "dns.servers" in log[mark:]
    # a good one is taken
    dd.set_conf("dns.servers", "127.0.0.1:%d,[::1]:%d" % (dns_server.port, dns_server.port))
    mark = len(server.log())
    server.reload()
    server.wait_for_log("reload done", start=mark)
    assert "dns resolver servers=127.0.0.1:%d,[::1]:%d" % (dns_server.port, dns_server.port) \
        in server.log()[mark:]
