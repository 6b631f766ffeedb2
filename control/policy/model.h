/*
 * model.h - the policy model: Calico objects as nfqwall understands them.
 *
 * polset.c fills a struct polset from YAML/JSON files or buffers (the
 * Kubernetes objects too), with one decoder per kind beside it (policy.c,
 * rule.c, hostendpoint.c, ...; decode.h lists them); the reference
 * evaluator (eval.c) walks it rule by rule
 * and the compiler (compile.c) turns it into a struct ruleset. Everything in
 * a polset is owned by it; polset_free releases it all. Control thread only.
 */
#ifndef NFQWALL_MODEL_H
#define NFQWALL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "compiler.h"
#include "diag.h"
#include "labels.h"
#include "selector.h"
#include "strmap.h"

struct ifpattern;

enum action {
	ACT_ALLOW,
	ACT_DENY,
	ACT_PASS,
	ACT_LOG,
};

enum policy_type {
	TYPE_INGRESS = 1 << 0,
	TYPE_EGRESS = 1 << 1,
};

enum api_form {
	FORM_V3,		/* projectcalico.org/v3, as users write it */
	FORM_V1,		/* crd.projectcalico.org/v1, as stored in the cluster */
};

/* Where an object or rule came from. */
struct srcloc {
	const char *file;	/* interned in the polset */
	int line;
	int col;
};

/* One entry of ports/notPorts: a range, or a named port. */
struct port_item {
	uint16_t lo;
	uint16_t hi;
	char *name;		/* non-NULL: a named port (lo/hi unused) */
};

/* source / destination of a rule. */
struct entity {
	struct cidr *nets;
	size_t nnets;
	struct cidr *not_nets;
	size_t nnot_nets;
	struct selector *sel;		/* NULL = no selector */
	struct selector *not_sel;
	struct selector *ns_sel;	/* the rule's namespaceSelector, NULL = none */
	bool ns_global;			/* namespaceSelector is exactly global() */
	struct port_item *ports;
	size_t nports;
	struct port_item *not_ports;
	size_t nnot_ports;
	struct selector *sa_sel;	/* serviceAccounts while decoding; then in sel */
	bool has_sa;			/* serviceAccounts was given (lint) */
	bool sa_unrestricted;		/* ... with neither names nor a selector: no restriction */
	bool has_services;		/* services: Kubernetes Service endpoints (unresolved) */
};

struct rule {
	enum action action;
	uint8_t proto;			/* 0 = any */
	uint8_t not_proto;		/* 0 = none */
	uint8_t ip_version;		/* 0 = both, 4, 6 (explicit or inferred from ICMP names) */
	bool has_icmp;
	bool icmp_has_code;
	uint8_t icmp_type;
	uint8_t icmp_code;
	bool has_not_icmp;
	bool not_icmp_has_code;
	uint8_t not_icmp_type;
	uint8_t not_icmp_code;
	bool has_http;			/* application-layer match: ignored for hosts */
	struct entity src;
	struct entity dst;
	struct srcloc loc;
};

enum policy_kind {
	KIND_GNP,			/* GlobalNetworkPolicy */
	KIND_SGNP,			/* StagedGlobalNetworkPolicy: never enforced */
};

struct policy {
	enum policy_kind kind;
	enum api_form form;
	char *name;			/* the v3 name */
	char *tier;			/* never NULL: "default" when unset */
	bool has_order;
	double order;
	struct selector *sel;		/* effective: selector && namespace/SA rewrites */
	char *sel_text;			/* the selector as written ("" = all()) */
	unsigned types;			/* enum policy_type, after defaulting */
	struct rule *ingress;
	size_t ningress;
	struct rule *egress;
	size_t negress;
	bool do_not_track;
	bool pre_dnat;
	bool apply_on_forward;
	char *staged_action;		/* StagedGlobalNetworkPolicy stagedAction, or NULL */
	struct srcloc loc;
};

/* Calico's built-in profile of auto host endpoints: allow everything. */
#define PROFILE_DEFAULT_ALLOW	"projectcalico-default-allow"

struct named_port {
	char *name;
	uint8_t proto;
	uint16_t port;
};

struct hep {
	char *name;
	char *node;
	char *iface;			/* NULL/"" = by expectedIPs, "*" = all interfaces */
	struct cidr *ips;		/* expectedIPs as /32 or /128 */
	size_t nips;
	char **profiles;
	size_t nprofiles;
	struct named_port *ports;
	size_t nports;
	struct labels labels;
	bool synthetic;			/* an auto host endpoint made by nfqwall */
	struct srcloc loc;
	uint64_t seq;			/* a cluster's node: the store's text it was read from */
	unsigned round;			/* ... the last sync that saw it (cluster.h) */
	unsigned born;			/* ... and the sync that made it */
};

/* GlobalNetworkSet (ns == NULL) or NetworkSet. */
struct netset {
	char *name;
	char *ns;
	struct labels labels;		/* for NetworkSets, with Felix's namespace labels added */
	struct cidr *nets;
	size_t nnets;
	struct srcloc loc;
};

struct tier {
	char *name;
	bool has_order;
	double order;
	enum action default_action;	/* ACT_DENY or ACT_PASS */
	struct srcloc loc;
};

struct failsafe {
	uint8_t proto;			/* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
	uint16_t port;
	bool has_net;
	struct cidr net;
};

struct failsafe_list {
	struct failsafe *v;
	size_t n;
	bool set;			/* false = not configured here, use the next source */
};

struct felixcfg {
	char *name;
	struct failsafe_list in;
	struct failsafe_list out;
	struct srcloc loc;
};

/*
 * One template of Calico's auto host endpoints (KubeControllersConfiguration
 * spec.controllers.node.hostEndpoint.templates[], Calico v3.30+): on each
 * Node its @node_sel selects, a host endpoint with the Node's addresses
 * inside @cidrs, or with @pattern one per matching interface
 * (docs/semantics.md §3.3, control/policy/autohep.c).
 */
struct hep_template {
	char *generate_name;
	struct cidr *cidrs;		/* interfaceCIDRs, in order; family 0: a bare
					 * address, which kube-controllers cannot parse */
	size_t ncidrs;
	char *pattern;			/* interfacePattern as written; NULL: none */
	struct ifpattern *re;		/* its compiled form; NULL with a pattern: one
					 * nfqwall cannot match (the template makes none) */
	struct labels labels;		/* win over the Node's */
	struct selector *node_sel;	/* nodeSelector ("" = all()) */
};

/* KubeControllersConfiguration: what nfqwall reads of it, the auto host endpoints. */
struct kccfg {
	char *name;
	bool has_hep;			/* spec.controllers.node.hostEndpoint is set */
	bool auto_create;		/* autoCreate: Enabled */
	bool create_default;		/* createDefaultHostEndpoint: Enabled (or unset) */
	struct hep_template *tpl;
	size_t ntpl;
	struct srcloc loc;
};

/*
 * What loading one file, buffer or object may cost (docs/operations.md,
 * "Limits"). Past a bound the load stops with an error naming it (and the
 * option that sets it), so a hostile or broken file costs bounded time and
 * memory. The defaults are sized on what Calico and the Kubernetes API
 * accept: no object the API server stores comes near them.
 */
struct polset_limits {
	size_t max_file_bytes;		/* a policy file, or a buffer */
	size_t max_object_bytes;	/* the text of one object (a document or a List item) */
	size_t max_nodes;		/* YAML nodes per file, an alias counting as what it names */
	size_t max_objects;		/* objects per file, List items included */
	unsigned max_depth;		/* mappings and sequences inside one another */
	bool allow_unknown_fields;	/* an unknown field is a warning, not an error */
};

/* Defaults: 32 MiB, 3 MiB, 1,000,000 nodes, 100,000 objects, 64 levels. */
#define POLSET_MAX_FILE_BYTES	(32u << 20)
#define POLSET_MAX_OBJECT_BYTES	(3u << 20)	/* the API server's request body limit */
#define POLSET_MAX_NODES	1000000u
#define POLSET_MAX_OBJECTS	100000u
#define POLSET_MAX_DEPTH	64u

/* The bytes of a projectcalico.org/metadata annotation: Kubernetes allows
 * 256 KiB for all the annotations of an object together. */
#define POLSET_MAX_ANNOTATION_BYTES	(256u << 10)

extern const struct polset_limits polset_limits_default;

/*
 * The command-line options that set the limits, for every subcommand that
 * loads policy (check, explain, run): put POLSET_LIMIT_OPTIONS in a
 * getopt_long() option table, hand each option whose value is at least
 * POLSET_OPT_LIMIT to polset_limits_option(), and print POLSET_LIMIT_USAGE
 * in the help. The option names are polset_limit_names[] with "--".
 */
#define POLSET_NLIMITS		5
#define POLSET_OPT_LIMIT	0x100
#define POLSET_OPT_ALLOW_UNKNOWN	(POLSET_OPT_LIMIT + 0x40)
#define POLSET_LIMIT_OPTIONS \
	{ "max-file-bytes", required_argument, NULL, POLSET_OPT_LIMIT + 0 }, \
	{ "max-object-bytes", required_argument, NULL, POLSET_OPT_LIMIT + 1 }, \
	{ "max-nodes", required_argument, NULL, POLSET_OPT_LIMIT + 2 }, \
	{ "max-objects", required_argument, NULL, POLSET_OPT_LIMIT + 3 }, \
	{ "max-depth", required_argument, NULL, POLSET_OPT_LIMIT + 4 }, \
	{ "allow-unknown-fields", no_argument, NULL, POLSET_OPT_ALLOW_UNKNOWN }
#define POLSET_LIMIT_USAGE \
	"Limits on what loading the policy may cost (docs/operations.md, \"Limits\");\n" \
	"sizes take a K, M or G suffix:\n" \
	"  --max-file-bytes N    a policy file (default 32M)\n" \
	"  --max-object-bytes N  one object, as written (default 3M)\n" \
	"  --max-nodes N         YAML nodes per file, an alias counting as what it\n" \
	"                        names (default 1000000)\n" \
	"  --max-objects N       objects per file, List items included (default 100000)\n" \
	"  --max-depth N         nesting of mappings and sequences (default 64)\n" \
	"\n" \
	"  --allow-unknown-fields  a field Calico does not know (a misspelt destinaton:)\n" \
	"                        is a warning, not an error; by default the object is\n" \
	"                        rejected, as kubectl's strict field validation does\n"

/* "max-file-bytes", "max-object-bytes", "max-nodes", "max-objects",
 * "max-depth": index i is option POLSET_OPT_LIMIT + i. */
extern const char *const polset_limit_names[POLSET_NLIMITS];

/*
 * polset_limits_set - set the limit named @name ("max-file-bytes",
 * "max-object-bytes", "max-nodes", "max-objects", "max-depth": the option
 * names without "--") in @l from the text @value: a whole number, with an
 * optional K, M or G suffix (powers of 1024) for the byte sizes.
 * Returns 0, -ENOENT (no such limit) or -EINVAL (not a number, or outside
 * the range the limit allows), with a sentence in @why.
 */
int __must_check polset_limits_set(struct polset_limits *l, const char *name, const char *value,
				   char *why, size_t whylen);

/* polset_limits_option - polset_limits_set() for getopt value @opt
 * (POLSET_OPT_LIMIT + i), or set allow_unknown_fields for
 * POLSET_OPT_ALLOW_UNKNOWN (@value unused); -ENOENT for any other value. */
int __must_check polset_limits_option(struct polset_limits *l, int opt, const char *value,
				      char *why, size_t whylen);

/* One document stream as it was read: a file, or a Kubernetes object's text. */
struct polsrc {
	char *name;
	char *text;
	size_t len;
	uint64_t hash;			/* polsrc_hash of the name and the text */
};

/* The digest of no stream; each stream adds its polsrc_hash (so the order does not count). */
#define POLSET_DIGEST_EMPTY	0xcbf29ce484222325ull

/* polsrc_hash - FNV-1a (64 bits) of @name, a NUL, and the @len bytes of @text. */
uint64_t polsrc_hash(const char *name, const char *text, size_t len);

struct polset {
	struct polset_limits limits;	/* polset_init sets the defaults; set before loading */
	bool keep_sources;		/* set before loading: keep a copy of every stream */
	uint64_t digest;		/* of every stream's name and bytes, in any order */
	struct polsrc *sources;		/* with keep_sources: the streams, in load order */
	size_t nsources;
	size_t sourcecap;
	struct policy **policies;	/* GlobalNetworkPolicy and StagedGlobalNetworkPolicy */
	size_t npolicies;
	struct hep **heps;
	size_t nheps;
	struct netset **netsets;
	size_t nnetsets;
	struct tier **tiers;
	size_t ntiers;
	struct felixcfg **felixcfgs;
	size_t nfelixcfgs;
	struct kccfg **kccfgs;		/* KubeControllersConfiguration */
	size_t nkccfgs;
	struct diags diags;		/* errors, warnings and notes from loading */
	size_t nobjects;		/* objects seen (valid or not) */
	size_t nrejected;		/* objects rejected as invalid */
	size_t nskipped;		/* objects of other kinds, skipped with a note */
	char **files;			/* interned file names (srcloc.file) */
	size_t nfiles;
	struct strmap file_index;	/* file name -> index in files */
	struct strmap obj_index;	/* "kind/namespace/name" -> index in its array */
};

/* polset_init - an empty set, with the default limits. */
void polset_init(struct polset *ps);

/* polset_free - release everything the set owns; the limits stay as they were. */
void polset_free(struct polset *ps);

/*
 * polset_load_path - load a file, or every *.yaml, *.yml and *.json file of a
 * directory (sorted by name, not recursive). Problems go to ps->diags; an
 * invalid object is rejected and the valid ones beside it are kept.
 * Returns 0, or -errno when @path itself cannot be read (also recorded), or
 * -ENOMEM when memory ran out: the load stopped there, an "out of memory"
 * error is recorded (and counted in ps->diags.nerr even when the record
 * itself could not be kept), and the set holds only whole objects, for
 * polset_free.
 */
int polset_load_path(struct polset *ps, const char *path);

/* polset_load_buffer - the same for an in-memory document stream. */
int polset_load_buffer(struct polset *ps, const char *name, const char *buf, size_t len);

/*
 * polset_take_sources - move the streams kept (keep_sources) out of @ps
 * into *@v, *@n (the caller frees them with polsrc_free); @ps keeps its
 * digest.
 */
void polset_take_sources(struct polset *ps, struct polsrc **v, size_t *n);

/* polset_load_sources - load streams kept earlier, in their order. Same returns as
 * polset_load_buffer (the first problem). */
int polset_load_sources(struct polset *ps, const struct polsrc *v, size_t n);

/* polsrc_free - release @n streams and the array. */
void polsrc_free(struct polsrc *v, size_t n);

/* polset_tier - the tier object named @name, or NULL. */
const struct tier *polset_tier(const struct polset *ps, const char *name);

/* action_name - "Allow", "Deny", "Pass", "Log". */
const char *action_name(enum action a);

/* failsafe_parse - Felix's string syntax: "tcp:22,udp:68", "proto:cidr:port",
 * "[v6cidr]", "none" (empty, set) or "" (not set: defaults).
 * Returns 0, or -EINVAL or -ENOMEM with a message in @why. */
int __must_check failsafe_parse(const char *text, struct failsafe_list *out, char *why,
				size_t whylen);

/* failsafe_defaults - Felix's default inbound (@in true) or outbound list
 * into @out: 0, or -ENOMEM with @out empty and not set. */
int __must_check failsafe_defaults(struct failsafe_list *out, bool in);

/* failsafe_list_free - release the entries. */
void failsafe_list_free(struct failsafe_list *l);

#endif /* NFQWALL_MODEL_H */
