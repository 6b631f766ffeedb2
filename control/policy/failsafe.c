/*
 * failsafe.c - failsafe ports: the host ports that stay open whatever the
 * policy says, so a bad policy cannot lock the operator out
 * (docs/semantics.md §8). Felix's defaults, its string syntax (as in the
 * FELIX_FAILSAFE* variables and nfqwall's flags) and the list form of a
 * FelixConfiguration spec. Which list applies is decided in
 * control/compile/hostenv.c. Control thread only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decode.h"

static const struct failsafe default_in[] = {
	{ IPPROTO_TCP, 22, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_UDP, 68, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 179, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 2379, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 2380, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 5473, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 6443, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 6666, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 6667, false, { { 0, 0 }, 0, 0 } },
};

static const struct failsafe default_out[] = {
	{ IPPROTO_UDP, 53, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_UDP, 67, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 179, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 2379, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 2380, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 5473, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 6443, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 6666, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 6667, false, { { 0, 0 }, 0, 0 } },
};

void
failsafe_list_free(struct failsafe_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
	l->set = false;
}

int
failsafe_defaults(struct failsafe_list *out, bool in)
{
	const struct failsafe *src = in ? default_in : default_out;
	size_t n = in ? ARRAY_SIZE(default_in) : ARRAY_SIZE(default_out);

	memset(out, 0, sizeof(*out));
	out->v = malloc(n * sizeof(*out->v));
	if (out->v == NULL)
		return -ENOMEM;
	memcpy(out->v, src, n * sizeof(*out->v));
	out->n = n;
	out->set = true;
	return 0;
}

/* Append @f to @l: 0 or -ENOMEM (@l unchanged). */
static int
failsafe_push(struct failsafe_list *l, const struct failsafe *f)
{
	struct failsafe *grown = realloc(l->v, (l->n + 1) * sizeof(*grown));

	if (grown == NULL)
		return -ENOMEM;
	l->v = grown;
	l->v[l->n++] = *f;
	return 0;
}

/* One "proto:port", "port", "proto:cidr:port" or "proto:[v6cidr]:port" entry. */
static int
failsafe_parse_one(char *tok, struct failsafe *f, char *why, size_t whylen)
{
	char *parts[3];
	int n = 0;
	char *p = tok;
	uint32_t port;

	memset(f, 0, sizeof(*f));
	f->proto = IPPROTO_TCP;
	/* split on ':' outside brackets */
	parts[n++] = p;
	for (int depth = 0; *p; p++) {
		if (*p == '[')
			depth++;
		else if (*p == ']')
			depth--;
		else if (*p == ':' && depth == 0) {
			if (n == 3) {
				snprintf(why, whylen, "\"%s\": too many ':'", tok);
				return -EINVAL;
			}
			*p = '\0';
			parts[n++] = p + 1;
		}
	}
	if (n >= 2) {
		if (strcasecmp(parts[0], "tcp") == 0)
			f->proto = IPPROTO_TCP;
		else if (strcasecmp(parts[0], "udp") == 0)
			f->proto = IPPROTO_UDP;
		else {
			snprintf(why, whylen, "\"%s\": protocol must be tcp or udp", parts[0]);
			return -EINVAL;
		}
	}
	if (n == 3) {
		char *net = parts[1];
		size_t l = strlen(net);

		if (net[0] == '[' && l > 2 && net[l - 1] == ']') {
			net[l - 1] = '\0';
			net++;
		}
		if (cidr_parse(net, CIDR_LOOSE, &f->net) < 0) {
			snprintf(why, whylen, "\"%s\" is not a CIDR", net);
			return -EINVAL;
		}
		f->has_net = true;
	}
	if (!parse_u32(parts[n - 1], 65535, &port) || port == 0) {
		snprintf(why, whylen, "\"%s\" is not a port from 1 to 65535", parts[n - 1]);
		return -EINVAL;
	}
	f->port = (uint16_t)port;
	return 0;
}

int
failsafe_parse(const char *text, struct failsafe_list *out, char *why, size_t whylen)
{
	char *copy, *tok, *save = NULL;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (*text == '\0')
		return 0;		/* not set: defaults */
	out->set = true;
	if (strcmp(text, "none") == 0 || strcmp(text, "[]") == 0)
		return 0;
	copy = strdup(text);
	if (copy == NULL) {
		err = -ENOMEM;
		goto out;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct failsafe f;

		while (*tok == ' ')
			tok++;
		err = failsafe_parse_one(tok, &f, why, whylen);
		if (err == 0)
			err = failsafe_push(out, &f);
		if (err < 0)
			break;
	}
	free(copy);
out:
	if (err == -ENOMEM)
		snprintf(why, whylen, "out of memory");
	if (err < 0)
		failsafe_list_free(out);
	return err;
}

/* One {protocol, port, net} entry @it into @fs (errors go to the diagnostics). */
static void
decode_failsafe(struct dctx *c, const yaml_node_t *it, struct failsafe *fs)
{
	static const char *const known[] = { "protocol", "port", "net", NULL };
	yaml_node_t *f;
	uint32_t port;

	dfields(c, it, known);
	f = dget(c, it, "protocol");
	if (f != NULL) {
		const char *s = ydoc_str(f);

		if (s && (strcmp(s, "TCP") == 0 || strcmp(s, "tcp") == 0))
			fs->proto = IPPROTO_TCP;
		else if (s && (strcmp(s, "UDP") == 0 || strcmp(s, "udp") == 0))
			fs->proto = IPPROTO_UDP;
		else if (s && (strcmp(s, "SCTP") == 0 || strcmp(s, "sctp") == 0))
			fs->proto = IPPROTO_SCTP;
		else
			derr(c, f, "protocol must be TCP, UDP or SCTP");
	}
	/* port 0 is accepted, as Calico does; it matches only port 0 */
	f = dget(c, it, "port");
	if (f == NULL || !parse_u32(ydoc_str(f), 65535, &port))
		derr(c, f ? f : it, "port must be a number from 0 to 65535");
	else
		fs->port = (uint16_t)port;
	f = dget(c, it, "net");
	if (f != NULL) {
		const char *s = ydoc_str(f);

		if (s == NULL || cidr_parse(s, CIDR_LOOSE, &fs->net) < 0)
			derr(c, f, "net must be a CIDR");
		else
			fs->has_net = true;
	}
}

void
decode_failsafe_list(struct dctx *c, const yaml_node_t *n, struct failsafe_list *l)
{
	size_t old = c->plen;

	if (!dseq(c, n, "a failsafe port list"))
		return;
	l->set = true;
	for (size_t i = 0; i < ydoc_len(n); i++) {
		yaml_node_t *it = ydoc_item(c->y, n, i);
		struct failsafe fs = { .proto = IPPROTO_TCP };

		dpath_push(c, "[%zu]", i);
		if (!dmap(c, it, "a failsafe entry")) {
			dpath_pop(c, old);
			continue;
		}
		decode_failsafe(c, it, &fs);
		dpath_pop(c, old);
		if (failsafe_push(l, &fs) < 0) {
			dnomem(c);
			return;
		}
	}
}
