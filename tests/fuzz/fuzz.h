/*
 * fuzz.h - the libFuzzer entry point every target in tests/fuzz defines, and
 * the chunking the stream decoders' targets share.
 */
#ifndef NFQWALL_FUZZ_H
#define NFQWALL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum fuzz_chunking {
	FUZZ_WHOLE,		/* the input in one piece */
	FUZZ_BYTES,		/* one byte at a time */
	FUZZ_RANDOM,		/* 1 to 64 bytes, now and then up to 2 KiB, from the seed */
};

/*
 * fuzz_chunk - the size of the next piece of @left bytes (at least 1) for
 * @mode; *@seed (xorshift32, never 0) drives FUZZ_RANDOM, so the same input
 * is cut the same way every run.
 */
static inline size_t
fuzz_chunk(enum fuzz_chunking mode, uint32_t *seed, size_t left)
{
	uint32_t r;
	size_t k;

	if (mode == FUZZ_WHOLE)
		return left;
	if (mode == FUZZ_BYTES)
		return 1;
	*seed ^= *seed << 13;
	*seed ^= *seed >> 17;
	*seed ^= *seed << 5;
	r = *seed;
	k = (r & 15) == 0 ? 1 + (r >> 8) % 2048 : 1 + (r >> 8) % 64;
	return k < left ? k : left;
}

#endif /* NFQWALL_FUZZ_H */
