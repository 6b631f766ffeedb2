/*
 * hostendpoint.c - decoding HostEndpoint objects: node, interface or
 * expected IPs, profiles and named ports (docs/semantics.md §3). Which
 * endpoint governs an interface is decided later, in control/compile/
 * hostenv.c. Control thread only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "decode.h"

void
hep_free(struct hep *h)
{
	if (h == NULL)
		return;
	hep_release(h);
	free(h);
}

static bool
valid_iface_name(const char *s)
{
	size_t n = strlen(s);

	if (strcmp(s, "*") == 0)
		return true;
	if (n == 0 || n > 15)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
			return false;
	return true;
}

bool
valid_port_name(const char *s)
{
	size_t n = strlen(s);
	bool letter = false;

	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (const char *p = s; *p; p++) {
		if (*p >= 'a' && *p <= 'z')
			letter = true;
		else if (!((*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	}
	return letter;
}

/* spec.node and spec.interfaceName; the field path is "spec" on entry and exit. */
static void
hep_decode_where(struct dctx *c, const yaml_node_t *spec, struct hep *h)
{
	yaml_node_t *n = dget(c, spec, "node");
	size_t old = c->plen;

	dpath_push(c, ".node");
	if (n == NULL)
		derr(c, spec, "node is required (the name of the node this endpoint is on)");
	else if (dstr(c, n, "node") && !k8s_dns_subdomain(ydoc_str(n)))
		derr(c, n, "\"%.80s\" is not a node name (lowercase letters, digits, '-' and '.')",
		     ydoc_str(n));
	else if (ydoc_str(n))
		h->node = dstrdup(c, ydoc_str(n));
	dpath_pop(c, old);

	n = dget(c, spec, "interfaceName");
	dpath_push(c, ".interfaceName");
	if (n != NULL && dstr(c, n, "interfaceName")) {
		if (*ydoc_str(n) != '\0' && !valid_iface_name(ydoc_str(n)))
			derr(c, n, "\"%s\" is not an interface name (\"*\", or at most 15 of "
				   "letters, digits, '_', '.', '-')", ydoc_str(n));
		h->iface = dstrdup(c, ydoc_str(n));
	}
	dpath_pop(c, old);
}

static void
hep_decode_ips(struct dctx *c, const yaml_node_t *n, struct hep *h)
{
	size_t old = c->plen;

	h->ips = dcalloc(c, ydoc_len(n), sizeof(*h->ips));
	if (h->ips == NULL)
		return;
	for (size_t i = 0; i < ydoc_len(n); i++) {
		yaml_node_t *it = ydoc_item(c->y, n, i);
		const char *s;

		dpath_push(c, ".expectedIPs[%zu]", i);
		s = dstr(c, it, "an expected IP");
		if (s && cidr_parse(s, CIDR_STRICT, &h->ips[h->nips]) != -ENOENT)
			derr(c, it, "\"%s\" is not an IP address", s);
		else if (s) {
			h->ips[h->nips].plen = (uint8_t)addr_bits(h->ips[h->nips].family);
			h->nips++;
		}
		dpath_pop(c, old);
	}
}

static void
hep_decode_profiles(struct dctx *c, const yaml_node_t *n, struct hep *h)
{
	size_t old = c->plen;

	h->profiles = dcalloc(c, ydoc_len(n), sizeof(char *));
	if (h->profiles == NULL)
		return;
	for (size_t i = 0; i < ydoc_len(n); i++) {
		const char *s;

		dpath_push(c, ".profiles[%zu]", i);
		s = dstr(c, ydoc_item(c->y, n, i), "a profile name");
		if (s && !k8s_dns_subdomain(s))
			derr(c, ydoc_item(c->y, n, i), "\"%.80s\" is not a profile name (lowercase "
			     "letters, digits, '-' and '.')", s);
		else if (s && (h->profiles[h->nprofiles] = dstrdup(c, s)) != NULL)
			h->nprofiles++;
		dpath_pop(c, old);
	}
}

/* One spec.ports entry {name, protocol, port} into @np; true when it is valid. */
static bool
hep_decode_port(struct dctx *c, const yaml_node_t *it, struct named_port *np)
{
	static const char *const known[] = { "name", "protocol", "port", NULL };
	bool lower = false;
	yaml_node_t *f;
	uint32_t port;

	if (!dmap(c, it, "a port"))
		return false;
	dfields(c, it, known);
	f = dget(c, it, "name");
	if (f == NULL || !ydoc_str(f) || !valid_port_name(ydoc_str(f)))
		derr(c, f ? f : it, "name must be a port name (at most 15 lowercase "
				    "letters, digits and '-')");
	f = dget(c, it, "protocol");
	np->proto = f && ydoc_str(f) ? proto_from_name(ydoc_str(f), &lower) : 0;
	if (np->proto != IPPROTO_TCP && np->proto != IPPROTO_UDP && np->proto != IPPROTO_SCTP)
		derr(c, f ? f : it, "protocol must be TCP, UDP or SCTP");
	f = dget(c, it, "port");
	if (f == NULL || !parse_u32(ydoc_str(f), 65535, &port) || port == 0)
		derr(c, f ? f : it, "port must be a number from 1 to 65535");
	else
		np->port = (uint16_t)port;
	if (dfailed(c))
		return false;
	np->name = dstrdup(c, ydoc_str(dget(c, it, "name")));
	return np->name != NULL;
}

static void
hep_decode_ports(struct dctx *c, const yaml_node_t *n, struct hep *h)
{
	size_t old = c->plen;

	h->ports = dcalloc(c, ydoc_len(n), sizeof(*h->ports));
	if (h->ports == NULL)
		return;
	for (size_t i = 0; i < ydoc_len(n); i++) {
		dpath_push(c, ".ports[%zu]", i);
		if (hep_decode_port(c, ydoc_item(c->y, n, i), &h->ports[h->nports]))
			h->nports++;
		dpath_pop(c, old);
	}
}

void
decode_hep(struct dctx *c, const yaml_node_t *obj, struct meta *m)
{
	static const char *const known[] = {
		"node", "interfaceName", "expectedIPs", "profiles", "ports", NULL,
	};
	yaml_node_t *spec = dget(c, obj, "spec"), *n;
	struct hep *h = dcalloc(c, 1, sizeof(*h));

	if (h == NULL)
		return;
	h->name = m->name;
	m->name = NULL;
	h->labels = m->labels;
	labels_init(&m->labels);
	h->loc = (struct srcloc){ c->file, ydoc_line(obj), ydoc_col(obj) };
	dpath_push(c, "spec");
	if (!dmap(c, spec, "spec"))
		goto out;
	dfields(c, spec, known);
	hep_decode_where(c, spec, h);
	n = dget(c, spec, "expectedIPs");
	if (n != NULL && dseq(c, n, "expectedIPs"))
		hep_decode_ips(c, n, h);
	if ((h->iface == NULL || *h->iface == '\0') && h->nips == 0)
		derr(c, spec, "interfaceName or expectedIPs is required");
	n = dget(c, spec, "profiles");
	if (n != NULL && dseq(c, n, "profiles"))
		hep_decode_profiles(c, n, h);
	n = dget(c, spec, "ports");
	if (n != NULL && dseq(c, n, "ports"))
		hep_decode_ports(c, n, h);
out:
	dpath_pop(c, 0);
	if (dfailed(c)) {
		hep_free(h);
		return;
	}
	polset_add(c, OBJ_HEP, h);
}
