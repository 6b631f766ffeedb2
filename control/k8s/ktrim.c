/*
 * ktrim.c - the digests the store keeps of Nodes, Namespaces,
 * ServiceAccounts and Pods (kube.h, kube_trim). A Node carries its images
 * and conditions and a Pod its whole spec: kilobytes each, of which rule
 * selectors need a name, the labels, a few addresses and the named ports.
 * The digest is compact JSON made of spans of the object's own text (its
 * strings stay as the API escaped them), so the store of a cluster of
 * 150,000 pods holds tens of megabytes, not gigabytes. Reflector threads.
 *
 * The digests (docs/architecture.md, "The Kubernetes store"):
 *   Node            {"name":N,"labels":{..},"ips":[A,..],
 *                    "ifaces":[{"name":I,"ips":[A,..]},..]}
 *   Namespace       {"name":N,"labels":{..}}
 *   ServiceAccount  {"ns":NS,"name":N,"labels":{..}}
 *   Pod             {"ns":NS,"name":N,"sa":SA,"labels":{..},"ips":[A,..],
 *                    "ports":[{"name":P,"protocol":PR,"port":PORT},..]}
 * Addresses are strings as found (an annotation's may carry a /prefix, and
 * Calico's podIPs annotation is one comma-separated string); the daemon
 * parses and checks them. Ports keep the protocol as written ("TCP" when
 * absent); a port without a name or a number is left out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kube_int.h"

/* Output under construction; the first error sticks. */
struct dig {
	struct kube_buf b;
	int err;
	unsigned nips;			/* addresses written so far */
};

static void
put(struct dig *d, const char *p, size_t n)
{
	if (d->err == 0)
		d->err = kube_buf_append(&d->b, p, n);
}

static void
puts_(struct dig *d, const char *s)
{
	put(d, s, strlen(s));
}

static bool
is_string(struct jspan v)
{
	return v.p != NULL && v.n >= 2 && v.p[0] == '"';
}

/* A JSON value that is a non-empty string. */
static bool
nonempty(struct jspan v)
{
	return is_string(v) && v.n > 2;
}

/* "key":<span> when @v is a string (or an object, @obj), else "key":<dflt>; a comma
 * first unless @key is the digest's first. */
static void
field(struct dig *d, const char *key, struct jspan v, bool obj, const char *dflt)
{
	if (d->b.n > 1)
		puts_(d, ",");
	puts_(d, "\"");
	puts_(d, key);
	puts_(d, "\":");
	if (obj ? (v.p != NULL && v.n >= 2 && v.p[0] == '{') : is_string(v))
		put(d, v.p, v.n);
	else
		puts_(d, dflt);
}

/* One address (a JSON string span) into an array that holds *@n of at most @max
 * so far. An address needs no escape: one with a backslash is no address, and
 * is left out. */
static void
ip_into(struct dig *d, struct jspan v, unsigned *n, unsigned max)
{
	if (!is_string(v) || v.n > 2 + 64 || *n >= max || memchr(v.p + 1, '\\', v.n - 2) != NULL)
		return;
	if ((*n)++ > 0)
		puts_(d, ",");
	put(d, v.p, v.n);
}

/* One address into the "ips" array. */
static void
ip(struct dig *d, struct jspan v)
{
	ip_into(d, v, &d->nips, KUBE_TRIM_MAX_IPS);
}

/* ---- Nodes ------------------------------------------------------------------------------- */

/*
 * The Node annotations in which Calico records the addresses its auto host
 * endpoints carry as expectedIPs (kube-controllers' node controller: the BGP
 * addresses, the IPIP and VXLAN tunnel addresses and the WireGuard ones).
 */
static const char *const node_addr_annotations[] = {
	"projectcalico.org/IPv4Address",
	"projectcalico.org/IPv6Address",
	"projectcalico.org/IPv4IPIPTunnelAddr",
	"projectcalico.org/IPv4VXLANTunnelAddr",
	"projectcalico.org/IPv6VXLANTunnelAddr",
	"projectcalico.org/IPv4WireguardInterfaceAddr",
	"projectcalico.org/IPv6WireguardInterfaceAddr",
};

/* Writing the addresses of the Interfaces annotation: to "ips", or to one "ifaces" entry. */
struct iface_out {
	struct dig *d;
	unsigned *n;
	unsigned max;
	unsigned nifaces;		/* entries written to "ifaces" */
};

/* An address from the Interfaces annotation: written out only when it is plainly one. */
static bool
iface_address(struct jspan v, void *arg)
{
	struct iface_out *io = arg;
	char a[66];

	if (jscan_string(v, a, sizeof(a)) && a[0] != '\0' &&
	    strspn(a, "0123456789abcdefABCDEF:./") == strlen(a))
		ip_into(io->d, v, io->n, io->max);
	return true;
}

/* Its addresses into "ips". */
static bool
iface_entry(struct jspan item, void *arg)
{
	jscan_each(jscan_get(item, "addresses"), iface_address, arg);
	return true;
}

/* The whole entry into "ifaces", when its name can be an interface's. */
static bool
iface_named(struct jspan item, void *arg)
{
	struct iface_out *io = arg;
	struct jspan name = jscan_get(item, "name");
	unsigned n = 0;
	char text[16];

	if (io->nifaces >= KUBE_TRIM_MAX_IFACES)
		return false;
	if (!is_string(name) || name.n < 3 || memchr(name.p + 1, '\\', name.n - 2) != NULL ||
	    !jscan_string(name, text, sizeof(text)))
		return true;	/* no name, an escape, or longer than IFNAMSIZ allows */
	puts_(io->d, io->nifaces++ > 0 ? ",{\"name\":" : "{\"name\":");
	put(io->d, name.p, name.n);
	puts_(io->d, ",\"ips\":[");
	io->n = &n;
	io->max = KUBE_TRIM_MAX_IFACE_IPS;
	iface_entry(item, io);
	puts_(io->d, "]}");
	return true;
}

/*
 * Calico 3.31+: the host's interfaces as calico-node found them, a JSON text
 * [{"name": ..., "addresses": [...]}] inside the annotation's string @v, each
 * entry to @fn. 0 or -ENOMEM.
 */
static int
each_interface(struct jspan v, bool (*fn)(struct jspan, void *), struct iface_out *io)
{
	char *text;

	if (!is_string(v) || v.n > KUBE_TRIM_MAX_IFACES_JSON)
		return 0;
	text = malloc(v.n);
	if (text == NULL)
		return -ENOMEM;
	if (jscan_string(v, text, v.n))
		jscan_each((struct jspan){ text, strlen(text) }, fn, io);
	free(text);
	return 0;
}

static bool
node_annotation(const char *key, struct jspan v, void *arg)
{
	struct dig *d = arg;
	struct iface_out io = { d, &d->nips, KUBE_TRIM_MAX_IPS, 0 };

	for (size_t i = 0; i < ARRAY_SIZE(node_addr_annotations); i++)
		if (strcmp(key, node_addr_annotations[i]) == 0)
			ip(d, v);
	if (strcmp(key, "projectcalico.org/Interfaces") == 0 &&
	    each_interface(v, iface_entry, &io) < 0) {
		d->err = -ENOMEM;
		return false;
	}
	return true;
}

static bool
node_address(struct jspan item, void *arg)
{
	char type[32];

	if (kube_token(jscan_get(item, "type"), type, sizeof(type)) == 0 &&
	    strcmp(type, "InternalIP") == 0)
		ip(arg, jscan_get(item, "address"));
	return true;
}

static void
trim_node(struct dig *d, struct jspan obj)
{
	struct jspan ann = jscan_path(obj, "metadata.annotations");
	struct iface_out io = { d, NULL, 0, 0 };

	field(d, "labels", jscan_path(obj, "metadata.labels"), true, "{}");
	puts_(d, ",\"ips\":[");
	jscan_each_pair(ann, node_annotation, d);
	jscan_each(jscan_path(obj, "status.addresses"), node_address, d);
	puts_(d, "],\"ifaces\":[");
	if (each_interface(jscan_get(ann, "projectcalico.org/Interfaces"), iface_named, &io) < 0)
		d->err = -ENOMEM;
	puts_(d, "]");
}

/* ---- Pods -------------------------------------------------------------------------------- */

struct pod_ports {
	struct dig *d;
	unsigned n;
};

static bool
container_port(struct jspan item, void *arg)
{
	struct pod_ports *pp = arg;
	struct dig *d = pp->d;
	struct jspan name = jscan_get(item, "name"), port = jscan_get(item, "containerPort");

	if (!nonempty(name) || port.p == NULL || port.p[0] < '1' || port.p[0] > '9' ||
	    port.n > 5 || pp->n >= KUBE_TRIM_MAX_PORTS)
		return true;
	if (pp->n++ > 0)
		puts_(d, ",");
	puts_(d, "{\"name\":");
	put(d, name.p, name.n);
	field(d, "protocol", jscan_get(item, "protocol"), false, "\"TCP\"");
	puts_(d, ",\"port\":");
	put(d, port.p, port.n);
	puts_(d, "}");
	return true;
}

static bool
container(struct jspan item, void *arg)
{
	jscan_each(jscan_get(item, "ports"), container_port, arg);
	return true;
}

static bool
pod_ip(struct jspan item, void *arg)
{
	struct jspan v = jscan_get(item, "ip");

	if (is_string(v) && v.n > 2)
		ip(arg, v);
	return true;
}

/* An annotation of the pod, by its key (which holds a '.': no path). */
static struct jspan
pod_annotation(struct jspan obj, const char *key)
{
	return jscan_get(jscan_path(obj, "metadata.annotations"), key);
}

/*
 * Is the pod a workload endpoint with addresses (docs/semantics.md §6.2)?
 * Calico's conversion: not on the host's network, scheduled, not finished
 * (phase Succeeded, Failed or Completed, or being deleted after the CNI
 * plugin released its address: Calico's podIP annotation or the AWS VPC
 * CNI's pod-ips is present and empty).
 */
static bool
pod_is_endpoint(struct jspan obj)
{
	struct jspan hn = jscan_path(obj, "spec.hostNetwork"), cni, aws, del;
	char phase[32];

	if (hn.p != NULL && hn.n == 4 && memcmp(hn.p, "true", 4) == 0)
		return false;		/* the node's own addresses: not a workload's */
	if (!nonempty(jscan_path(obj, "spec.nodeName")))
		return false;		/* not scheduled */
	if (kube_token(jscan_path(obj, "status.phase"), phase, sizeof(phase)) == 0 &&
	    (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0 ||
	     strcmp(phase, "Completed") == 0))
		return false;		/* finished: its addresses may be another pod's now */
	cni = pod_annotation(obj, "cni.projectcalico.org/podIP");
	aws = pod_annotation(obj, "vpc.amazonaws.com/pod-ips");
	del = jscan_path(obj, "metadata.deletionTimestamp");
	if (((is_string(cni) && cni.n == 2) || (is_string(aws) && aws.n == 2)) && del.p != NULL &&
	    del.p[0] == '"')
		return false;
	return true;
}

/* The addresses: the first of status.podIPs, status.podIP, Calico's podIPs and
 * podIP annotations (comma-separated, with prefixes) and the AWS VPC CNI's
 * pod-ips annotation that has any (libcalico-go's getPodIPs). */
static void
pod_ips(struct dig *d, struct jspan obj)
{
	struct jspan ips = jscan_path(obj, "status.podIPs"), v;

	if (ips.p != NULL && ips.p[0] == '[')
		jscan_each(ips, pod_ip, d);
	if (d->nips == 0 && nonempty(v = jscan_path(obj, "status.podIP")))
		ip(d, v);
	if (d->nips == 0 && nonempty(v = pod_annotation(obj, "cni.projectcalico.org/podIPs")))
		ip(d, v);
	if (d->nips == 0 && nonempty(v = pod_annotation(obj, "cni.projectcalico.org/podIP")))
		ip(d, v);
	if (d->nips == 0 && nonempty(v = pod_annotation(obj, "vpc.amazonaws.com/pod-ips")))
		ip(d, v);	/* the AWS VPC CNI's, comma-separated as Calico's */
}

static void
trim_pod(struct dig *d, struct jspan obj)
{
	struct pod_ports pp = { d, 0 };

	field(d, "sa", jscan_path(obj, "spec.serviceAccountName"), false, "\"\"");
	field(d, "labels", jscan_path(obj, "metadata.labels"), true, "{}");
	puts_(d, ",\"ips\":[");
	pod_ips(d, obj);
	puts_(d, "],\"ports\":[");
	jscan_each(jscan_path(obj, "spec.containers"), container, &pp);
	jscan_each(jscan_path(obj, "spec.initContainers"), container, &pp);
	puts_(d, "]");
}

/* ---- the digest ---------------------------------------------------------------------------- */

bool
kube_trimmed(enum kube_kind k)
{
	return k == KK_NODE || k == KK_NAMESPACE || k == KK_SA || k == KK_POD;
}

int
kube_trim(enum kube_kind k, struct jspan obj, char **out)
{
	struct dig d = { .b = { .max = KUBE_EVENT_MAX } };

	*out = NULL;
	if (k == KK_POD && !pod_is_endpoint(obj))
		return KUBE_TRIM_DROP;
	puts_(&d, "{");
	if (k == KK_SA || k == KK_POD)
		field(&d, "ns", jscan_path(obj, "metadata.namespace"), false, "\"\"");
	field(&d, "name", jscan_path(obj, "metadata.name"), false, "\"\"");
	switch (k) {
	case KK_NODE:
		trim_node(&d, obj);
		break;
	case KK_POD:
		trim_pod(&d, obj);
		if (d.err == 0 && d.nips == 0) {
			free(d.b.p);
			return KUBE_TRIM_DROP;	/* no address (yet): nothing to select */
		}
		break;
	default:
		field(&d, "labels", jscan_path(obj, "metadata.labels"), true, "{}");
		break;
	}
	puts_(&d, "}");
	if (d.err < 0) {
		free(d.b.p);
		return d.err == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	*out = d.b.p;
	return 0;
}
