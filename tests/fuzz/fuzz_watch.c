/*
 * fuzz_watch.c - libFuzzer target for the watch stream decoder
 * (control/k8s/watch.c), the path every byte an API server streams takes.
 *
 * Input: 4 bytes of parameters, then the stream. Byte 0 sets the event
 * limit (32 to 4,112 bytes, so that 8 KiB inputs cross it), bytes 1-3 seed
 * the chunking. The stream is decoded into a fresh store three times: in
 * one piece, in random pieces of 1 to 64 bytes (now and then larger), and
 * one byte at a time. All three must end the same way (result, the
 * resourceVersion to watch from, events applied) with the same store (keys,
 * JSON text, version, flags). Memory is bounded: the decoder never holds
 * more than the limit, and every stored object is a NUL-free JSON object.
 * Any difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube_int.h"
#include "log.h"

#include "fuzz.h"

#define API	"crd.projectcalico.org/v1"

struct outcome {
	int result;
	unsigned long events;
	char rv[KUBE_RV_MAX + 1];
	uint64_t version;
	size_t n;
	struct kube_obj *v;		/* sorted copies of the store's objects */
};

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_watch: %s\n", what);
		abort();
	}
}

static int
by_key(const void *a, const void *b)
{
	return strcmp(((const struct kube_obj *)a)->key, ((const struct kube_obj *)b)->key);
}


/* The stream, cut as @mode says (fuzz.h), into a fresh store. */
static void
decode(const uint8_t *p, size_t n, size_t max, enum fuzz_chunking mode, uint32_t seed,
       struct outcome *o)
{
	struct kube_store st;
	struct watch_dec d;
	size_t off = 0;

	check(kube_store_init(&st) == 0, "kube_store_init");
	watch_dec_init(&d, &st, KK_GNP, API, "1");
	d.max_event = max;
	seed |= 1;
	while (off < n) {
		size_t k = fuzz_chunk(mode, &seed, n - off);

		watch_dec_feed(&d, (const char *)p + off, k);
		check(d.part.cap <= max + 1 && d.part.n <= max, "decoder holds more than the limit");
		off += k;
	}
	o->result = d.result;
	o->events = d.events;
	memcpy(o->rv, d.rv, sizeof(o->rv));
	o->version = st.version;
	o->n = st.kinds[KK_GNP].n;
	o->v = st.kinds[KK_GNP].v;		/* taken over */
	st.kinds[KK_GNP].v = NULL;
	st.kinds[KK_GNP].n = 0;
	for (int k = 0; k < KK_NKINDS; k++)
		check(k == KK_GNP || (st.kinds[k].n == 0 && !st.kinds[k].synced), "another kind changed");
	if (o->n > 1)
		qsort(o->v, o->n, sizeof(o->v[0]), by_key);
	for (size_t i = 0; i < o->n; i++) {
		check(o->v[i].json[0] == '{', "a stored object is not a JSON object");
		check(o->v[i].key[0] != '\0', "an empty key");
		check(i == 0 || strcmp(o->v[i - 1].key, o->v[i].key) != 0, "a key twice");
	}
	watch_dec_free(&d);
	kube_store_free(&st);
}

static void
same(const struct outcome *a, const struct outcome *b)
{
	check(a->result == b->result, "the result depends on the chunking");
	check(a->events == b->events, "the events applied depend on the chunking");
	check(strcmp(a->rv, b->rv) == 0, "the resourceVersion depends on the chunking");
	check(a->version == b->version, "the store version depends on the chunking");
	check(a->n == b->n, "the object count depends on the chunking");
	for (size_t i = 0; i < a->n; i++) {
		check(strcmp(a->v[i].key, b->v[i].key) == 0, "the keys depend on the chunking");
		check(strcmp(a->v[i].json, b->v[i].json) == 0, "the JSON depends on the chunking");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct outcome whole, pieces, bytes;
	size_t max;
	uint32_t seed;

	if (!quiet) {
		log_set_level(LOG_ERR);	/* malformed events are the point: no warning per input */
		quiet = true;
	}
	if (size < 4)
		return 0;
	max = 32 + (size_t)data[0] * 16;
	seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16;
	data += 4;
	size -= 4;
	decode(data, size, max, FUZZ_WHOLE, seed, &whole);
	decode(data, size, max, FUZZ_RANDOM, seed, &pieces);
	same(&whole, &pieces);
	decode(data, size, max, FUZZ_BYTES, seed, &bytes);
	same(&whole, &bytes);
	kstore_objs_free(whole.v, whole.n);
	kstore_objs_free(pieces.v, pieces.n);
	kstore_objs_free(bytes.v, bytes.n);
	return 0;
}
