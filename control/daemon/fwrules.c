/*
 * fwrules.c - rendering, installing and removing nfqwall's netfilter rules.
 *
 * Each nfqwall chain runs, in order: the connmark fast path and returning
 * verdicts (fastpath.c: a flow judged by the current table is accepted; a
 * verdict coming back with NF_REPEAT and the V bit has its generation saved
 * into the connmark), failsafe accepts, RELATED accept and INVALID drop,
 * conntrack state and direction into packet-mark bits (fastpath.c), and
 * NFQUEUE. This file lays out the chains and tables and runs
 * iptables-restore / iptables-save. Control thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fastpath.h"
#include "fwrules.h"
#include "hostenv.h"

extern char **environ;

/* A tool (iptables-save, iptables-restore, nft) runs at most this long and writes at most
 * this much: past either it is killed and the call fails. */
#define TOOL_TIMEOUT_NS		(30 * 1000000000ull)
#define TOOL_OUT_MAX		((size_t)256 << 20)

struct fwchain {
	const char *table;
	const char *builtin;
	const char *name;
};

static const struct fwchain chains[] = {
	{ "raw", "PREROUTING", "NFQWALL-RAW-PRE" },
	{ "raw", "OUTPUT", "NFQWALL-RAW-OUT" },
	{ "raw", NULL, "NFQWALL-RAW-CONT" },
	{ "mangle", "PREROUTING", "NFQWALL-PREROUTING" },
	{ "filter", "INPUT", "NFQWALL-INPUT" },
	{ "filter", "OUTPUT", "NFQWALL-OUTPUT" },
	{ "filter", "FORWARD", "NFQWALL-FORWARD" },
	{ "filter", NULL, "NFQWALL-FAILSAFE" },
	{ "filter", NULL, "NFQWALL-ACCEPT" },
	{ "filter", NULL, "NFQWALL-CARRY0" },
	{ "filter", NULL, "NFQWALL-CARRY1" },
	{ "filter", NULL, "NFQWALL-CARRY2" },
	{ "filter", NULL, "NFQWALL-CARRY3" },
};

static const char *const tables[] = { "raw", "mangle", "filter" };

/* ---- rendering ---------------------------------------------------------------- */

static bool emit_remove_table(FILE *f, const char *table, const char *saved);

static void
emit_queue(const struct fw_config *c, const char *chain, FILE *out)
{
	if (c->queue_count > 1)
		fprintf(out, "-A %s -j NFQUEUE --queue-balance %u:%u%s%s\n", chain, c->queue_first,
			c->queue_first + c->queue_count - 1, c->fail_open ? " --queue-bypass" : "",
			c->cpu_fanout ? " --queue-cpu-fanout" : "");
	else
		fprintf(out, "-A %s -j NFQUEUE --queue-num %u%s\n", chain, c->queue_first,
			c->fail_open ? " --queue-bypass" : "");
}

/* Failsafe accepts: inbound match the destination port (and source net),
 * outbound the destination port (and destination net). */
static void
emit_failsafes(const struct failsafe_list *l, int family, const char *chain, bool inbound,
	       bool reply, FILE *out)
{
	/* in filter, a failsafe flow is marked so its replies pass in the kernel too */
	const char *target = strncmp(chain, "NFQWALL-RAW", 11) == 0 ||
			     strcmp(chain, "NFQWALL-PREROUTING") == 0 ? "ACCEPT" : "NFQWALL-FAILSAFE";

	for (size_t i = 0; i < l->n; i++) {
		const struct failsafe *f = &l->v[i];
		const char *p = f->proto == IPPROTO_UDP ? "udp" :
				f->proto == IPPROTO_SCTP ? "sctp" : "tcp";
		char net[CIDR_STRLEN];

		if (f->has_net && f->net.family != family)
			continue;
		fprintf(out, "-A %s -p %s -m %s --%s %u", chain, p, p, reply ? "sport" : "dport",
			f->port);
		if (f->has_net)
			fprintf(out, " %s %s", inbound ? "-s" : "-d", cidr_format(&f->net, net));
		fprintf(out, " -j %s\n", target);
	}
}

/*
 * nfqwall's own port: TCP between loopback addresses to (or, @reply, from)
 * the listening address and port. @io is 'i' (-i lo) or 'o' (-o lo).
 */
static void
emit_self(const struct fw_config *c, int family, const char *chain, char io, bool reply,
	  const char *target, FILE *out)
{
	const char *lo = family == AF_INET ? "127.0.0.0/8" : "::1/128";

	for (size_t i = 0; c->self != NULL && i < c->self->n; i++) {
		const struct failsafe *f = &c->self->v[i];
		char net[CIDR_STRLEN];

		if (f->net.family != family)
			continue;
		cidr_format(&f->net, net);
		fprintf(out, "-A %s -%c lo -s %s -d %s -p tcp -m tcp --%s %u -j %s\n", chain, io,
			reply ? net : lo, reply ? lo : net, reply ? "sport" : "dport", f->port,
			target);
	}
}

/* The daemon's own sockets: exactly P under the mask (kube_config.sock_mark). */
static void
emit_sockmark(const struct fw_config *c, const char *chain, const char *target, FILE *out)
{
	fprintf(out, "-A %s -m mark --mark 0x%x/0x%x -j %s\n", chain, c->ml.prednat, c->ml.mask,
		target);
}

/* A kernel interface name we may write into a rule. */
static bool
safe_ifname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 15)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-' || *p == '@'))
			return false;
	return true;
}

/* INVALID drop on the interfaces a host endpoint claims (-i, -o or both). */
static void
emit_invalid(const struct fw_config *c, const char *chain, const char *dirs, FILE *out)
{
	for (const char *d = dirs; *d; d++) {
		if (c->claimed_all) {
			fprintf(out, "-A %s ! -%c %s+ -m conntrack --ctstate INVALID -j DROP\n", chain,
				*d, WORKLOAD_IFACE_PREFIX);
			continue;
		}
		for (size_t i = 0; i < c->nclaimed; i++)
			if (safe_ifname(c->claimed[i]))
				fprintf(out, "-A %s -%c %s -m conntrack --ctstate INVALID -j DROP\n",
					chain, *d, c->claimed[i]);
	}
}

static void
emit_tail(const struct fw_config *c, const char *chain, bool prerouting, FILE *out)
{
	fprintf(out, "-A %s -m conntrack --ctstate RELATED -j %s\n", chain,
		fastpath_accept_target(chain));
	if (prerouting) {
		/* replies are judged at INPUT or FORWARD */
		fprintf(out, "-A %s -m conntrack --ctdir REPLY -j ACCEPT\n", chain);
	} else if (c->invalid_drop) {
		emit_invalid(c, chain, strcmp(chain, "NFQWALL-INPUT") == 0 ? "i" :
				       strcmp(chain, "NFQWALL-OUTPUT") == 0 ? "o" : "io", out);
	}
	if (!c->rejudge)
		fprintf(out, "-A %s -m conntrack --ctstate ESTABLISHED -j %s\n", chain,
			fastpath_accept_target(chain));
	fastpath_ct_marks(c, chain, out);
	emit_queue(c, chain, out);
}

static void
render_raw(const struct fw_config *c, int family, FILE *out)
{
	const struct mark_layout *m = &c->ml;
	const char *names[2] = { "NFQWALL-RAW-PRE", "NFQWALL-RAW-OUT" };

	fprintf(out, "-A NFQWALL-RAW-CONT -j MARK --set-xmark 0x0/0x%x\n", m->raw | m->prednat);
	fprintf(out, "-A NFQWALL-RAW-CONT -j ACCEPT\n");
	if (!c->untracked)
		return;
	for (int i = 0; i < 2; i++) {
		const char *ch = names[i];
		bool in = i == 0;

		fprintf(out, "-A %s -m mark --mark 0x%x/0x%x -j CT --notrack\n", ch,
			m->raw | m->verdict, m->raw | m->verdict);
		fprintf(out, "-A %s -m mark --mark 0x%x/0x%x -j ACCEPT\n", ch, m->raw | m->verdict,
			m->raw | m->verdict);
		fprintf(out, "-A %s -m mark --mark 0x%x/0x%x -j NFQWALL-RAW-CONT\n", ch,
			m->raw | m->prednat, m->raw | m->prednat);
		emit_self(c, family, ch, in ? 'i' : 'o', false, "ACCEPT", out);
		emit_self(c, family, ch, in ? 'i' : 'o', true, "ACCEPT", out);
		if (!in && c->self_sockmark)
			emit_sockmark(c, ch, "ACCEPT", out);
		emit_failsafes(in ? c->fs_in : c->fs_out, family, ch, in, false, out);
		/* replies of failsafe flows (felix PR #1718) */
		emit_failsafes(in ? c->fs_out : c->fs_in, family, ch, in, true, out);
		fprintf(out, "-A %s -j MARK --or-mark 0x%x\n", ch, m->raw);
		emit_queue(c, ch, out);
	}
}

/*
 * Before the first table (Kubernetes mode, no rules of an earlier daemon):
 * the daemon's marked API connections become failsafe flows, so they stay
 * up when the real rules arrive; every other packet passes as before.
 */
static void
render_bootstrap(const struct fw_config *c, FILE *out)
{
	const struct mark_layout *m = &c->ml;

	fastpath_accept_chain(c, out);
	fastpath_failsafe_chain(c, out);
	for (int i = 0; i < 2; i++) {
		const char *ch = i == 0 ? "NFQWALL-INPUT" : "NFQWALL-OUTPUT";

		fprintf(out, "-A %s -m connmark --mark 0x%x/0x%x -j NFQWALL-ACCEPT\n", ch,
			mark_gen(m, MARK_GEN_FAILSAFE), m->gen_mask);
	}
	emit_sockmark(c, "NFQWALL-OUTPUT", "NFQWALL-FAILSAFE", out);
}

/* raw and mangle are touched only when the policy needs them. */
static bool
table_wanted(const struct fw_config *c, const char *table)
{
	if (c->bootstrap)
		return strcmp(table, "filter") == 0;
	if (strcmp(table, "raw") == 0)
		return c->untracked;
	if (strcmp(table, "mangle") == 0)
		return c->prednat;
	return true;
}

void
fwrules_render(const struct fw_config *c, int family, FILE *out)
{
	fprintf(out, "# nfqwall generation %llu, %s\n", (unsigned long long)c->gen,
		family == AF_INET ? "IPv4" : "IPv6");
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++) {
		if (!table_wanted(c, tables[t]))
			continue;
		fprintf(out, "*%s\n", tables[t]);
		for (size_t i = 0; i < ARRAY_SIZE(chains); i++)
			if (strcmp(chains[i].table, tables[t]) == 0)
				fprintf(out, ":%s - [0:0]\n-F %s\n", chains[i].name, chains[i].name);
		if (strcmp(tables[t], "raw") == 0) {
			render_raw(c, family, out);
		} else if (strcmp(tables[t], "mangle") == 0) {
			const char *ch = "NFQWALL-PREROUTING";

			fastpath_prednat_head(c, ch, out);
			emit_self(c, family, ch, 'i', false, "ACCEPT", out);
			emit_failsafes(c->fs_in, family, ch, true, false, out);
			emit_tail(c, ch, true, out);
		} else if (strcmp(tables[t], "filter") == 0 && c->bootstrap) {
			render_bootstrap(c, out);
		} else if (strcmp(tables[t], "filter") == 0) {
			fastpath_accept_chain(c, out);
			fastpath_failsafe_chain(c, out);
			fastpath_carry_chain(c, family, out);
			fastpath_head(c, "NFQWALL-INPUT", out);
			if (c->prednat)	/* preDNAT allowed: final for host ingress */
				fastpath_prednat_final(c, "NFQWALL-INPUT", out);
			emit_self(c, family, "NFQWALL-INPUT", 'i', false, "NFQWALL-FAILSAFE", out);
			emit_failsafes(c->fs_in, family, "NFQWALL-INPUT", true, false, out);
			emit_tail(c, "NFQWALL-INPUT", false, out);
			fastpath_head(c, "NFQWALL-OUTPUT", out);
			emit_self(c, family, "NFQWALL-OUTPUT", 'o', false, "NFQWALL-FAILSAFE", out);
			if (c->self_sockmark)	/* the daemon's own API connections */
				emit_sockmark(c, "NFQWALL-OUTPUT", "NFQWALL-FAILSAFE", out);
			emit_failsafes(c->fs_out, family, "NFQWALL-OUTPUT", false, false, out);
			emit_tail(c, "NFQWALL-OUTPUT", false, out);
			if (c->forward) {
				fastpath_head(c, "NFQWALL-FORWARD", out);
				emit_tail(c, "NFQWALL-FORWARD", false, out);
			}
		}
		fprintf(out, "COMMIT\n");
	}
}

/* ---- running iptables-restore / iptables-save ---------------------------------------- */

int
fwrules_run_tool(const char *const argv[], const char *input, char **outp, char *why,
		 size_t whylen)
{
	int in[2], outfd[2], errfd[2], status;
	posix_spawn_file_actions_t fa;
	size_t olen = 0, elen = 0, ilen = input ? strlen(input) : 0, ioff = 0;
	char *obuf = NULL;
	bool nomem = false;
	pid_t pid;
	int err;

	if (why && whylen)
		why[0] = '\0';
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(outfd, O_CLOEXEC) < 0 || pipe2(errfd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, outfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errfd[1], 2);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(outfd[1]);
	close(errfd[1]);
	if (err != 0) {
		close(in[1]);
		close(outfd[0]);
		close(errfd[0]);
		snprintf(why, whylen, "cannot run %s: %s", argv[0], strerror(err));
		return -err;
	}
	if (ilen == 0) {
		close(in[1]);
		in[1] = -1;
	}
	int ofd = outfd[0], efd = errfd[0];
	uint64_t deadline = mono_ns() + TOOL_TIMEOUT_NS;
	int cut = 0;		/* -ETIMEDOUT or -EMSGSIZE: the tool was killed */

	while (ofd >= 0 || efd >= 0) {
		struct pollfd p[3] = {
			{ ofd, POLLIN, 0 }, { efd, POLLIN, 0 }, { in[1], POLLOUT, 0 },
		};
		uint64_t now = mono_ns();
		int n = now >= deadline ? 0 : poll(p, 3, (int)((deadline - now) / 1000000 + 1));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0 && mono_ns() >= deadline) {	/* a hung tool must not hang us */
			cut = -ETIMEDOUT;
			break;
		}
		if (in[1] >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(in[1], input + ioff, ilen - ioff);

			if (w > 0)
				ioff += (size_t)w;
			if (w < 0 || ioff == ilen) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			char tmp[4096];
			ssize_t r = read(ofd, tmp, sizeof(tmp));

			char *grown = r > 0 && !nomem && olen + (size_t)r <= TOOL_OUT_MAX ?
				      realloc(obuf, olen + (size_t)r + 1) : NULL;

			if (r > 0 && olen + (size_t)r > TOOL_OUT_MAX) {
				cut = -EMSGSIZE;
				break;
			}
			if (grown != NULL) {
				obuf = grown;
				memcpy(obuf + olen, tmp, (size_t)r);
				olen += (size_t)r;
				obuf[olen] = '\0';
			} else if (r > 0) {
				nomem = true;	/* keep draining: the tool must not block */
			} else if (r == 0 || errno != EINTR) {
				ofd = -1;	/* end of output */
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			char tmp[1024];
			ssize_t r = read(efd, tmp, sizeof(tmp));

			if (r > 0 && why && elen + 1 < whylen) {
				size_t take = (size_t)r < whylen - elen - 1 ? (size_t)r :
									  whylen - elen - 1;

				memcpy(why + elen, tmp, take);
				elen += take;
				why[elen] = '\0';
			} else if (r == 0 || (r < 0 && errno != EINTR)) {
				efd = -1;
			}
		}
	}
	if (cut != 0)
		kill(pid, SIGKILL);
	if (in[1] >= 0)
		close(in[1]);
	close(outfd[0]);
	close(errfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			free(obuf);
			return -errno;
		}
	if (cut != 0) {
		free(obuf);
		if (why && whylen)
			snprintf(why, whylen, "%s %s: killed", argv[0], cut == -ETIMEDOUT ?
				 "did not finish in 30 s" : "wrote more than 256 MiB");
		return cut;
	}
	if (nomem) {
		free(obuf);
		if (why && whylen)
			snprintf(why, whylen, "out of memory reading the output of %s", argv[0]);
		return -ENOMEM;
	}
	if (outp)
		*outp = obuf;
	else
		free(obuf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static char *
save_table(int family, const char *table)
{
	const char *argv[] = { family == AF_INET ? "iptables-save" : "ip6tables-save", "-t",
			       table, NULL };
	char *out = NULL, why[256];

	if (fwrules_run_tool(argv, NULL, &out, why, sizeof(why)) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* How many lines of @text are exactly @line. */
static unsigned
count_lines(const char *text, const char *line)
{
	size_t n = strlen(line);
	unsigned count = 0;

	for (const char *p = text; p && *p; ) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len == n && memcmp(p, line, n) == 0)
			count++;
		p = nl ? nl + 1 : NULL;
	}
	return count;
}

static int
restore(int family, const char *input, char *why, size_t whylen)
{
	const char *argv[] = { family == AF_INET ? "iptables-restore" : "ip6tables-restore",
			       "--noflush", "--wait", NULL };
	int rc = fwrules_run_tool(argv, input, NULL, why, whylen);

	return rc == 0 ? 0 : rc < 0 ? rc : -EIO;
}

/*
 * What the last install of a family left in the kernel, so that a reload
 * whose rules are the same as before costs no tool at all, and one whose
 * rules changed costs one iptables-restore, not three iptables-save calls
 * before it: the jumps and the tables not wanted are as that install left
 * them. Live rules are read again (and a missing jump put back) at least
 * every FW_REREAD_NS, when the tables wanted change, and after a failure.
 */
struct fw_last {
	char *text;			/* the chains last restored; NULL: none known */
	unsigned wanted;		/* their tables, a bit per tables[] */
	uint64_t read_ns;		/* when the live rules were last read */
};

#define FW_REREAD_NS	(60 * 1000000000ull)

static struct fw_last fw_last[2];	/* AF_INET, AF_INET6 */

static struct fw_last *
last_of(int family)
{
	return &fw_last[family == AF_INET6];
}

static void
last_forget(struct fw_last *l)
{
	free(l->text);
	*l = (struct fw_last){ 0 };
}

static unsigned
tables_wanted(const struct fw_config *c)
{
	unsigned m = 0;

	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		if (table_wanted(c, tables[t]))
			m |= 1u << t;
	return m;
}

/* After the chains in @f, the jumps to them that @saved lacks and the removal of
 * nfqwall's chains from the tables not in @wanted. */
static void
emit_jumps(unsigned wanted, char *const saved[], FILE *f)
{
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++) {
		if (!(wanted & (1u << t))) {
			if (saved[t] && strstr(saved[t], ":NFQWALL-")) {
				fprintf(f, "*%s\n", tables[t]);
				emit_remove_table(f, tables[t], saved[t]);
				fprintf(f, "COMMIT\n");
			}
			continue;
		}
		fprintf(f, "*%s\n", tables[t]);
		for (size_t i = 0; i < ARRAY_SIZE(chains); i++) {
			char line[128];

			if (strcmp(chains[i].table, tables[t]) != 0 || chains[i].builtin == NULL)
				continue;
			snprintf(line, sizeof(line), "-A %s -j %s", chains[i].builtin, chains[i].name);
			if (count_lines(saved[t], line) == 0)
				fprintf(f, "-I %s 1 -j %s\n", chains[i].builtin, chains[i].name);
		}
		fprintf(f, "COMMIT\n");
	}
}

/* The live rules of @family read, then emit_jumps for them into @f. */
static void
emit_live_jumps(int family, unsigned wanted, FILE *f)
{
	char *saved[ARRAY_SIZE(tables)];

	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		saved[t] = save_table(family, tables[t]);
	emit_jumps(wanted, saved, f);
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		free(saved[t]);
}

static int
install_family(const struct fw_config *c, int family, char *why, size_t whylen)
{
	struct fw_last *l = last_of(family);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	unsigned wanted = tables_wanted(c);
	uint64_t now = mono_ns();
	bool known = l->text != NULL && l->wanted == wanted && now - l->read_ns < FW_REREAD_NS;
	long chains_end;
	int err;

	if (f == NULL)
		return -ENOMEM;
	fwrules_render(c, family, f);
	if (fflush(f) != 0) {
		fclose(f);
		free(text);
		return -ENOMEM;
	}
	chains_end = (long)len;
	if (known && strcmp(l->text, text) == 0) {
		fclose(f);		/* what the kernel holds already */
		free(text);
		return 0;
	}
	if (!known)
		emit_live_jumps(family, wanted, f);
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	err = restore(family, text, why, whylen);
	if (err < 0) {
		last_forget(l);	/* unknown now: read the live rules next time */
		free(text);
		return err;
	}
	text[chains_end] = '\0';	/* only the chains: the jumps are in place */
	free(l->text);
	l->text = text;
	l->wanted = wanted;
	if (!known)
		l->read_ns = now;
	return 0;
}

/* The last rules of @family again, with the live rules read: a jump someone removed is
 * put back. 0 when there is nothing to do. */
static int
recheck_family(int family, char *why, size_t whylen)
{
	struct fw_last *l = last_of(family);
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	if (l->text == NULL || mono_ns() - l->read_ns < FW_REREAD_NS)
		return 0;
	f = open_memstream(&text, &len);
	if (f == NULL)
		return -ENOMEM;
	fputs(l->text, f);
	emit_live_jumps(family, l->wanted, f);
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	err = restore(family, text, why, whylen);
	free(text);
	if (err < 0)
		last_forget(l);
	else
		l->read_ns = mono_ns();
	return err;
}

int
fwrules_recheck(char *why, size_t whylen)
{
	int err = recheck_family(AF_INET, why, whylen);

	if (err == 0)
		err = recheck_family(AF_INET6, why, whylen);
	return err;
}

int
fwrules_install(const struct fw_config *c, char *why, size_t whylen)
{
	int err = install_family(c, AF_INET, why, whylen);

	if (err == 0)
		err = install_family(c, AF_INET6, why, whylen);
	return err;
}

/* Lines that remove nfqwall's jumps and chains from one table, per @saved. */
static bool
emit_remove_table(FILE *f, const char *table, const char *saved)
{
	bool any = false;

	for (size_t i = 0; i < ARRAY_SIZE(chains); i++) {
		char line[128];

		if (strcmp(chains[i].table, table) != 0 || chains[i].builtin == NULL)
			continue;
		snprintf(line, sizeof(line), "-A %s -j %s", chains[i].builtin, chains[i].name);
		/* every copy of the jump, should there be several */
		for (unsigned n = count_lines(saved, line); n > 0; n--) {
			fprintf(f, "-D %s -j %s\n", chains[i].builtin, chains[i].name);
			any = true;
		}
	}
	for (int pass = 0; pass < 2; pass++)	/* flush them all, then delete them */
		for (size_t i = 0; i < ARRAY_SIZE(chains); i++) {
			char decl[64];

			if (strcmp(chains[i].table, table) != 0)
				continue;
			snprintf(decl, sizeof(decl), ":%s ", chains[i].name);
			if (saved && strstr(saved, decl)) {
				fprintf(f, "-%c %s\n", pass ? 'X' : 'F', chains[i].name);
				any = true;
			}
		}
	return any;
}

static int
uninstall_family(int family, char *why, size_t whylen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	bool any = false;
	int err = 0;

	if (f == NULL)
		return -ENOMEM;
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++) {
		char *saved = save_table(family, tables[t]);

		if (saved && strstr(saved, ":NFQWALL-")) {
			fprintf(f, "*%s\n", tables[t]);
			any |= emit_remove_table(f, tables[t], saved);
			fprintf(f, "COMMIT\n");
		}
		free(saved);
	}
	fclose(f);
	if (any)
		err = restore(family, text, why, whylen);
	free(text);
	return err;
}

int
fwrules_uninstall(char *why, size_t whylen)
{
	int err;

	last_forget(last_of(AF_INET));
	last_forget(last_of(AF_INET6));
	err = uninstall_family(AF_INET, why, whylen);

	if (err == 0)
		err = uninstall_family(AF_INET6, why, whylen);
	return err;
}

bool
fwrules_any_installed(void)
{
	for (int f = 0; f < 2; f++)
		for (size_t t = 0; t < ARRAY_SIZE(tables); t++) {
			char *saved = save_table(f == 0 ? AF_INET : AF_INET6, tables[t]);
			bool any = saved == NULL || strstr(saved, ":NFQWALL-") != NULL;

			free(saved);
			if (any)	/* found, or unknown: as if found */
				return true;
		}
	return false;
}

unsigned
fwrules_installed_gen(const struct mark_layout *ml)
{
	char *saved = save_table(AF_INET, "filter");
	unsigned gen = fastpath_installed_gen(saved, ml);

	free(saved);
	return gen;
}
