/* network isolation of real sandboxes (Debian image, system libvirtd, the real
 * sandboxd and its nftables table): no guest to guest (TCP, UDP, ICMP, IPv6),
 * nothing on the host but DNS, no private or link-local destination, no
 * spoofed IP or MAC; the internet (a test host in a network namespace) works.
 * Test hosts live in network namespaces held by a process each, so they vanish
 * with it; the supervisor removes the nft tables. Needs root.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sbx-test-env.h"
#include "sbx-test-supervisor.h"

#define ASSERT_OK(call)                                                                            \
	G_STMT_START                                                                               \
	{                                                                                          \
		gboolean ok_ = (call);                                                             \
		g_assert_no_error(error);                                                          \
		g_assert_true(ok_);                                                                \
	}                                                                                          \
	G_STMT_END

/* the test "internet" (not a blocked range) and a "LAN" host with the metadata
 * address; both reached from the host through a veth pair */
#define INET_HOST "198.18.13.2"
#define INET_GW "198.18.13.1"
#define LAN_HOST "172.31.213.2"
#define LAN_GW "172.31.213.1"
#define METADATA_HOST "169.254.169.254"
#define SERVER_PORT "8080"
#define SPOOF_IP "10.213.254.254"
#define SPOOF_MAC "52:54:00:fe:fe:fe"
/* the test DNS zone, served to the egress proxy by its test resolver table:
 * allowed.test is the test internet host, blocked.test another address of it */
#define ALLOWED_NAME "allowed.test"
#define BLOCKED_NAME "blocked.test"
#define BLOCKED_IP "198.18.13.9"

/* HTTP on 80 and HTTPS on 443 (a test CA's certificate for both names):
 * each answer says which Host it got and on which address it was reached */
static const gchar web_py[] =
    "import http.server, socketserver, ssl, sys, threading\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def do_GET(self):\n"
    "        b = ('host=%s;addr=%s;tls=%s\\n' % (self.headers.get('Host'),\n"
    "             self.connection.getsockname()[0],\n"
    "             isinstance(self.connection, ssl.SSLSocket))).encode()\n"
    "        if self.path == '/headers':\n"
    "            b = ('auth=%s;key=%s\\n' % (self.headers.get('Authorization'),\n"
    "                 self.headers.get('X-Api-Key'))).encode()\n"
    "        self.send_response(200)\n"
    "        self.send_header('Content-Length', str(len(b)))\n"
    "        self.end_headers()\n"
    "        self.wfile.write(b)\n"
    "    def log_message(self, *a): pass\n"
    "class S(socketserver.ThreadingMixIn, http.server.HTTPServer):\n"
    "    daemon_threads = True\n"
    "    allow_reuse_address = True\n"
    "def serve(port, tls):\n"
    "    s = S(('0.0.0.0', port), H)\n"
    "    if tls:\n"
    "        c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
    "        c.load_cert_chain(sys.argv[1], sys.argv[2])\n"
    "        s.socket = c.wrap_socket(s.socket, server_side=True)\n"
    "    s.serve_forever()\n"
    "threading.Thread(target=serve, args=(80, False), daemon=True).start()\n"
    "serve(443, True)\n";

/* each argument "KIND,NAME[,ADDRESS]" -> "ARG RESULT": http/https to NAME
 * (resolved by the guest's resolver unless ADDRESS is given, SNI and Host
 * are NAME), or dns,NAME,SERVER (an A query); ok:BODY, rcodeN:ADDR or error:WHAT */
static const gchar fetch_py[] =
    "import socket, ssl, struct, sys\n"
    "def get(name, ip, tls):\n"
    "    ip = ip or socket.gethostbyname(name)\n"
    "    s = socket.create_connection((ip, 443 if tls else 80), timeout=8)\n"
    "    if tls:\n"
    "        c = ssl.create_default_context(cafile='/root/test-ca.crt')\n"
    "        s = c.wrap_socket(s, server_hostname=name)\n"
    "    s.sendall(('GET / HTTP/1.1\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n'"
    " % name).encode())\n"
    "    d = b''\n"
    "    while True:\n"
    "        x = s.recv(4096)\n"
    "        if not x: break\n"
    "        d += x\n"
    "    if not d: raise OSError('closed')\n"
    "    return 'ok:' + d.split(b'\\r\\n\\r\\n', 1)[-1].decode().strip()\n"
    "def dns(name, server):\n"
    "    q = struct.pack('!6H', 0x1234, 0x0100, 1, 0, 0, 0)\n"
    "    q += b''.join(bytes([len(l)]) + l.encode() for l in name.split('.'))\n"
    "    q += b'\\0' + struct.pack('!HH', 1, 1)\n"
    "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "    s.settimeout(4)\n"
    "    s.sendto(q, (server, 53))\n"
    "    r = s.recv(512)\n"
    "    n = struct.unpack('!H', r[6:8])[0]\n"
    "    return 'rcode%d:%s' % (r[3] & 15, '.'.join(map(str, r[-4:])) if n else '-')\n"
    "for a in sys.argv[1:]:\n"
    "    f = a.split(',') + [None]\n"
    "    try:\n"
    "        if f[0] == 'dns': r = dns(f[1], f[2])\n"
    "        else: r = get(f[1], f[2], f[0] == 'https')\n"
    "    except Exception as e:\n"
    "        r = 'error:%s' % type(e).__name__\n"
    "    print(a, r)\n";

/* tcp/udp servers answering "tcp-TAG" / "udp-TAG" on PORT, IPv4 and IPv6 */
static const gchar server_py[] =
    "import socket, sys, threading\n"
    "tag, port = sys.argv[1], int(sys.argv[2])\n"
    "def udp():\n"
    "    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
    "    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)\n"
    "    s.bind(('::', port))\n"
    "    while True:\n"
    "        d, a = s.recvfrom(512)\n"
    "        s.sendto(('udp-%s' % tag).encode(), a)\n"
    "threading.Thread(target=udp, daemon=True).start()\n"
    "s = socket.create_server(('::', port), family=socket.AF_INET6, dualstack_ipv6=True)\n"
    "while True:\n"
    "    c, a = s.accept()\n"
    "    try:\n"
    "        c.sendall(('tcp-%s' % tag).encode())\n"
    "    except OSError:\n"
    "        pass\n"
    "    c.close()\n";

/* each argument "KIND,HOST,PORT[,SRC]" -> a line "ARG RESULT", probed in parallel:
 * open:ANSWER, timeout, refused or error:ERRNO */
static const gchar probe_py[] =
    "import os, select, socket, struct, sys, threading, time\n"
    "T = 4.0\n"
    "def fam(h):\n"
    "    return socket.AF_INET6 if ':' in h else socket.AF_INET\n"
    "def addr(h, p, kind):\n"
    "    return socket.getaddrinfo(h, int(p), fam(h), kind)[0][4]\n"
    "def tcp(h, p, src):\n"
    "    s = socket.socket(fam(h), socket.SOCK_STREAM)\n"
    "    s.settimeout(T)\n"
    "    if src: s.bind((src, 0))\n"
    "    s.connect(addr(h, p, socket.SOCK_STREAM))\n"
    "    return 'open:' + s.recv(64).decode()\n"
    "def udp(h, p, src):\n"
    "    s = socket.socket(fam(h), socket.SOCK_DGRAM)\n"
    "    s.settimeout(T)\n"
    "    if src: s.bind((src, 0))\n"
    "    s.sendto(b'ping', addr(h, p, socket.SOCK_DGRAM))\n"
    "    return 'open:' + s.recv(64).decode()\n"
    "def csum(b):\n"
    "    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))\n"
    "    t = (t >> 16) + (t & 0xffff)\n"
    "    return ~(t + (t >> 16)) & 0xffff\n"
    "def icmp(h, p, src):\n"
    "    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)\n"
    "    ident = (os.getpid() + threading.get_ident()) & 0xffff\n"
    "    body = struct.pack('!HH', ident, 1) + b'sbxp'\n"
    "    s.sendto(struct.pack('!BBH', 8, 0, csum(b'\\x08\\x00\\x00\\x00' + body)) + body,"
    " (h, 0))\n"
    "    end = time.time() + T\n"
    "    while time.time() < end:\n"
    "        if not select.select([s], [], [], end - time.time())[0]: break\n"
    "        buf, a = s.recvfrom(1024)\n"
    "        ihl = (buf[0] & 15) * 4\n"
    "        if a[0] == h and buf[ihl] == 0 and buf[ihl + 4:ihl + 6] == body[:2]:\n"
    "            return 'open:echo'\n"
    "    raise socket.timeout()\n"
    "out = {}\n"
    "def run(arg):\n"
    "    f = arg.split(',')\n"
    "    try:\n"
    "        out[arg] = globals()[f[0]](f[1], f[2], f[3] if len(f) > 3 else None)\n"
    "    except socket.timeout:\n"
    "        out[arg] = 'timeout'\n"
    "    except ConnectionRefusedError:\n"
    "        out[arg] = 'refused'\n"
    "    except OSError as e:\n"
    "        out[arg] = 'error:%s' % e.errno\n"
    "ts = [threading.Thread(target=run, args=(a,)) for a in sys.argv[1:]]\n"
    "for t in ts: t.start()\n"
    "for t in ts: t.join()\n"
    "for a in sys.argv[1:]: print(a, out[a])\n";

static const gchar *debian_dir;
static gchar *tmpdir_path;
static gchar *probe_path; /* the probe script on the host */
static gchar *host_port;  /* a server the host runs on all its addresses */
static gchar *host_ip;	  /* the host's address on its default route */
static gchar *count_table;
static gchar *sbx_a, *sbx_b; /* two sandboxes */
static gchar *ip_a, *ip_b, *nic_a, *mac_a, *mac_b, *ip6_b;
static gchar *gateway;
static gchar *inet_pid; /* the test internet host's namespace holder */

static gchar *
bytes_to_str(GBytes *bytes)
{
	gsize len = 0;
	const gchar *data = bytes != NULL ? g_bytes_get_data(bytes, &len) : NULL;
	return g_strndup(data != NULL ? data : "", len);
}

/* runs a host command; returns its stdout, NULL (with the reason) on failure */
static gchar *host_run(GError **error, const gchar *first, ...) G_GNUC_NULL_TERMINATED;

static gchar *
host_run(GError **error, const gchar *first, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	va_list ap;

	va_start(ap, first);
	for (const gchar *a = first; a != NULL; a = va_arg(ap, const gchar *))
		g_ptr_array_add(argv, (gpointer)a);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	proc = g_subprocess_newv((const gchar *const *)argv->pdata,
				 G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
				 error);
	if (proc == NULL || !g_subprocess_communicate_utf8(proc, NULL, NULL, &out, &err, error))
		return NULL;
	if (!g_subprocess_get_if_exited(proc) || g_subprocess_get_exit_status(proc) != 0) {
		g_autofree gchar *cmd = g_strjoinv(" ", (gchar **)argv->pdata);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s failed: %s", cmd,
			    err != NULL ? g_strstrip(err) : "");
		return NULL;
	}
	return g_steal_pointer(&out);
}

/* a long-lived host process (a namespace holder, a server), killed by the supervisor */
static GSubprocess *
host_spawn(GError **error, const gchar *const *argv)
{
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	GSubprocess *proc;

	g_subprocess_launcher_set_child_setup(launcher, sbx_supervisor_child_setup, NULL, NULL);
	proc = g_subprocess_launcher_spawnv(launcher, argv, error);
	if (proc != NULL)
		sbx_supervisor_record_pid(tmpdir_path,
					  (pid_t)atoi(g_subprocess_get_identifier(proc)));
	return proc;
}

/* a network namespace that lives as long as its holder process, joined to the host
 * by a veth pair (HOST_ADDR on the host, NS_ADDR inside), running the test server */
static gboolean
make_test_host(const gchar *name, const gchar *host_addr, const gchar *ns_addr,
	       const gchar *const *extra_addrs, GError **error)
{
	const gchar *hold_argv[] = {"unshare", "--net", "--", "sleep", "100000", NULL};
	g_autoptr(GSubprocess) holder = host_spawn(error, hold_argv);
	g_autofree gchar *host_if = g_strdup_printf("np%s%d", name, (int)getpid() % 100000);
	g_autofree gchar *ns_if = g_strdup_printf("%sp", host_if);
	g_autofree gchar *pid = NULL;
	g_autofree gchar *host_cidr = g_strdup_printf("%s/24", host_addr);
	g_autofree gchar *ns_cidr = g_strdup_printf("%s/24", ns_addr);
	g_autofree gchar *out = NULL;
	g_autofree gchar *script = g_build_filename(tmpdir_path, "server.py", NULL);

	if (holder == NULL)
		return FALSE;
	pid = g_strdup(g_subprocess_get_identifier(holder));
	if (g_str_equal(name, "inet"))
		inet_pid = g_strdup(pid);
	/* the holder must have unshared before the veth goes in (bounded: else the
	 * veth would land in the host's namespace) */
	for (gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;;) {
		g_autofree gchar *own = g_file_read_link("/proc/self/ns/net", NULL);
		g_autofree gchar *path = g_strdup_printf("/proc/%s/ns/net", pid);
		g_autofree gchar *theirs = g_file_read_link(path, NULL);
		g_autofree gchar *comm_path = g_strdup_printf("/proc/%s/comm", pid);
		g_autofree gchar *comm = NULL;
		if (theirs != NULL && g_strcmp0(own, theirs) != 0 &&
		    g_file_get_contents(comm_path, &comm, NULL, NULL) &&
		    g_str_has_prefix(comm, "sleep"))
			break;
		if (g_get_monotonic_time() > deadline) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
				    "the namespace holder %s did not unshare within 60 s", pid);
			return FALSE;
		}
		g_usleep(100 * 1000);
	}
	if ((out = host_run(error, "ip", "link", "add", host_if, "type", "veth", "peer", "name",
			    ns_if, NULL)) == NULL)
		return FALSE;
	g_free(out);
	if ((out = host_run(error, "ip", "link", "set", ns_if, "netns", pid, NULL)) == NULL)
		return FALSE;
	g_free(out);
	if ((out = host_run(error, "ip", "addr", "add", host_cidr, "dev", host_if, NULL)) == NULL)
		return FALSE;
	g_free(out);
	if ((out = host_run(error, "ip", "link", "set", host_if, "up", NULL)) == NULL)
		return FALSE;
	g_free(out);
	{
		g_autofree gchar *sh = g_strdup_printf(
		    "ip link set lo up && ip addr add %s dev %s && ip link set %s up && "
		    "ip route add default via %s",
		    ns_cidr, ns_if, ns_if, host_addr);
		g_autoptr(GString) extra = g_string_new(sh);
		for (guint i = 0; extra_addrs != NULL && extra_addrs[i] != NULL; i++)
			g_string_append_printf(extra, " && ip addr add %s/32 dev lo",
					       extra_addrs[i]);
		out = host_run(error, "nsenter", "-t", pid, "-n", "sh", "-c", extra->str, NULL);
		if (out == NULL)
			return FALSE;
		g_clear_pointer(&out, g_free);
	}
	for (guint i = 0; extra_addrs != NULL && extra_addrs[i] != NULL; i++) {
		g_autofree gchar *dst = g_strdup_printf("%s/32", extra_addrs[i]);
		if ((out = host_run(error, "ip", "route", "add", dst, "via", ns_addr, NULL)) ==
		    NULL)
			return FALSE;
		g_clear_pointer(&out, g_free);
	}
	{
		const gchar *srv_argv[] = {"nsenter", "-t", pid,	 "-n", "python3",
					   script,    name, SERVER_PORT, NULL};
		g_autoptr(GSubprocess) srv = host_spawn(error, srv_argv);
		if (srv == NULL)
			return FALSE;
		/* the metadata address answers on port 80 too */
		if (extra_addrs != NULL) {
			const gchar *md_argv[] = {"nsenter", "-t",	 pid,  "-n", "python3",
						  script,    "metadata", "80", NULL};
			g_autoptr(GSubprocess) md = host_spawn(error, md_argv);
			if (md == NULL)
				return FALSE;
		}
	}
	return TRUE;
}

/* probes from the host: the servers answer when nothing filters them */
static GHashTable *
parse_probe(const gchar *out)
{
	GHashTable *res = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);

	for (guint i = 0; lines[i] != NULL; i++) {
		gchar *sp = strchr(lines[i], ' ');
		if (sp == NULL)
			continue;
		g_hash_table_insert(res, g_strndup(lines[i], sp - lines[i]), g_strdup(sp + 1));
	}
	return res;
}

static GHashTable *
host_probe(const gchar *const *specs)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree gchar *out = NULL;

	g_ptr_array_add(argv, (gpointer) "python3");
	g_ptr_array_add(argv, probe_path);
	for (guint i = 0; specs[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)specs[i]);
	g_ptr_array_add(argv, NULL);
	proc = g_subprocess_newv((const gchar *const *)argv->pdata, G_SUBPROCESS_FLAGS_STDOUT_PIPE,
				 &error);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, &error));
	g_assert_no_error(error);
	return parse_probe(out);
}

/* runs `sh -c SCRIPT` in a sandbox, asserts exit 0, returns stdout */
static gchar *
sh_ok(const gchar *path, const gchar *script)
{
	g_autoptr(GError) error = NULL;
	SbxExecResult res = {0};
	g_autofree gchar *err = NULL;
	gchar *out;

	ASSERT_OK(sbx_test_sh(path, script, NULL, &res, &error));
	err = bytes_to_str(res.err);
	if (res.exit_status != 0 || res.signal != 0)
		g_error("'%s' failed (status %d, signal %d): %s", script, res.exit_status,
			res.signal, err);
	out = bytes_to_str(res.out);
	sbx_exec_result_clear(&res);
	return g_strstrip(out);
}

static GHashTable *
guest_probe(const gchar *path, const gchar *const *specs)
{
	g_autoptr(GString) cmd = g_string_new("python3 /root/probe.py");
	g_autofree gchar *out = NULL;

	for (guint i = 0; specs[i] != NULL; i++)
		g_string_append_printf(cmd, " '%s'", specs[i]);
	out = sh_ok(path, cmd->str);
	g_test_message("probes:\n%s", out);
	return parse_probe(out);
}

static void
assert_open(GHashTable *res, const gchar *spec, const gchar *answer)
{
	const gchar *got = g_hash_table_lookup(res, spec);
	g_autofree gchar *want = g_strdup_printf("open:%s", answer);

	if (g_strcmp0(got, want) != 0)
		g_error("%s: expected %s, got %s", spec, want, got);
}

static void
assert_closed(GHashTable *res, const gchar *spec)
{
	const gchar *got = g_hash_table_lookup(res, spec);

	g_assert_nonnull(got);
	if (g_str_has_prefix(got, "open"))
		g_error("%s: expected no answer, got %s", spec, got);
}

static guint64
count_packets(const gchar *counter)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out =
	    host_run(&error, "nft", "list", "counter", "inet", count_table, counter, NULL);
	const gchar *p;

	g_assert_no_error(error);
	p = strstr(out, "packets ");
	g_assert_nonnull(p);
	return g_ascii_strtoull(p + strlen("packets "), NULL, 10);
}

static GVariant *
create_options(const gchar *const *allow_net)
{
	GVariantBuilder opts;

	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&opts, "{sv}", "image", g_variant_new_string("debian"));
	g_variant_builder_add(&opts, "{sv}", "vcpus", g_variant_new_uint32(1));
	g_variant_builder_add(&opts, "{sv}", "memory", g_variant_new_uint32(768));
	if (allow_net != NULL)
		g_variant_builder_add(&opts, "{sv}", "allow_net",
				      g_variant_new_strv(allow_net, -1));
	return g_variant_builder_end(&opts);
}

static gchar *
create_sandbox_with(const gchar *const *allow_net)
{
	g_autoptr(GError) error = NULL;
	gchar *path = sbx_test_create(NULL, create_options(allow_net), &error);

	g_assert_no_error(error);
	g_assert_nonnull(path);
	return path;
}

static gchar *
create_sandbox(void)
{
	return create_sandbox_with(NULL);
}

static void
install_probe(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) probe = g_bytes_new_static(probe_py, strlen(probe_py));
	g_autoptr(GBytes) server = g_bytes_new_static(server_py, strlen(server_py));
	SbxExecResult res = {0};

	ASSERT_OK(sbx_test_sh(path, "cat > /root/probe.py", probe, &res, &error));
	g_assert_cmpint(res.exit_status, ==, 0);
	sbx_exec_result_clear(&res);
	ASSERT_OK(sbx_test_sh(path, "cat > /root/server.py", server, &res, &error));
	g_assert_cmpint(res.exit_status, ==, 0);
	sbx_exec_result_clear(&res);
}

static void
setup_sandboxes(void)
{
	g_autofree gchar *out = NULL;
	g_auto(GStrv) f = NULL;

	sbx_a = create_sandbox();
	sbx_b = create_sandbox();
	install_probe(sbx_a);
	install_probe(sbx_b);
	out = sh_ok(sbx_a, "nic=$(ip -o -4 route show default | awk '{print $5}'); "
			   "echo $nic $(ip -o -4 addr show dev $nic | awk '{print $4}' | "
			   "cut -d/ -f1) $(cat /sys/class/net/$nic/address) "
			   "$(ip -o -4 route show default | awk '{print $3}')");
	f = g_strsplit(out, " ", -1);
	g_assert_cmpuint(g_strv_length(f), ==, 4);
	nic_a = g_strdup(f[0]);
	ip_a = g_strdup(f[1]);
	mac_a = g_strdup(f[2]);
	gateway = g_strdup(f[3]);
	g_clear_pointer(&out, g_free);
	/* B serves on its IPv4 and link-local IPv6 addresses */
	out = sh_ok(sbx_b, "nic=$(ip -o -4 route show default | awk '{print $5}'); "
			   "setsid -f python3 /root/server.py guestb " SERVER_PORT
			   " >/dev/null 2>&1 </dev/null; "
			   "echo $(ip -o -4 addr show dev $nic | awk '{print $4}' | cut -d/ -f1) "
			   "$(ip -o -6 addr show dev $nic scope link | awk '{print $4}' | "
			   "cut -d/ -f1)%$nic $(cat /sys/class/net/$nic/address)");
	g_strfreev(f);
	f = g_strsplit(out, " ", -1);
	g_assert_cmpuint(g_strv_length(f), ==, 3);
	ip_b = g_strdup(f[0]);
	ip6_b = g_strdup(f[1]);
	mac_b = g_strdup(f[2]);
	/* other sandboxes may share the bridge: count only ours */
	{
		g_autoptr(GError) error = NULL;
		g_autofree gchar *elems = g_strdup_printf("{ %s, %s }", mac_a, mac_b);
		g_autofree gchar *o = host_run(&error, "nft", "add", "element", "inet", count_table,
					       "guest_macs", elems, NULL);
		g_assert_no_error(error);
	}
	g_test_message("A %s (%s, %s) B %s %s gateway %s", ip_a, nic_a, mac_a, ip_b, ip6_b,
		       gateway);
	/* B's server runs: B reaches it on its own address */
	for (guint i = 0; i < 50; i++) {
		g_autofree gchar *spec = g_strdup_printf("tcp,%s,%s", ip_b, SERVER_PORT);
		const gchar *specs[] = {spec, NULL};
		g_autoptr(GHashTable) res = guest_probe(sbx_b, specs);
		if (g_str_has_prefix(g_hash_table_lookup(res, spec), "open:"))
			break;
		g_usleep(200 * 1000);
	}
}

/* the controls: every server answers where nothing filters it */
static void
test_servers_answer(void)
{
	g_autofree gchar *lan = g_strdup_printf("tcp,%s,%s", LAN_HOST, SERVER_PORT);
	g_autofree gchar *host = g_strdup_printf("tcp,%s,%s", host_ip, host_port);
	g_autofree gchar *host_udp = g_strdup_printf("udp,%s,%s", host_ip, host_port);
	const gchar *specs[] = {lan, "tcp," METADATA_HOST ",80", host, host_udp, NULL};
	g_autoptr(GHashTable) res = host_probe(specs);
	g_autofree gchar *b_self = g_strdup_printf("tcp,%s,%s", ip_b, SERVER_PORT);
	g_autofree gchar *b_udp = g_strdup_printf("udp,%s,%s", ip_b, SERVER_PORT);
	const gchar *b_specs[] = {b_self, b_udp, NULL};
	g_autoptr(GHashTable) b_res = NULL;

	assert_open(res, lan, "tcp-lan");
	assert_open(res, "tcp," METADATA_HOST ",80", "tcp-metadata");
	assert_open(res, host, "tcp-host");
	assert_open(res, host_udp, "udp-host");
	b_res = guest_probe(sbx_b, b_specs);
	assert_open(b_res, b_self, "tcp-guestb");
	assert_open(b_res, b_udp, "udp-guestb");
}

/* the internet (a host that is in no blocked range) and DNS work */
static void
test_internet(void)
{
	const gchar *specs[] = {"tcp," INET_HOST "," SERVER_PORT, "udp," INET_HOST "," SERVER_PORT,
				"icmp," INET_HOST ",0", NULL};
	g_autoptr(GHashTable) res = guest_probe(sbx_a, specs);
	g_autofree gchar *dns = NULL;

	assert_open(res, specs[0], "tcp-inet");
	assert_open(res, specs[1], "udp-inet");
	assert_open(res, specs[2], "echo");
	/* the resolver on the gateway answers (the host's own resolver behind it) */
	dns = sh_ok(sbx_a,
		    "python3 -c \"import socket; s=socket.socket(2,2); s.settimeout(4); "
		    "s.sendto(bytes.fromhex('12340100000100000000000007696e76616c69640000010001'),"
		    " ('$(ip -o -4 route show default | awk '{print $3}')', 53)); "
		    "print(len(s.recv(512)) > 12)\"");
	g_assert_cmpstr(dns, ==, "True");
}

static void
test_guest_to_guest(void)
{
	g_autofree gchar *tcp = g_strdup_printf("tcp,%s,%s", ip_b, SERVER_PORT);
	g_autofree gchar *udp = g_strdup_printf("udp,%s,%s", ip_b, SERVER_PORT);
	g_autofree gchar *icmp = g_strdup_printf("icmp,%s,0", ip_b);
	g_autofree gchar *tcp6 = g_strdup_printf("tcp,%s,%s", ip6_b, SERVER_PORT);
	const gchar *specs[] = {tcp, udp, icmp, tcp6, NULL};
	g_autoptr(GHashTable) res = guest_probe(sbx_a, specs);

	for (guint i = 0; specs[i] != NULL; i++)
		assert_closed(res, specs[i]);
}

static void
test_host_closed(void)
{
	g_autofree gchar *gw_tcp = g_strdup_printf("tcp,%s,%s", gateway, host_port);
	g_autofree gchar *gw_udp = g_strdup_printf("udp,%s,%s", gateway, host_port);
	g_autofree gchar *gw_icmp = g_strdup_printf("icmp,%s,0", gateway);
	g_autofree gchar *host_tcp = g_strdup_printf("tcp,%s,%s", host_ip, host_port);
	g_autofree gchar *host_udp = g_strdup_printf("udp,%s,%s", host_ip, host_port);
	const gchar *specs[] = {gw_tcp, gw_udp, gw_icmp, host_tcp, host_udp, NULL};
	g_autoptr(GHashTable) res = guest_probe(sbx_a, specs);

	for (guint i = 0; specs[i] != NULL; i++)
		assert_closed(res, specs[i]);
}

static void
test_private_ranges_closed(void)
{
	const gchar *specs[] = {"tcp," LAN_HOST "," SERVER_PORT, "udp," LAN_HOST "," SERVER_PORT,
				"icmp," LAN_HOST ",0",		 "tcp," METADATA_HOST ",80",
				"icmp," METADATA_HOST ",0",	 NULL};
	g_autoptr(GHashTable) res = guest_probe(sbx_a, specs);

	for (guint i = 0; specs[i] != NULL; i++)
		assert_closed(res, specs[i]);
}

/* frames with a foreign source IP or MAC, and IPv6 at all, never reach the
 * host's IP stack (counted in the host's prerouting, before any filter) */
static void
test_spoofing(void)
{
	g_autofree gchar *spoof_tcp =
	    g_strdup_printf("tcp,%s,%s,%s", INET_HOST, SERVER_PORT, SPOOF_IP);
	g_autofree gchar *script = NULL;
	g_autofree gchar *fdb = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *spoof_specs[] = {spoof_tcp, NULL};
	const gchar *own_specs[] = {"tcp," INET_HOST "," SERVER_PORT, NULL};
	g_autoptr(GHashTable) res = NULL;

	/* the counters see our own frames: they would see spoofed ones */
	res = guest_probe(sbx_a, own_specs);
	assert_open(res, own_specs[0], "tcp-inet");
	g_assert_cmpuint(count_packets("from_a"), >, 0);

	g_free(sh_ok(sbx_a, "ip addr add " SPOOF_IP "/32 dev $(ip -o -4 route show default | "
			    "awk '{print $5}')"));
	g_clear_pointer(&res, g_hash_table_unref);
	res = guest_probe(sbx_a, spoof_specs);
	assert_closed(res, spoof_tcp);
	g_assert_cmpuint(count_packets("spoofed_ip"), ==, 0);
	g_free(sh_ok(sbx_a, "ip addr del " SPOOF_IP "/32 dev $(ip -o -4 route show default | "
			    "awk '{print $5}')"));

	script = g_strdup_printf("ip link set dev %s address " SPOOF_MAC " && "
				 "python3 /root/probe.py tcp," INET_HOST "," SERVER_PORT
				 " icmp," INET_HOST ",0 udp,%s,53; "
				 "ip link set dev %s address %s",
				 nic_a, gateway, nic_a, mac_a);
	g_free(sh_ok(sbx_a, script));
	g_assert_cmpuint(count_packets("spoofed_mac"), ==, 0);
	fdb = host_run(&error, "bridge", "fdb", "show", NULL);
	g_assert_no_error(error);
	g_assert_null(strstr(fdb, SPOOF_MAC));
	g_assert_nonnull(strstr(fdb, mac_a));
	/* and with its own MAC back, it is online again */
	g_clear_pointer(&res, g_hash_table_unref);
	res = guest_probe(sbx_a, own_specs);
	assert_open(res, own_specs[0], "tcp-inet");

	/* IPv6: not a single packet from any guest (they all have link-local
	 * addresses and send neighbour discovery, and A just tried B over v6) */
	g_assert_cmpuint(count_packets("ipv6_from_guests"), ==, 0);
}

/* allow_net with an address entry: only that destination (a private one: the
 * entry overrides the default block for it alone) and port; nothing else, no DNS */
static void
test_allow_net_address(void)
{
	const gchar *allow[] = {LAN_HOST ":" SERVER_PORT, NULL};
	g_autofree gchar *path = create_sandbox_with(allow);
	g_autofree gchar *dns = g_strdup_printf("udp,%s,53", gateway);
	g_autofree gchar *dns_tcp = g_strdup_printf("tcp,%s,53", gateway);
	const gchar *specs[] = {"tcp," LAN_HOST "," SERVER_PORT,
				"udp," LAN_HOST "," SERVER_PORT,
				"icmp," LAN_HOST ",0",
				"tcp," INET_HOST "," SERVER_PORT,
				"icmp," INET_HOST ",0",
				"tcp," METADATA_HOST ",80",
				dns,
				dns_tcp,
				NULL};
	g_autoptr(GHashTable) res = NULL;
	g_autoptr(GError) error = NULL;
	gint64 deadline;

	install_probe(path);
	res = guest_probe(path, specs);
	assert_open(res, specs[0], "tcp-lan");
	assert_open(res, specs[1], "udp-lan");
	for (guint i = 2; specs[i] != NULL; i++)
		assert_closed(res, specs[i]);
	/* the rules go with the sandbox (removed right after its VM) */
	ASSERT_OK(sbx_test_kill(NULL, path, &error));
	deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	for (;;) {
		g_autofree gchar *table = g_strdup_printf("sbxtest_%d", (int)getpid());
		g_autofree gchar *out =
		    host_run(&error, "nft", "list", "map", "inet", table, "sandbox_out", NULL);
		g_assert_no_error(error);
		if (strstr(out, "jump sbx_") == NULL)
			break;
		if (g_get_monotonic_time() > deadline)
			g_error("the rules of a killed sandbox are still there after 60 s:\n%s",
				out);
		g_usleep(100 * 1000);
	}
}

static void
install_fetch(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) fetch = g_bytes_new_static(fetch_py, strlen(fetch_py));
	g_autofree gchar *ca_path = g_build_filename(tmpdir_path, "test-ca.crt", NULL);
	g_autofree gchar *ca = NULL;
	g_autoptr(GBytes) ca_bytes = NULL;
	SbxExecResult res = {0};

	g_assert_true(g_file_get_contents(ca_path, &ca, NULL, &error));
	ca_bytes = g_bytes_new_take(g_steal_pointer(&ca), strlen(ca));
	ASSERT_OK(sbx_test_sh(path, "cat > /root/fetch.py", fetch, &res, &error));
	g_assert_cmpint(res.exit_status, ==, 0);
	sbx_exec_result_clear(&res);
	ASSERT_OK(sbx_test_sh(path, "cat > /root/test-ca.crt", ca_bytes, &res, &error));
	g_assert_cmpint(res.exit_status, ==, 0);
	sbx_exec_result_clear(&res);
}

static GHashTable *
guest_fetch(const gchar *path, const gchar *const *specs)
{
	g_autoptr(GString) cmd = g_string_new("python3 /root/fetch.py");
	g_autofree gchar *out = NULL;

	for (guint i = 0; specs[i] != NULL; i++)
		g_string_append_printf(cmd, " '%s'", specs[i]);
	out = sh_ok(path, cmd->str);
	g_test_message("fetches:\n%s", out);
	return parse_probe(out);
}

static void
assert_result(GHashTable *res, const gchar *spec, const gchar *want)
{
	const gchar *got = g_hash_table_lookup(res, spec);

	if (g_strcmp0(got, want) != 0)
		g_error("%s: expected %s, got %s", spec, want, got);
}

static void
assert_failed(GHashTable *res, const gchar *spec)
{
	const gchar *got = g_hash_table_lookup(res, spec);

	g_assert_nonnull(got);
	if (!g_str_has_prefix(got, "error:"))
		g_error("%s: expected an error, got %s", spec, got);
}

/* another sandboxd's table on the same bridge whose code predates the egress
 * and allow marks drops every guest's traffic to our proxy and to our listed
 * private addresses: say so instead of failing on a timeout */
static void
assert_no_foreign_tables(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tables = host_run(&error, "nft", "list", "tables", "inet", NULL);
	g_autofree gchar *ours = g_strdup_printf("sbxtest_%d", (int)getpid());
	g_auto(GStrv) lines = NULL;

	g_assert_no_error(error);
	lines = g_strsplit(tables, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_auto(GStrv) f = g_strsplit(g_strstrip(lines[i]), " ", -1);
		g_autofree gchar *rules = NULL;
		if (g_strv_length(f) != 3 || g_str_equal(f[2], ours))
			continue;
		rules = host_run(NULL, "nft", "list", "table", "inet", f[2], NULL);
		if (rules != NULL && strstr(rules, "jump guest_to_host") != NULL &&
		    (strstr(rules, "0x73627865") == NULL || strstr(rules, "0x73627861") == NULL))
			g_error("table inet %s (another sandboxd, older) drops guest traffic to "
				"this test's egress proxy; stop that daemon or update it",
				f[2]);
	}
}

#define ALLOWED_HTTP "ok:host=" ALLOWED_NAME ";addr=" INET_HOST ";tls=False"
#define ALLOWED_HTTPS "ok:host=" ALLOWED_NAME ";addr=" INET_HOST ";tls=True"

/* host names: the guest's DNS answers only allowed names, HTTP and HTTPS reach
 * them through the egress proxy by name, nothing else gets out */
static void
test_allow_net_names(void)
{
	const gchar *allow[] = {ALLOWED_NAME, NULL};
	g_autofree gchar *path = create_sandbox_with(allow);
	g_autofree gchar *dns_allowed = g_strdup_printf("dns,%s,%s", ALLOWED_NAME, gateway);
	g_autofree gchar *dns_blocked = g_strdup_printf("dns,%s,%s", BLOCKED_NAME, gateway);
	const gchar *fetches[] = {
	    "http," ALLOWED_NAME, "https," ALLOWED_NAME,
	    /* blocked: by name (no DNS answer), by address, by Host/SNI */
	    "http," BLOCKED_NAME, "http," BLOCKED_NAME "," BLOCKED_IP,
	    "https," BLOCKED_NAME "," BLOCKED_IP, "https," BLOCKED_NAME "," INET_HOST,
	    /* a direct IP: no name to allow */
	    "http," INET_HOST "," INET_HOST,
	    /* a permitted name sent to a forbidden address */
	    "http," ALLOWED_NAME "," BLOCKED_IP, "https," ALLOWED_NAME "," BLOCKED_IP, dns_allowed,
	    dns_blocked, "dns," ALLOWED_NAME "," INET_HOST, NULL};
	/* not through the proxy: other ports, outside resolvers, UDP 443 */
	const gchar *probes[] = {"tcp," INET_HOST "," SERVER_PORT, "udp," INET_HOST ",53",
				 "udp," INET_HOST "," SERVER_PORT, "icmp," INET_HOST ",0", NULL};
	g_autoptr(GHashTable) res = NULL;
	g_autoptr(GHashTable) probed = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *id = sbx_test_get_id(NULL, path);
	g_autofree gchar *events_path =
	    g_build_filename(sbx_test_env_get()->runtime_dir, id, "events.log", NULL);
	g_autofree gchar *events = NULL;
	g_autofree gchar *dns_reply = g_strdup_printf("rcode0:%s", INET_HOST);
	gint64 deadline;

	install_probe(path);
	install_fetch(path);
	assert_no_foreign_tables();
	res = guest_fetch(path, fetches);
	assert_result(res, fetches[0], ALLOWED_HTTP);
	assert_result(res, fetches[1], ALLOWED_HTTPS);
	for (guint i = 2; i <= 6; i++)
		assert_failed(res, fetches[i]);
	/* reached allowed.test's own address, not the one the guest aimed at */
	assert_result(res, fetches[7], ALLOWED_HTTP);
	assert_result(res, fetches[8], ALLOWED_HTTPS);
	assert_result(res, dns_allowed, dns_reply);
	assert_result(res, dns_blocked, "rcode5:-");
	assert_failed(res, fetches[11]);
	probed = guest_probe(path, probes);
	for (guint i = 0; probes[i] != NULL; i++)
		assert_closed(probed, probes[i]);
	/* denials are in the sandbox's event log: names and ports. The proxy
	 * reports them to the daemon on its own time: bounded */
	deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	for (;;) {
		g_clear_pointer(&events, g_free);
		g_assert_true(g_file_get_contents(events_path, &events, NULL, &error));
		if (strstr(events, "network: denied " BLOCKED_NAME " port 443") != NULL &&
		    strstr(events, "network: denied " BLOCKED_NAME " port 53") != NULL)
			break;
		if (g_get_monotonic_time() > deadline)
			g_error("denials missing from the event log after 60 s:\n%s", events);
		g_usleep(100 * 1000);
	}
	ASSERT_OK(sbx_test_kill(NULL, path, &error));
}

#define SBX_SECRETS_CA_PATH "/usr/local/share/ca-certificates/sandboxd-secrets.crt"
#define SECRET_VALUE "sk-live-Vq8Xn2-netpol-test-value"
/* matches the value, and the command line that holds it does not */
#define SECRET_PATTERN "sk-live-Vq8Xn2-netpol-test-valu[e]"

/* the secret's value comes back for allowed.test */
#define SECRET_CURL                                                                                \
	"curl -sS --max-time 30 -H \"Authorization: $API_TOKEN\" https://" ALLOWED_NAME "/headers"

/* HTTP/1.1 keep-alive: a first request to allowed.test, then one on the
 * same connection naming blocked.test: "first-status second-result" */
static const gchar keepalive_py[] =
    "import http.client, os\n"
    "c = http.client.HTTPSConnection('" ALLOWED_NAME "', timeout=20)\n"
    "c.request('GET', '/headers', headers={'Authorization': os.environ['API_TOKEN']})\n"
    "r = c.getresponse()\n"
    "first = r.read().decode().strip()\n"
    "try:\n"
    "    c.request('GET', '/headers', headers={'Host': '" BLOCKED_NAME "'})\n"
    "    second = c.getresponse().read().decode().strip() or 'empty'\n"
    "except Exception as e:\n"
    "    second = 'error'\n"
    "print(first, second)\n";

/* every D-Bus property of the sandbox, as text */
static gchar *
dbus_properties(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) conn = g_dbus_connection_new_for_address_sync(
	    sbx_test_env_get()->bus_address,
	    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	    NULL, NULL, &error);
	g_autoptr(GVariant) reply = NULL;

	g_assert_no_error(error);
	reply = g_dbus_connection_call_sync(conn, "org.sandboxd", path,
					    "org.freedesktop.DBus.Properties", "GetAll",
					    g_variant_new("(s)", "org.sandboxd.Sandbox1"), NULL,
					    G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	g_assert_no_error(error);
	return g_variant_print(reply, FALSE);
}

/* a file of the host, "" when it does not exist */
static gchar *
host_file(const gchar *path)
{
	gchar *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return g_strdup("");
	return text;
}

/* secrets: the guest's env var holds a placeholder; in HTTPS headers to the
 * secret's host the proxy puts the value in its place (the guest trusts the
 * sandbox's CA: curl and Python through the env variables); to another
 * allowed host the placeholder goes out unchanged and TLS passes through
 * (the guest checks the real server's certificate); the value is nowhere in
 * the guest, the logs, the state or D-Bus */
static void
test_secrets(void)
{
	const gchar *allow[] = {ALLOWED_NAME, BLOCKED_NAME, NULL};
	GVariantBuilder opts;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *id = NULL;
	g_autofree gchar *placeholder = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *want = NULL;
	g_autofree gchar *props = NULL;
	g_autoptr(GBytes) keepalive = g_bytes_new_static(keepalive_py, strlen(keepalive_py));
	SbxExecResult res = {0};
	SbxTestEnv *env = sbx_test_env_get();
	const gchar *hdrs = "-H \"Authorization: Bearer $API_TOKEN\" -H \"X-Api-Key: $API_TOKEN\"";

	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&opts, "{sv}", "image", g_variant_new_string("debian"));
	g_variant_builder_add(&opts, "{sv}", "vcpus", g_variant_new_uint32(1));
	g_variant_builder_add(&opts, "{sv}", "memory", g_variant_new_uint32(768));
	g_variant_builder_add(&opts, "{sv}", "allow_net", g_variant_new_strv(allow, -1));
	g_variant_builder_add(
	    &opts, "{sv}", "secrets",
	    g_variant_new_parsed("{'API_TOKEN': (['" ALLOWED_NAME "'], %s)}", SECRET_VALUE));
	path = sbx_test_create(NULL, g_variant_builder_end(&opts), &error);
	g_assert_no_error(error);
	id = sbx_test_get_id(NULL, path);
	install_fetch(path);
	assert_no_foreign_tables();

	placeholder = sh_ok(path, "printf %s \"$API_TOKEN\"");
	g_assert_true(g_str_has_prefix(placeholder, "sbx_secret_"));
	/* the secret's host: the value arrives, through curl and Python */
	g_clear_pointer(&out, g_free);
	{
		g_autofree gchar *cmd = g_strdup_printf(
		    "curl -sS --max-time 30 %s https://" ALLOWED_NAME "/headers", hdrs);
		out = sh_ok(path, cmd);
	}
	g_assert_cmpstr(out, ==, "auth=Bearer " SECRET_VALUE ";key=" SECRET_VALUE);
	g_clear_pointer(&out, g_free);
	out = sh_ok(path, "python3 -c 'import os, urllib.request as u; "
			  "r = u.Request(\"https://" ALLOWED_NAME "/headers\", "
			  "headers={\"X-Api-Key\": os.environ[\"API_TOKEN\"]}); "
			  "print(u.urlopen(r, timeout=30).read().decode().strip())'");
	g_assert_cmpstr(out, ==, "auth=None;key=" SECRET_VALUE);
	/* another allowed host: the placeholder as it is, the real server's
	 * certificate (the test CA, which only --cacert trusts) */
	g_clear_pointer(&out, g_free);
	{
		g_autofree gchar *cmd = g_strdup_printf(
		    "curl -sS --max-time 30 --cacert /root/test-ca.crt %s https://" BLOCKED_NAME
		    "/headers",
		    hdrs);
		out = sh_ok(path, cmd);
	}
	want = g_strdup_printf("auth=Bearer %s;key=%s", placeholder, placeholder);
	g_assert_cmpstr(out, ==, want);
	/* one keep-alive connection cannot turn to another host */
	ASSERT_OK(sbx_test_sh(path, "cat > /root/keepalive.py", keepalive, &res, &error));
	sbx_exec_result_clear(&res);
	g_clear_pointer(&out, g_free);
	out = sh_ok(path, "python3 /root/keepalive.py");
	g_assert_cmpstr(out, ==, "auth=" SECRET_VALUE ";key=None error");

	/* the guest has the CA's certificate, never its key, never the value */
	g_clear_pointer(&out, g_free);
	out =
	    sh_ok(path, "grep -c 'BEGIN CERTIFICATE' " SBX_SECRETS_CA_PATH "; "
			"grep -c 'PRIVATE KEY' " SBX_SECRETS_CA_PATH "; "
			"grep -rls '" SECRET_PATTERN "' /etc /root /tmp /usr/local /var /run "
			"/proc/[0-9]*/environ /proc/[0-9]*/cmdline; env | grep -c '" SECRET_PATTERN
			"'; true");
	g_assert_cmpstr(out, ==, "1\n0\n0");

	/* nor the host's records of the sandbox */
	props = dbus_properties(path);
	g_assert_null(strstr(props, SECRET_VALUE));
	{
		g_autofree gchar *events_path =
		    g_build_filename(env->runtime_dir, id, "events.log", NULL);
		g_autofree gchar *state_path = g_strdup_printf("%s/%s.json", env->state_dir, id);
		g_autofree gchar *events = host_file(events_path);
		g_autofree gchar *state = host_file(state_path);
		g_autofree gchar *log = host_file(env->daemon_log);
		g_assert_nonnull(
		    strstr(events, "secrets: CA installed for API_TOKEN@" ALLOWED_NAME));
		g_assert_null(strstr(events, SECRET_VALUE));
		g_assert_null(strstr(state, SECRET_VALUE));
		g_assert_null(strstr(log, SECRET_VALUE));
	}
	ASSERT_OK(sbx_test_kill(NULL, path, &error));
}

/* secrets without allow_net (the SDK's usual way): the default isolation
 * (the internet answers on any port), HTTPS through the proxy: the value for
 * the secret's host, the placeholder elsewhere */
static void
test_secrets_open(void)
{
	GVariantBuilder opts;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *placeholder = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *want = NULL;
	g_autoptr(GHashTable) res = NULL;
	const gchar *specs[] = {"tcp," INET_HOST "," SERVER_PORT, NULL};

	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&opts, "{sv}", "image", g_variant_new_string("debian"));
	g_variant_builder_add(&opts, "{sv}", "vcpus", g_variant_new_uint32(1));
	g_variant_builder_add(&opts, "{sv}", "memory", g_variant_new_uint32(768));
	g_variant_builder_add(
	    &opts, "{sv}", "secrets",
	    g_variant_new_parsed("{'API_TOKEN': (['" ALLOWED_NAME "'], %s)}", SECRET_VALUE));
	path = sbx_test_create(NULL, g_variant_builder_end(&opts), &error);
	g_assert_no_error(error);
	install_probe(path);
	install_fetch(path);
	res = guest_probe(path, specs);
	assert_open(res, specs[0], "tcp-inet");
	placeholder = sh_ok(path, "printf %s \"$API_TOKEN\"");
	/* the test zone is not in any DNS: --resolve */
	out = sh_ok(path, "curl -sS --max-time 30 --resolve " ALLOWED_NAME ":443:" INET_HOST
			  " -H \"Authorization: $API_TOKEN\" https://" ALLOWED_NAME "/headers");
	g_assert_cmpstr(out, ==, "auth=" SECRET_VALUE ";key=None");
	g_clear_pointer(&out, g_free);
	out =
	    sh_ok(path, "curl -sS --max-time 30 --cacert /root/test-ca.crt --resolve " BLOCKED_NAME
			":443:" BLOCKED_IP " -H \"Authorization: $API_TOKEN\" https://" BLOCKED_NAME
			"/headers");
	want = g_strdup_printf("auth=%s;key=None", placeholder);
	g_assert_cmpstr(out, ==, want);
	ASSERT_OK(sbx_test_kill(NULL, path, &error));
}

/* an empty allow_net: no network at all (not even a NIC) */
static void
test_allow_net_empty(void)
{
	const gchar *none[] = {NULL};
	g_autofree gchar *path = create_sandbox_with(none);
	const gchar *specs[] = {"tcp," INET_HOST "," SERVER_PORT, NULL};
	g_autoptr(GHashTable) res = NULL;
	g_autofree gchar *routes = NULL;
	g_autoptr(GError) error = NULL;

	install_probe(path);
	routes = sh_ok(path, "ip -o -4 route show; ip -o -4 addr show scope global");
	g_assert_cmpstr(routes, ==, "");
	res = guest_probe(path, specs);
	assert_closed(res, specs[0]);
	ASSERT_OK(sbx_test_kill(NULL, path, &error));
}

/* a bad entry is refused with a message naming it, before any VM starts */
static void
test_allow_net_invalid(void)
{
	const gchar *bad[] = {"ok.example.com", "not a host", NULL};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = sbx_test_create(NULL, create_options(bad), &error);

	g_assert_null(path);
	g_assert_nonnull(error);
	g_assert_true(g_dbus_error_is_remote_error(error));
	g_assert_nonnull(strstr(error->message, "'not a host'"));
}

/* a daemon killed and restarted puts a re-adopted sandbox's allow_net rules back
 * (its new table starts without them: the public test host would answer) */
static void
test_restart_keeps_policy(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	GVariantBuilder opts;
	const gchar *allow[] = {LAN_HOST ":" SERVER_PORT, ALLOWED_NAME, NULL};
	const gchar *specs[] = {"tcp," LAN_HOST "," SERVER_PORT, "tcp," INET_HOST "," SERVER_PORT,
				NULL};
	/* HTTPS to allowed.test is intercepted (its secret): the test CA alone
	 * would refuse our leaf, so the name policy is checked over HTTP and
	 * HTTPS with the secret through curl (the sandbox's CA) */
	const gchar *fetches[] = {"http," ALLOWED_NAME, "https," BLOCKED_NAME "," BLOCKED_IP, NULL};
	g_autofree gchar *path = NULL;
	g_autofree gchar *id = NULL;
	g_autofree gchar *record = NULL;
	g_autofree gchar *json = NULL;
	g_autoptr(GHashTable) res = NULL;
	gint64 deadline;

	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&opts, "{sv}", "image", g_variant_new_string("debian"));
	g_variant_builder_add(&opts, "{sv}", "vcpus", g_variant_new_uint32(1));
	g_variant_builder_add(&opts, "{sv}", "memory", g_variant_new_uint32(768));
	g_variant_builder_add(&opts, "{sv}", "timeout", g_variant_new_string("20m"));
	g_variant_builder_add(&opts, "{sv}", "allow_net", g_variant_new_strv(allow, -1));
	g_variant_builder_add(
	    &opts, "{sv}", "secrets",
	    g_variant_new_parsed("{'API_TOKEN': (['" ALLOWED_NAME "'], %s)}", SECRET_VALUE));
	path = sbx_test_create(NULL, g_variant_builder_end(&opts), &error);
	g_assert_no_error(error);
	id = sbx_test_get_id(NULL, path);
	sbx_supervisor_record_domain(tmpdir_path, id);
	install_probe(path);
	install_fetch(path);
	res = guest_probe(path, specs);
	assert_open(res, specs[0], "tcp-lan");
	assert_closed(res, specs[1]);
	g_clear_pointer(&res, g_hash_table_unref);
	res = guest_fetch(path, fetches);
	assert_result(res, fetches[0], ALLOWED_HTTP);
	assert_failed(res, fetches[1]);
	g_clear_pointer(&res, g_hash_table_unref);
	{
		g_autofree gchar *out = sh_ok(path, SECRET_CURL);
		g_assert_cmpstr(out, ==, "auth=" SECRET_VALUE ";key=None");
	}

	record = g_strdup_printf("%s/%s.json", env->state_dir, id);
	deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	while (!g_file_test(record, G_FILE_TEST_EXISTS)) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(50 * 1000);
	}
	g_assert_true(g_file_get_contents(record, &json, NULL, &error));
	g_assert_nonnull(strstr(json, "\"allow_net\""));

	g_subprocess_send_signal(env->daemon, SIGKILL);
	g_assert_true(g_subprocess_wait(env->daemon, NULL, NULL));
	g_clear_object(&env->daemon);
	g_assert_true(sbx_test_env_restart_daemon(env, &error));
	g_assert_no_error(error);

	g_clear_pointer(&res, g_hash_table_unref);
	res = guest_probe(path, specs);
	assert_open(res, specs[0], "tcp-lan");
	assert_closed(res, specs[1]);
	/* the new daemon's new proxy was told the names again */
	g_clear_pointer(&res, g_hash_table_unref);
	res = guest_fetch(path, fetches);
	assert_result(res, fetches[0], ALLOWED_HTTP);
	assert_failed(res, fetches[1]);
	/* and its secrets, from the kernel keyring */
	{
		g_autofree gchar *out = sh_ok(path, SECRET_CURL);
		g_assert_cmpstr(out, ==, "auth=" SECRET_VALUE ";key=None");
	}
	ASSERT_OK(sbx_test_kill(NULL, path, &error));
}

/* sandboxctl run --allow-net A,B / --no-network reach the daemon's policy */
static void
test_cli(void)
{
	g_autoptr(GError) error = NULL;
	const gchar *py = "import socket\n"
			  "for h in ('" LAN_HOST "', '" INET_HOST "'):\n"
			  "    try:\n"
			  "        s = socket.create_connection((h, " SERVER_PORT "), timeout=4)\n"
			  "        print(h, s.recv(64).decode())\n"
			  "    except OSError:\n"
			  "        print(h, 'closed')\n";
	const gchar *allow_args[] = {"run",
				     "--image",
				     "debian",
				     "--allow-net",
				     "192.0.2.99,  " LAN_HOST ":" SERVER_PORT,
				     "--allow-net",
				     "example.com",
				     "--",
				     "python3",
				     "-c",
				     py,
				     NULL};
	const gchar *none_args[] = {"run", "--image", "debian", "--no-network",
				    "--",  "sh",      "-c",	"ip -o -4 route show; echo end",
				    NULL};
	const gchar *both_args[] = {"run",	    "--image",	   "debian",
				    "--no-network", "--allow-net", "x.test",
				    "--",	    "true",	   NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint code = -1;

	ASSERT_OK(sbx_test_cli(allow_args, NULL, &code, &out, &err, &error));
	g_assert_cmpint(code, ==, 0);
	g_assert_cmpstr(out, ==, LAN_HOST " tcp-lan\n" INET_HOST " closed\n");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	ASSERT_OK(sbx_test_cli(none_args, NULL, &code, &out, &err, &error));
	g_assert_cmpint(code, ==, 0);
	g_assert_cmpstr(out, ==, "end\n");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	ASSERT_OK(sbx_test_cli(both_args, NULL, &code, &out, &err, &error));
	g_assert_cmpint(code, !=, 0);
	g_assert_nonnull(strstr(err, "--no-network"));
}

/* the daemon's table exists while it runs, with the bridge's rules */
static void
test_table(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *table = g_strdup_printf("sbxtest_%d", (int)getpid());
	g_autofree gchar *out = host_run(&error, "nft", "list", "table", "inet", table, NULL);

	g_assert_no_error(error);
	g_assert_nonnull(strstr(out, "iifname \"sbxbr0\" jump guest_to_host"));
	g_assert_nonnull(strstr(out, "169.254.0.0/16"));
}

/* a stopped daemon leaves no table behind */
static void
test_daemon_stop_removes_table(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *table = g_strdup_printf("sbxtest_%d", (int)getpid());
	g_autofree gchar *out = NULL;
	g_autofree gchar *tables = NULL;

	g_clear_pointer(&sbx_a, g_free);
	g_clear_pointer(&sbx_b, g_free);
	g_assert_cmpint(sbx_test_env_stop_daemon(env, 120000), ==, 0);
	tables = host_run(&error, "nft", "list", "tables", NULL);
	g_assert_no_error(error);
	g_assert_null(strstr(tables, table));
	/* other tables (ours here) are untouched */
	g_assert_nonnull(strstr(tables, count_table));
	out = host_run(&error, "nft", "list", "table", "inet", count_table, NULL);
	g_assert_no_error(error);
}

static gboolean
write_dropin(const gchar *tmpdir, GError **error)
{
	g_autofree gchar *dir = g_build_filename(tmpdir, "config", "sandboxd.conf.d", NULL);
	g_autofree gchar *path = g_build_filename(dir, "50-netpol.conf", NULL);
	g_autofree gchar *cmdline_file = g_build_filename(debian_dir, "cmdline", NULL);
	g_autofree gchar *base = g_build_filename(debian_dir, "debian.qcow2", NULL);
	g_autofree gchar *kernel = g_build_filename(debian_dir, "vmlinuz", NULL);
	g_autofree gchar *vmlinux = g_build_filename(debian_dir, "vmlinux", NULL);
	g_autofree gchar *initrd = g_build_filename(debian_dir, "initrd.img", NULL);
	g_autofree gchar *cmdline = NULL;
	g_autofree gchar *conf = NULL;

	if (!g_file_test(base, G_FILE_TEST_IS_REGULAR) ||
	    !g_file_get_contents(cmdline_file, &cmdline, NULL, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no debian image in %s (build it: meson compile -C BUILDDIR "
			    "image-debian)",
			    debian_dir);
		return FALSE;
	}
	/* the proxy just built (on the free ports the harness picked: never
	 * ports derived from our pid, which something may hold), resolving the
	 * test zone from a table (tests only: no DNS knows it) */
	conf = g_strdup_printf("# written by the netpol tests\n"
			       "[image debian]\nKernel=%s\nInitrd=%s\nCmdline=%s\nRootDisk=%s\n"
			       "[network]\nEgressProgram=%s\n"
			       "EgressResolve=" ALLOWED_NAME "=" INET_HOST " " BLOCKED_NAME
			       "=" BLOCKED_IP "\n"
			       "EgressUpstreamCA=%s/test-ca.crt\n",
			       g_file_test(vmlinux, G_FILE_TEST_EXISTS) ? vmlinux : kernel, initrd,
			       g_strstrip(cmdline), base, g_getenv("SBX_TEST_EGRESS"), tmpdir);
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create %s", dir);
		return FALSE;
	}
	return g_file_set_contents(path, conf, -1, error);
}

/* counters in a table of the test's own: what reaches the host's IP stack from
 * the sandbox bridge, before any filter */
static gboolean
make_counters(GError **error)
{
	g_autofree gchar *script = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree gchar *err = NULL;

	count_table = g_strdup_printf("sbxnpt_%d", (int)getpid());
	sbx_supervisor_record_nft_table(tmpdir_path, count_table);
	script = g_strdup_printf(
	    "table inet %s {\n"
	    "  counter spoofed_ip {}\n  counter spoofed_mac {}\n  counter ipv6_from_guests {}\n"
	    "  counter from_a {}\n"
	    "  set guest_macs { type ether_addr; }\n"
	    "  chain pre {\n"
	    "    type filter hook prerouting priority raw - 10; policy accept;\n"
	    "    iifname \"sbxbr0\" ip saddr " SPOOF_IP " counter name spoofed_ip\n"
	    "    iifname \"sbxbr0\" ether saddr " SPOOF_MAC " counter name spoofed_mac\n"
	    "    iifname \"sbxbr0\" ether saddr @guest_macs meta nfproto ipv6 counter name "
	    "ipv6_from_guests\n"
	    "    iifname \"sbxbr0\" ip daddr " INET_HOST " counter name from_a\n"
	    "  }\n"
	    "}\n",
	    count_table);
	proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
				error, "nft", "-f", "-", NULL);
	if (proc == NULL || !g_subprocess_communicate_utf8(proc, script, NULL, NULL, &err, error))
		return FALSE;
	if (g_subprocess_get_exit_status(proc) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "nft: %s", err);
		return FALSE;
	}
	return TRUE;
}

/* a test CA and a certificate for the test zone; the web servers on the
 * internet host, also reachable at BLOCKED_IP; a UDP "resolver" on its port 53 */
static gboolean
make_web_host(GError **error)
{
	g_autofree gchar *sh = g_strdup_printf(
	    "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out test-ca.crt "
	    "-days 2 -subj /CN=sandboxd-test-ca 2>/dev/null && "
	    "openssl req -newkey rsa:2048 -nodes -keyout web.key -out web.csr "
	    "-subj /CN=" ALLOWED_NAME " 2>/dev/null && "
	    "printf 'subjectAltName=DNS:" ALLOWED_NAME ",DNS:" BLOCKED_NAME "\\n' > web.ext && "
	    "openssl x509 -req -in web.csr -CA test-ca.crt -CAkey ca.key -CAcreateserial "
	    "-out web.crt -days 2 -extfile web.ext 2>/dev/null",
	    tmpdir_path);
	g_autofree gchar *web = g_build_filename(tmpdir_path, "web.py", NULL);
	g_autofree gchar *server = g_build_filename(tmpdir_path, "server.py", NULL);
	g_autofree gchar *crt = g_build_filename(tmpdir_path, "web.crt", NULL);
	g_autofree gchar *key = g_build_filename(tmpdir_path, "web.key", NULL);
	g_autofree gchar *out = NULL;
	const gchar *web_argv[] = {"nsenter", "-t", inet_pid, "-n", "python3", web, crt, key, NULL};
	const gchar *dns_argv[] = {"nsenter", "-t",  inet_pid, "-n", "python3",
				   server,    "dns", "53",     NULL};
	g_autoptr(GSubprocess) web_srv = NULL;
	g_autoptr(GSubprocess) dns_srv = NULL;

	if (!g_file_set_contents(web, web_py, -1, error) ||
	    (out = host_run(error, "sh", "-c", sh, NULL)) == NULL)
		return FALSE;
	g_clear_pointer(&out, g_free);
	if ((out = host_run(error, "nsenter", "-t", inet_pid, "-n", "ip", "addr", "add",
			    BLOCKED_IP "/32", "dev", "lo", NULL)) == NULL)
		return FALSE;
	g_clear_pointer(&out, g_free);
	if ((out = host_run(error, "ip", "route", "add", BLOCKED_IP "/32", "via", INET_HOST,
			    NULL)) == NULL)
		return FALSE;
	web_srv = host_spawn(error, web_argv);
	if (web_srv == NULL)
		return FALSE;
	dns_srv = host_spawn(error, dns_argv);
	return dns_srv != NULL;
}

static gboolean
setup_hosts(GError **error)
{
	const gchar *md[] = {METADATA_HOST, NULL};
	g_autofree gchar *server = g_build_filename(tmpdir_path, "server.py", NULL);
	g_autofree gchar *route = NULL;
	g_auto(GStrv) f = NULL;

	probe_path = g_build_filename(tmpdir_path, "probe.py", NULL);
	if (!g_file_set_contents(server, server_py, -1, error) ||
	    !g_file_set_contents(probe_path, probe_py, -1, error))
		return FALSE;
	route = host_run(error, "ip", "-o", "-4", "route", "get", "192.0.2.200", NULL);
	if (route == NULL)
		return FALSE;
	/* "... src A.B.C.D ...": the host's address on its way out */
	f = g_strsplit_set(route, " \n", -1);
	for (guint i = 0; f[i] != NULL; i++) {
		if (g_strcmp0(f[i], "src") == 0 && f[i + 1] != NULL)
			host_ip = g_strdup(f[i + 1]);
	}
	if (host_ip == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "no host address in '%s'", route);
		return FALSE;
	}
	/* a server on every address of the host (its own namespace), on a port
	 * free now */
	host_port = g_strdup_printf("%u", sbx_test_pick_free_port());
	{
		const gchar *argv[] = {"python3", server, "host", host_port, NULL};
		g_autoptr(GSubprocess) srv = host_spawn(error, argv);
		if (srv == NULL)
			return FALSE;
	}
	if (!make_test_host("inet", INET_GW, INET_HOST, NULL, error) ||
	    !make_test_host("lan", LAN_GW, LAN_HOST, md, error) || !make_web_host(error))
		return FALSE;
	return make_counters(error);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tmpdir = NULL;
	SbxTestEnv *env = sbx_test_env_get();
	const gchar *tools[] = {"nft",	   "ip",      "bridge",	 "unshare",
				"nsenter", "python3", "openssl", NULL};
	int rc;

	debian_dir = g_getenv("SBX_TEST_DEBIAN_IMAGE_DIR");
	if (debian_dir == NULL) {
		g_printerr("SBX_TEST_DEBIAN_IMAGE_DIR is not set\n");
		return 1;
	}
	if (getuid() != 0) {
		g_printerr("skipping: the network tests need root (netns, nftables, libvirt)\n");
		return 77;
	}
	for (guint i = 0; tools[i] != NULL; i++) {
		g_autofree gchar *p = g_find_program_in_path(tools[i]);
		if (p == NULL) {
			g_printerr("%s is missing (scripts/common.sh installs it)\n", tools[i]);
			return 1;
		}
	}
	tmpdir = g_dir_make_tmp("sbx-netpol-XXXXXX", &error);
	if (tmpdir == NULL) {
		g_printerr("%s\n", error->message);
		return 1;
	}
	tmpdir_path = tmpdir;
	sbx_supervisor_fork(tmpdir);

	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!sbx_test_backend_probe(&error)) {
		g_printerr("skipping: %s\n", error->message);
		return 77;
	}
	if (!write_dropin(tmpdir, &error) || !setup_hosts(&error)) {
		g_printerr("%s\n", error->message);
		return 1;
	}
	if (!sbx_test_env_start(env, tmpdir, &error)) {
		g_printerr("cannot start the test environment: %s\n", error->message);
		sbx_test_env_stop(env);
		return 1;
	}
	setup_sandboxes();

	g_test_add_func("/netpol/table", test_table);
	g_test_add_func("/netpol/controls", test_servers_answer);
	g_test_add_func("/netpol/internet", test_internet);
	g_test_add_func("/netpol/guest-to-guest", test_guest_to_guest);
	g_test_add_func("/netpol/host", test_host_closed);
	g_test_add_func("/netpol/private-ranges", test_private_ranges_closed);
	g_test_add_func("/netpol/spoofing", test_spoofing);
	g_test_add_func("/netpol/allow-net-address", test_allow_net_address);
	g_test_add_func("/netpol/allow-net-names", test_allow_net_names);
	g_test_add_func("/netpol/allow-net-empty", test_allow_net_empty);
	g_test_add_func("/netpol/allow-net-invalid", test_allow_net_invalid);
	g_test_add_func("/netpol/secrets", test_secrets);
	g_test_add_func("/netpol/secrets-open", test_secrets_open);
	g_test_add_func("/netpol/cli", test_cli);
	g_test_add_func("/netpol/restart-keeps-policy", test_restart_keeps_policy);
	/* last: it stops the daemon */
	g_test_add_func("/netpol/daemon-stop", test_daemon_stop_removes_table);
	rc = g_test_run();

	sbx_test_env_stop(env);
	return rc;
}
