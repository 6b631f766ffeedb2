/*
 * limits.c - the bounds on what loading policy may cost (struct
 * polset_limits in model.h): their defaults, and setting one from the text
 * of a command-line option. Where the defaults come from is
 * docs/operations.md, "Limits". Control thread only.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "ydoc.h"

_Static_assert(POLSET_MAX_FILE_BYTES == YDOC_MAX_BYTES && POLSET_MAX_NODES == YDOC_MAX_NODES &&
		       POLSET_MAX_DEPTH == YDOC_MAX_DEPTH,
	       "the document loader's defaults are the policy set's");

const struct polset_limits polset_limits_default = {
	.max_file_bytes = POLSET_MAX_FILE_BYTES,
	.max_object_bytes = POLSET_MAX_OBJECT_BYTES,
	.max_nodes = POLSET_MAX_NODES,
	.max_objects = POLSET_MAX_OBJECTS,
	.max_depth = POLSET_MAX_DEPTH,
};

enum limit_unit {
	LIMIT_BYTES,		/* K, M, G suffixes allowed */
	LIMIT_COUNT,
};

static const struct {
	const char *name;
	size_t off;		/* of a size_t in struct polset_limits, or of max_depth */
	enum limit_unit unit;
	unsigned long long max;
} limit_defs[] = {
	{ "max-file-bytes", offsetof(struct polset_limits, max_file_bytes), LIMIT_BYTES, 1ull << 30 },
	{ "max-object-bytes", offsetof(struct polset_limits, max_object_bytes), LIMIT_BYTES,
	  1ull << 30 },
	{ "max-nodes", offsetof(struct polset_limits, max_nodes), LIMIT_COUNT, 100000000ull },
	{ "max-objects", offsetof(struct polset_limits, max_objects), LIMIT_COUNT, 10000000ull },
	{ "max-depth", offsetof(struct polset_limits, max_depth), LIMIT_COUNT, YDOC_DEPTH_CEILING },
};

const char *const polset_limit_names[POLSET_NLIMITS] = {
	"max-file-bytes", "max-object-bytes", "max-nodes", "max-objects", "max-depth",
};

_Static_assert(ARRAY_SIZE(limit_defs) == POLSET_NLIMITS, "one definition per limit");

/* A whole decimal number with an optional K/M/G suffix (when @bytes). */
static bool
limit_parse(const char *s, bool bytes, unsigned long long *out)
{
	unsigned long long v = 0;
	unsigned shift = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (ULLONG_MAX - 9) / 10)
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (bytes && *s != '\0' && s[1] == '\0') {
		const char *u = strchr("KMG", *s);

		if (u == NULL)
			return false;
		shift = 10u * (unsigned)(u - "KMG" + 1);
		s++;
	}
	if (*s != '\0' || v > (ULLONG_MAX >> shift))
		return false;
	*out = v << shift;
	return true;
}

int
polset_limits_set(struct polset_limits *l, const char *name, const char *value, char *why,
		  size_t whylen)
{
	for (size_t i = 0; i < ARRAY_SIZE(limit_defs); i++) {
		bool bytes = limit_defs[i].unit == LIMIT_BYTES;
		unsigned long long v;

		if (strcmp(name, limit_defs[i].name) != 0)
			continue;
		if (!limit_parse(value, bytes, &v) || v < 1 || v > limit_defs[i].max) {
			snprintf(why, whylen, "--%s: '%s' is not a number from 1 to %llu%s", name,
				 value, limit_defs[i].max, bytes ? " (K, M, G: powers of 1024)" : "");
			return -EINVAL;
		}
		if (strcmp(name, "max-depth") == 0)
			l->max_depth = (unsigned)v;
		else
			*(size_t *)(void *)((char *)l + limit_defs[i].off) = (size_t)v;
		return 0;
	}
	snprintf(why, whylen, "no limit named '%s'", name);
	return -ENOENT;
}

int
polset_limits_option(struct polset_limits *l, int opt, const char *value, char *why,
		     size_t whylen)
{
	if (opt == POLSET_OPT_ALLOW_UNKNOWN) {
		l->allow_unknown_fields = true;
		return 0;
	}
	if (opt < POLSET_OPT_LIMIT || opt >= POLSET_OPT_LIMIT + POLSET_NLIMITS) {
		snprintf(why, whylen, "no limit option %d", opt);
		return -ENOENT;
	}
	return polset_limits_set(l, polset_limit_names[opt - POLSET_OPT_LIMIT], value, why, whylen);
}
