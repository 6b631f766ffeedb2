/*
 * fuzz_list.c - libFuzzer target for a list answer decoded as it arrives
 * (control/k8s/listdec.c) and the digests the store keeps of what it holds
 * (control/k8s/ktrim.c): the path every byte of a list of Pods, Nodes,
 * Namespaces or ServiceAccounts takes.
 *
 * Input: 4 bytes of parameters, then the answer. Byte 0 picks the kind (its
 * low 2 bits) and the item limit (64 to 4,096 bytes), bytes 1-3 seed the
 * chunking. The answer is decoded three times: in one piece, in random
 * pieces of 1 to 64 bytes (now and then larger), and one byte at a time;
 * each item is made the store's object (kstore_obj_make, which trims it).
 * All three must end the same way (error, items, envelope) with the same
 * objects; the decoder never holds more than its limits; every digest is a
 * NUL-free JSON object whose every address is a plain string. Any
 * difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube_int.h"
#include "log.h"

#include "fuzz.h"

#define MAX_OBJS	256

struct outcome {
	int err;
	uint64_t nitems;
	size_t n;
	char *keys[MAX_OBJS];
	char *json[MAX_OBJS];
	char *env;
	enum kube_kind kind;
};

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_list: %s\n", what);
		abort();
	}
}


static bool
take(struct jspan item, void *arg)
{
	struct outcome *o = arg;
	struct kube_obj obj;
	int err = kstore_obj_make(item, o->kind, "v1", &obj);

	check(item.n >= 1 && item.p[0] == '{' && item.p[item.n - 1] == '}',
	      "an item that is not a whole object");
	if (err == KUBE_TRIM_DROP) {
		free(obj.key);
		return true;
	}
	if (err < 0)
		return true;	/* no name, or malformed: skipped, as the reflector does */
	check(memchr(obj.json, '\0', strlen(obj.json)) == NULL && obj.json[0] == '{',
	      "a digest that is no JSON object");
	if (o->n < MAX_OBJS) {
		o->keys[o->n] = obj.key;
		o->json[o->n] = obj.json;
		o->n++;
	} else {
		free(obj.key);
		free(obj.json);
	}
	return true;
}

static void
decode(const uint8_t *p, size_t n, size_t max, enum fuzz_chunking mode, uint32_t seed,
       struct outcome *o)
{
	struct list_dec d;
	size_t off = 0;

	list_dec_init(&d, max, take, o);
	seed |= 1;
	while (off < n) {
		size_t k = fuzz_chunk(mode, &seed, n - off);

		list_dec_feed(&d, (const char *)p + off, k);
		check(d.cur.cap <= max + 1 && d.cur.n <= max, "an item held past its limit");
		check(d.env.cap <= KUBE_ENVELOPE_MAX + 1, "the envelope held past its limit");
		off += k;
	}
	o->err = list_dec_finish(&d);
	o->nitems = d.nitems;
	o->env = d.err == 0 && d.env.p ? strdup(d.env.p) : NULL;
	list_dec_free(&d);
}

static void
same(const struct outcome *a, const struct outcome *b)
{
	check(a->err == b->err, "the result depends on the chunking");
	check(a->nitems == b->nitems, "the items depend on the chunking");
	check(a->n == b->n, "the objects kept depend on the chunking");
	for (size_t i = 0; i < a->n; i++) {
		check(strcmp(a->keys[i], b->keys[i]) == 0, "the keys depend on the chunking");
		check(strcmp(a->json[i], b->json[i]) == 0, "the digests depend on the chunking");
	}
	check((a->env == NULL) == (b->env == NULL) &&
	      (a->env == NULL || strcmp(a->env, b->env) == 0), "the envelope depends on the chunking");
}

static void
release(struct outcome *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->keys[i]);
		free(o->json[i]);
	}
	free(o->env);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum kube_kind kinds[4] = { KK_POD, KK_NODE, KK_NAMESPACE, KK_SA };
	static bool quiet;
	struct outcome whole = { 0 }, pieces = { 0 }, bytes = { 0 };
	size_t max;
	uint32_t seed;

	if (!quiet) {
		log_set_level(LOG_ERR);
		quiet = true;
	}
	if (size < 4)
		return 0;
	whole.kind = pieces.kind = bytes.kind = kinds[data[0] & 3];
	max = 64 + (size_t)(data[0] >> 2) * 64;
	seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16;
	data += 4;
	size -= 4;
	decode(data, size, max, FUZZ_WHOLE, seed, &whole);
	decode(data, size, max, FUZZ_RANDOM, seed, &pieces);
	same(&whole, &pieces);
	decode(data, size, max, FUZZ_BYTES, seed, &bytes);
	same(&whole, &bytes);
	release(&whole);
	release(&pieces);
	release(&bytes);
	return 0;
}
