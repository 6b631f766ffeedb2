/*
 * jscan.h - a small JSON scanner over text that is already in memory.
 *
 * The Kubernetes client needs little of a JSON document: a few fields of
 * list and watch envelopes (resourceVersion, continue, type) and the exact
 * text of each object, which the policy loader then parses with positions.
 * This finds values by key and walks arrays without building a tree or
 * copying. Spans point into the caller's buffer. Control threads only.
 */
#ifndef NFQWALL_JSCAN_H
#define NFQWALL_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

struct jspan {
	const char *p;		/* first character of the value, NULL = absent */
	size_t n;		/* its length */
};

/* jscan_value_end - the end of the JSON value starting at @p (after leading
 * blanks) within [@p, @end), or NULL when it is malformed or cut short. */
const char *jscan_value_end(const char *p, const char *end);

/* jscan_get - the value of @key in the object @obj; p = NULL when absent. */
struct jspan jscan_get(struct jspan obj, const char *key);

/* jscan_path - jscan_get along "a.b.c". */
struct jspan jscan_path(struct jspan obj, const char *path);

/* jscan_string - copy a JSON string value unescaped (\uXXXX as UTF-8) into
 * @buf; false when @v is not a string or does not fit. */
bool jscan_string(struct jspan v, char *buf, size_t size);

/* jscan_each - call @fn for every element of the array @arr; stops and
 * returns false when @fn does, or on malformed input. */
bool jscan_each(struct jspan arr, bool (*fn)(struct jspan item, void *arg), void *arg);

/* jscan_each_pair - call @fn for every key (unescaped) and value of object @obj. */
bool jscan_each_pair(struct jspan obj, bool (*fn)(const char *key, struct jspan v, void *arg),
		     void *arg);

#endif /* NFQWALL_JSCAN_H */
