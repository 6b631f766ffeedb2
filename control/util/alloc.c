/*
 * alloc.c - checked growth of realloc'd arrays (control path only).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

int
array_reserve(void *arrp, size_t *cap, size_t need, size_t elem)
{
	void **pp = arrp;
	size_t ncap = *cap ? *cap : 4;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (elem != 0 && ncap > SIZE_MAX / elem)
		return -ENOMEM;
	np = realloc(*pp, ncap * elem);
	if (np == NULL)
		return -ENOMEM;
	*pp = np;
	*cap = ncap;
	return 0;
}
