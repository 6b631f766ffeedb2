/*
 * listdec.c - a list answer decoded as it arrives (kube_int.h, struct
 * list_dec): each element of its "items" array is handed over as soon as
 * its last byte is in, and only the envelope (kind, metadata with the
 * resourceVersion and the continue token) is kept, with the array left
 * empty. A list from the API server's cache ignores the page size and holds
 * the whole kind: 150,000 pods are some 700 MiB of JSON, which nfqwall never
 * holds at once, since each pod becomes a digest of a few hundred bytes the
 * moment it is read. Every byte is looked at once; an element cut by a
 * chunk boundary is copied, up to max_item bytes. Reflector threads (the
 * transport thread while a transfer runs).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kube_int.h"

enum {
	LD_ENV,		/* the envelope */
	LD_ARRAY,	/* inside "items", between elements */
	LD_ITEM,	/* inside an element */
};

void
list_dec_init(struct list_dec *d, size_t max_item, bool (*item)(struct jspan item, void *arg),
	      void *arg)
{
	memset(d, 0, sizeof(*d));
	d->item = item;
	d->arg = arg;
	d->max_item = max_item;
	d->env.max = KUBE_ENVELOPE_MAX;
	d->cur.max = max_item;
}

void
list_dec_free(struct list_dec *d)
{
	free(d->env.p);
	free(d->cur.p);
	d->env.p = d->cur.p = NULL;
	d->env.n = d->cur.n = d->env.cap = d->cur.cap = 0;
}

static int
fail(struct list_dec *d, int err)
{
	if (d->err == 0)
		d->err = err;
	return d->err;
}

/* A '{' or '[' one level deeper: false past the depth limit. */
static bool
open_one(struct list_dec *d, char c)
{
	unsigned i;

	if (d->depth >= KUBE_LIST_DEPTH_MAX)
		return false;
	i = d->depth++;
	if (c == '{')
		d->opened[i / 64] |= 1ull << (i % 64);
	else
		d->opened[i / 64] &= ~(1ull << (i % 64));
	return true;
}

/* A '}' or ']': false unless it closes what the level opened. */
static bool
close_one(struct list_dec *d, char c)
{
	unsigned i;

	if (d->depth == 0)
		return false;
	i = --d->depth;
	return ((d->opened[i / 64] >> (i % 64)) & 1) == (c == '}');
}

static int
env_add(struct list_dec *d, const char *p, size_t n)
{
	int err = kube_buf_append(&d->env, p, n);

	return err < 0 ? fail(d, err) : 0;
}

/* A whole element: hand it over. */
static int
item_done(struct list_dec *d)
{
	d->nitems++;
	if (d->nitems > KUBE_LIST_ITEMS_MAX)
		return fail(d, -EMSGSIZE);
	if (!d->item((struct jspan){ d->cur.p, d->cur.n }, d->arg))
		return fail(d, -ECANCELED);
	d->cur.n = 0;
	return 0;
}

/* The bytes of an element from @p on, up to its end or the end of the chunk. */
static size_t
feed_item(struct list_dec *d, const char *p, size_t n)
{
	/* no byte past the limit is looked at: the outcome never depends on the chunking */
	size_t room = d->max_item - d->cur.n, lim = n < room ? n : room, i = 0;
	int err;

	for (; i < lim; i++) {
		char c = p[i];

		if (d->in_str) {
			if (d->esc)
				d->esc = false;
			else if (c == '\\')
				d->esc = true;
			else if (c == '"')
				d->in_str = false;
			continue;
		}
		if (c == '"') {
			d->in_str = true;
		} else if (c == '{' || c == '[') {
			if (!open_one(d, c)) {
				fail(d, -EINVAL);
				return n;
			}
		} else if (c == '}' || c == ']') {
			if (!close_one(d, c)) {
				fail(d, -EINVAL);	/* mismatched: no whole object */
				return n;
			}
			if (d->depth == 0) {
				i++;
				break;
			}
		}
	}
	if (d->depth != 0 && i == room && i < n) {
		fail(d, -EMSGSIZE);	/* the element goes on past its limit */
		return n;
	}
	err = kube_buf_append(&d->cur, p, i);
	if (err < 0) {
		fail(d, err);
		return n;
	}
	if (d->depth == 0) {
		d->state = LD_ARRAY;
		item_done(d);
	}
	return i;
}

/*
 * The envelope's bytes from @p on: kept, while the top-level keys are
 * followed, up to the '[' of "items" (kept as "[]") or the end of the chunk.
 */
static size_t
feed_env(struct list_dec *d, const char *p, size_t n)
{
	size_t room = KUBE_ENVELOPE_MAX - d->env.n, i = 0;

	if (n > room)
		n = room + 1;	/* the byte past the limit fails env_add, wherever the chunk ends */
	for (; i < n; i++) {
		char c = p[i];

		if (d->in_str) {
			if (d->esc) {
				d->esc = false;
				d->keybad = true;	/* "items" needs no escape */
			} else if (c == '\\') {
				d->esc = true;
			} else if (c == '"') {
				d->in_str = false;
				if (d->in_key)
					d->in_key = false, d->key_done = true;
			} else if (d->in_key) {
				if (d->keylen + 1 < sizeof(d->key))
					d->key[d->keylen++] = c;
				else
					d->keybad = true;
			}
			continue;
		}
		if (d->items_next && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			d->items_next = false;
			if (c == '[') {		/* the elements are not kept */
				if (d->seen_items) {	/* a second "items": which one counts? */
					fail(d, -EINVAL);
					return n;
				}
				if (env_add(d, p, i) < 0 || env_add(d, "[]", 2) < 0)
					return n;
				d->state = LD_ARRAY;
				d->seen_items = true;
				return i + 1;
			}
		}
		switch (c) {
		case '"':
			d->in_str = true;
			if (d->depth == 1 && d->want_key) {
				d->in_key = true;
				d->want_key = false;
				d->keylen = 0;
				d->keybad = false;
				d->key_done = false;
			}
			break;
		case ':':
			if (d->depth == 1 && d->key_done) {
				d->key[d->keylen] = '\0';
				d->items_next = !d->keybad && strcmp(d->key, "items") == 0;
				d->key_done = false;
			}
			break;
		case ',':
			if (d->depth == 1)
				d->want_key = true;
			break;
		case '{':
		case '[':
			if (d->closed || !open_one(d, c)) {	/* one top-level value only */
				fail(d, -EINVAL);
				return n;
			}
			if (d->depth == 1)
				d->want_key = c == '{';
			break;
		case '}':
		case ']':
			if (!close_one(d, c)) {
				fail(d, -EINVAL);
				return n;
			}
			if (d->depth == 0)
				d->closed = true;
			break;
		default:
			break;
		}
	}
	env_add(d, p, n);
	return n;
}

/* Between elements: white space and commas, then an element or the array's end. */
static size_t
feed_array(struct list_dec *d, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (p[i]) {
		case ' ': case '\t': case '\n': case '\r': case ',':
			continue;
		case '{':
			d->state = LD_ITEM;
			d->depth = 0;
			(void)open_one(d, '{');
			d->in_str = d->esc = false;
			if (kube_buf_append(&d->cur, "{", 1) < 0)
				fail(d, -ENOMEM);
			return i + 1;
		case ']':
			d->state = LD_ENV;
			d->depth = 0;		/* back in the top-level object */
			(void)open_one(d, '{');
			return i + 1;
		default:
			fail(d, -EINVAL);	/* an element that is no object */
			return n;
		}
	}
	return n;
}

int
list_dec_feed(struct list_dec *d, const char *p, size_t n)
{
	d->raw += n;
	if (d->raw > KUBE_LIST_RAW_MAX)
		return fail(d, -EMSGSIZE);
	while (n > 0 && d->err == 0) {
		size_t used;

		if (d->state == LD_ITEM)
			used = feed_item(d, p, n);
		else if (d->state == LD_ARRAY)
			used = feed_array(d, p, n);
		else
			used = feed_env(d, p, n);
		p += used;
		n -= used;
	}
	return d->err;
}

int
list_dec_finish(struct list_dec *d)
{
	if (d->err != 0)
		return d->err;
	if (d->state != LD_ENV || !d->closed)
		return fail(d, -EINVAL);	/* cut short */
	return 0;
}
