/*
 * fuzz_ifpattern.c - libFuzzer target for control/policy/ifpattern.c.
 *
 * The input is a pattern, then optionally a NUL and a name. A pattern that
 * compiles is matched against that name and a few fixed ones; a refusal
 * must say why. Nothing may crash, leak or take unbounded time (the
 * matcher's cost is bounded by the pattern's size and the name's length).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ifpattern.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "", "eth0", "vxlan.calico", "lo", "ens5f1np1",
					     "aaaaaaaaaaaaaaa" };
	char *text = malloc(size + 1), why[200] = "";
	struct ifpattern *p = NULL;
	const char *name = NULL;
	int err;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (strlen(text) < size)
		name = text + strlen(text) + 1;
	err = ifpattern_compile(text, &p, why, sizeof(why));
	if (err != 0) {
		if (p != NULL || why[0] == '\0' ||
		    (err != -EINVAL && err != -ENOTSUP && err != -ENOMEM))
			abort();
		free(text);
		return 0;
	}
	if (name != NULL)
		(void)ifpattern_match(p, name);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		(void)ifpattern_match(p, names[i]);
	/* the empty pattern matches every name; matching twice gives one answer */
	if (name != NULL && ifpattern_match(p, name) != ifpattern_match(p, name))
		abort();
	ifpattern_free(p);
	free(text);
	return 0;
}
