/*
 * mark.c - where the fast path's mark bits sit inside --mark-mask (see
 * include/mark.h for the layout and what each bit means). Computed once at
 * start by the control thread; the workers and the rule renderer read the
 * result.
 */
#include <errno.h>

#include "mark.h"

int
mark_layout_init(struct mark_layout *ml, uint32_t mask)
{
	unsigned lo, bits;

	if (mask == 0)
		return -EINVAL;
	lo = (unsigned)__builtin_ctz(mask);
	bits = 32 - lo - (unsigned)__builtin_clz(mask);
	/* contiguous: mask >> lo is 2^bits - 1 */
	if (bits < 13 || ((mask >> lo) & ((mask >> lo) + 1)) != 0)
		return -EINVAL;
	ml->mask = mask;
	ml->gen_shift = lo + bits - 8;
	ml->gen_mask = 0xffu << ml->gen_shift;
	ml->verdict = 1u << (ml->gen_shift - 1);
	ml->prednat = 1u << (ml->gen_shift - 2);
	ml->est = 1u << (ml->gen_shift - 3);
	ml->reply = 1u << (ml->gen_shift - 4);
	ml->raw = 1u << (ml->gen_shift - 5);
	return 0;
}
