/*
 * ruleset_scan.c - ruleset_lookup: judge one packet with the compiled table.
 *
 * Runs in the worker threads, under an RCU read lock taken once per batch
 * by the caller. It allocates nothing, takes no lock and reads only the
 * block. The whole lookup lives in this one file on purpose: its helpers are
 * inlined into one function per CPU ISA (base, AVX2, AVX-512; see
 * lookup_isa), as DPDK's ACL keeps one run file per ISA, and the inlining
 * must not cross a translation unit.
 *
 *   1. the host endpoint of the packet's interface (ifmap_hep), its chain
 *      for the hook and the packet's family;
 *   2. classify: the six field values (protocol table, address, port and
 *      ICMP interval tables, each through its index);
 *   3. judge: AND the six bitsets block by block, take the matching entries
 *      in order (Log entries noted, Pass jumps, residual checks for named
 *      ports) until one decides.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "addr.h"
#include "ruleset_layout.h"

/* ---- lookup -------------------------------------------------------------------- */

static int32_t
ifmap_hep(const struct ruleset *rs, uint32_t ifindex)
{
	const struct rs_ifmap *m = rs_at(rs, rs->ifmap);
	uint32_t lo = 0, hi = rs->nifmap;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (m[mid].ifindex == ifindex)
			return m[mid].hep;
		if (m[mid].ifindex < ifindex)
			lo = mid + 1;
		else
			hi = mid;
	}
	return rs->wildcard;
}

static bool
pside_match(const struct ruleset *rs, const struct rs_pside *s, const struct pkt_key *k,
	    const struct addr *a, uint16_t port)
{
	const uint32_t *r = rs_at(rs, s->ranges);
	const struct rs_tuple *t = rs_at(rs, s->tuples);

	for (uint32_t i = 0; i < s->nranges; i++)
		if (port >= (r[i] >> 16) && port <= (r[i] & 0xffff))
			return true;
	for (uint32_t i = 0; i < s->ntuples; i++)
		if (t[i].port == port && t[i].proto == k->proto && t[i].family == k->family &&
		    addr_cmp(&t[i].addr, a) == 0)
			return true;
	return false;
}

/* Exact check of an entry whose port lists name ports (rare). */
static bool
resid_ok(const struct ruleset *rs, const struct rs_entry *e, const struct pkt_key *k)
{
	const struct rs_resid *r = rs_at(rs, e->resid);

	for (int i = 0; i < 4; i++) {
		const struct rs_pside *s = &r->side[i];
		bool src = i < 2, neg = i & 1, m;

		if (!s->present)
			continue;
		if (!(k->flags & PKT_F_PORTS))
			return false;
		m = pside_match(rs, s, k, src ? &k->src : &k->dst, src ? k->sport : k->dport);
		if (m == neg)
			return false;
	}
	return true;
}

static void
verdict_set(struct rs_verdict *v, uint8_t outcome, uint8_t reason, uint32_t meta)
{
	v->outcome = outcome;
	v->reason = reason;
	v->meta = meta;
}

static bool
hook_is_in(enum rs_hook hook)
{
	return hook == RS_UNTRACKED_IN || hook == RS_PREDNAT_IN || hook == RS_NORMAL_IN ||
	       hook == RS_FORWARD_IN;
}

/*
 * The scan ANDs one block (8 words) of each of the six bitsets at a time,
 * with GCC vector types: SSE2 code by default, AVX2 or AVX-512 where the CPU
 * has them (x86-64; the whole lookup is compiled once per ISA and chosen at
 * the first call, see lookup_isa). Matching entries are then taken in order
 * from the block's bits without leaving the scan. The vectors only travel
 * between inlined functions, so their argument ABI is of no concern.
 */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef uint64_t rs_vec __attribute__((vector_size(RS_BLOCK_WORDS * 8), may_alias));
typedef uint64_t rs_vec4 __attribute__((vector_size(32)));
typedef uint64_t rs_vec2 __attribute__((vector_size(16)));

/* Lanes from word w on: all ones; before it: zero. */
static const rs_vec lanes_from[RS_BLOCK_WORDS + 1] = {
	{ ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull },
	{ 0, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull },
	{ 0, 0, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull },
	{ 0, 0, 0, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull },
	{ 0, 0, 0, 0, ~0ull, ~0ull, ~0ull, ~0ull },
	{ 0, 0, 0, 0, 0, ~0ull, ~0ull, ~0ull },
	{ 0, 0, 0, 0, 0, 0, ~0ull, ~0ull },
	{ 0, 0, 0, 0, 0, 0, 0, ~0ull },
	{ 0, 0, 0, 0, 0, 0, 0, 0 },
};

/* The entries of a block from entry @pos (mod the block size) on. */
static inline __attribute__((always_inline)) rs_vec
vec_from(uint32_t pos)
{
	uint32_t w = (pos >> 6) & (RS_BLOCK_WORDS - 1);

	return lanes_from[w + 1] |
	       ((lanes_from[w] ^ lanes_from[w + 1]) & (uint64_t)(~0ull << (pos & 63)));
}

/* Is any bit of @m set? (An OR across the lanes: cheap on every ISA.) */
static inline __attribute__((always_inline)) bool
vec_any(rs_vec m)
{
	rs_vec4 h = __builtin_shufflevector(m, m, 0, 1, 2, 3) |
		    __builtin_shufflevector(m, m, 4, 5, 6, 7);
	rs_vec2 q = __builtin_shufflevector(h, h, 0, 1) | __builtin_shufflevector(h, h, 2, 3);

	return (q[0] | q[1]) != 0;
}

/* The block ids of the row a value stands for (RS_ROWS_DESC: uint16_t, WIDE: uint32_t). */
static inline __attribute__((always_inline)) const void *
row_ids(const struct ruleset *rs, const struct rs_chain *c, uint32_t val)
{
	if (c->mode == RS_ROWS_DESC)
		return rs_at(rs, c->rows + (val >> 16) * c->rowbytes);
	return rs_at(rs, val);
}

enum { JUDGE_NEXT, JUDGE_DONE, JUDGE_JUMP };

/*
 * Take the matching entries of @bits (word @w of block @b) in order: record
 * Log entries, decide on a terminal one (JUDGE_DONE), or on a Pass set *pos
 * to where evaluation goes on (JUDGE_JUMP). The action comes from the
 * chain's compact acts[] (hot in cache), the rest from the entry.
 */
static inline __attribute__((always_inline)) int
judge_bits(const struct ruleset *rs, const struct rs_chain *c, uint32_t b, uint32_t w,
	   uint64_t bits, const struct pkt_key *k, struct rs_verdict *v, uint32_t *pos)
{
	const uint8_t *acts = rs_at(rs, c->acts);
	const struct rs_entry *ent = rs_at(rs, c->entries);

	while (bits != 0) {
		uint32_t i = b << RS_BLOCK_SHIFT | w << 6 | (uint32_t)__builtin_ctzll(bits);
		uint8_t a = acts[i];

		bits &= bits - 1;
		if (unlikely(a & RS_ACT_RESID)) {
			if (!resid_ok(rs, &ent[i], k))
				continue;
			a &= (uint8_t)~RS_ACT_RESID;
		}
		if (a == RS_A_LOG) {
			if (v->nlog < RS_MAX_LOGS)
				v->log[v->nlog++] = ent[i].meta;
			continue;
		}
		if (a == RS_A_PASS) {
			/* forward only, whatever the table says: never loop */
			*pos = ent[i].next > i ? ent[i].next : i + 1;
			return JUDGE_JUMP;
		}
		/* a terminal entry: what it decides was worked out for this hook */
		verdict_set(v, ent[i].outcome, ent[i].reason, ent[i].meta);
		return JUDGE_DONE;
	}
	return JUDGE_NEXT;
}

/* The block ids of the rows of the six values @val. */
static inline __attribute__((always_inline)) void
rows_of(const struct ruleset *rs, const struct rs_chain *c, const uint32_t val[6],
	const void *r[6])
{
	r[0] = row_ids(rs, c, val[0]);
	r[1] = row_ids(rs, c, val[1]);
	r[2] = row_ids(rs, c, val[2]);
	r[3] = row_ids(rs, c, val[3]);
	r[4] = row_ids(rs, c, val[4]);
	r[5] = row_ids(rs, c, val[5]);
}

/* The AND of block @b of the six rows, with block ids of @idw bytes (2 or 4). */
static inline __attribute__((always_inline)) rs_vec
ids_and(const rs_vec *blk, const void *const r[6], uint32_t b, unsigned idw)
{
	if (idw == 2)
		return blk[((const uint16_t *)r[0])[b]] & blk[((const uint16_t *)r[1])[b]] &
		       blk[((const uint16_t *)r[2])[b]] & blk[((const uint16_t *)r[3])[b]] &
		       blk[((const uint16_t *)r[4])[b]] & blk[((const uint16_t *)r[5])[b]];
	return blk[((const uint32_t *)r[0])[b]] & blk[((const uint32_t *)r[1])[b]] &
	       blk[((const uint32_t *)r[2])[b]] & blk[((const uint32_t *)r[3])[b]] &
	       blk[((const uint32_t *)r[4])[b]] & blk[((const uint32_t *)r[5])[b]];
}

/* The AND of block @b of the rows of the six values @val. */
static inline __attribute__((always_inline)) rs_vec
block_and(const struct ruleset *rs, const struct rs_chain *c, const uint32_t val[6],
	  uint32_t b)
{
	const rs_vec *blk = rs_at(rs, c->blocks);
	const void *r[6];

	if (c->mode == RS_ROWS_FLAT)	/* the values are the block ids */
		return blk[val[0]] & blk[val[1]] & blk[val[2]] & blk[val[3]] & blk[val[4]] &
		       blk[val[5]];
	if (c->mode == RS_ROWS_DESC && b == 0)	/* the values hold block 0's ids */
		return blk[val[0] & 0xffff] & blk[val[1] & 0xffff] & blk[val[2] & 0xffff] &
		       blk[val[3] & 0xffff] & blk[val[4] & 0xffff] & blk[val[5] & 0xffff];
	rows_of(rs, c, val, r);
	return c->mode == RS_ROWS_DESC ? ids_and(blk, r, b, 2) : ids_and(blk, r, b, 4);
}

/*
 * The vector primitives the lookup needs, one set per ISA: is any bit of a
 * block set, one bit per non-zero word of a block, word w of a block, and
 * which of the RS_IX_WIN interval starts of an index window is the last one
 * at or below a key (a window always starts at or below it).
 * lookup_body takes them as function pointers; once it is inlined into the
 * ISA's lookup function they are constants, and their bodies are inlined
 * there too, compiled for that ISA (intrinsics included).
 */
struct vec_ops {
	bool (*any)(rs_vec m);
	uint32_t (*mask)(rs_vec m);
	uint64_t (*word)(rs_vec m, uint32_t w);
	uint32_t (*win)(const struct rs_pair *p, uint32_t key);
};

static inline bool
base_any(rs_vec m)
{
	return vec_any(m);
}

static inline uint32_t
base_mask(rs_vec m)
{
	uint32_t mask = 0;

	for (uint32_t w = 0; w < RS_BLOCK_WORDS; w++)
		mask |= (uint32_t)(m[w] != 0) << w;
	return mask;
}

static inline uint64_t
base_word(rs_vec m, uint32_t w)
{
	return m[w];
}

/* Three branch-free steps of a binary search (RS_IX_WIN is 8). */
static inline uint32_t
base_win(const struct rs_pair *p, uint32_t key)
{
	uint32_t i = 0;

	i += p[i + 4].start <= key ? 4 : 0;
	i += p[i + 2].start <= key ? 2 : 0;
	i += p[i + 1].start <= key ? 1 : 0;
	return i;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define LOOKUP_X86 1

__attribute__((target("avx2"))) static inline uint32_t
avx2_mask(rs_vec m)
{
	__m256i lo = (__m256i)__builtin_shufflevector(m, m, 0, 1, 2, 3);
	__m256i hi = (__m256i)__builtin_shufflevector(m, m, 4, 5, 6, 7);
	__m256i z = _mm256_setzero_si256();
	uint32_t zlo = (uint32_t)_mm256_movemask_pd((__m256d)_mm256_cmpeq_epi64(lo, z));
	uint32_t zhi = (uint32_t)_mm256_movemask_pd((__m256d)_mm256_cmpeq_epi64(hi, z));

	return ~(zlo | zhi << 4) & 0xff;
}

__attribute__((target("avx2"))) static inline bool
avx2_any(rs_vec m)
{
	__m256i x = (__m256i)(__builtin_shufflevector(m, m, 0, 1, 2, 3) |
			      __builtin_shufflevector(m, m, 4, 5, 6, 7));

	return !_mm256_testz_si256(x, x);
}

__attribute__((target("avx512f"))) static inline uint32_t
avx512_mask(rs_vec m)
{
	return _mm512_test_epi64_mask((__m512i)m, (__m512i)m);
}

__attribute__((target("avx512f"))) static inline bool
avx512_any(rs_vec m)
{
	return _mm512_test_epi64_mask((__m512i)m, (__m512i)m) != 0;
}

__attribute__((target("avx512f"))) static inline uint64_t
avx512_word(rs_vec m, uint32_t w)
{
	return (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(
		_mm512_permutexvar_epi64(_mm512_set1_epi64(w), (__m512i)m)));
}

/* All eight starts (the even 32-bit lanes of the window's pairs) compared at once. */
__attribute__((target("avx512f"))) static inline uint32_t
avx512_win(const struct rs_pair *p, uint32_t key)
{
	__mmask16 le = _mm512_mask_cmple_epu32_mask(0x5555, _mm512_loadu_si512(p),
						    _mm512_set1_epi32((int)key));

	return (uint32_t)__builtin_popcount(le) - 1;
}
#endif

/* Take the matching entries of block @b, whose AND is @m, in order (see judge_bits). */
static inline __attribute__((always_inline)) int
judge_block(const struct ruleset *rs, const struct rs_chain *c, uint32_t b, rs_vec m,
	    const struct pkt_key *k, struct rs_verdict *v, uint32_t *pos,
	    const struct vec_ops ops)
{
	for (uint32_t mask = ops.mask(m); mask != 0; mask &= mask - 1) {
		uint32_t w = (uint32_t)__builtin_ctz(mask);
		int r = judge_bits(rs, c, b, w, ops.word(m, w), k, v, pos);

		if (r != JUDGE_NEXT)
			return r;
	}
	return JUDGE_NEXT;
}

/*
 * The blocks from @b on, with block ids of @idw bytes (2 or 4): ANDed six
 * at a time, until a block with a match decides or jumps (see judge_bits).
 */
static inline __attribute__((always_inline)) int
scan_blocks(const struct ruleset *rs, const struct rs_chain *c, const uint32_t val[6],
	    uint32_t b, const struct pkt_key *k, struct rs_verdict *v, uint32_t *pos,
	    const struct vec_ops ops, unsigned idw)
{
	const rs_vec *blk = rs_at(rs, c->blocks);
	const void *r[6];
	uint32_t nb = c->nblocks;

	rows_of(rs, c, val, r);
	for (; b < nb; b++) {
		rs_vec m = ids_and(blk, r, b, idw);
		int res;

		if (likely(!ops.any(m)))
			continue;
		res = judge_block(rs, c, b, m, k, v, pos, ops);
		if (res != JUDGE_NEXT)
			return res;
	}
	return JUDGE_NEXT;
}

/* judge_body for a chain of one word (up to 64 entries): plain scalar code. */
static inline __attribute__((always_inline)) void
judge_word(const struct ruleset *rs, const struct rs_chain *c, const uint32_t val[6],
	   const struct pkt_key *k, struct rs_verdict *v)
{
	const uint64_t *blk = rs_at(rs, c->blocks);
	uint64_t bits = blk[val[0] * RS_BLOCK_WORDS] & blk[val[1] * RS_BLOCK_WORDS] &
			blk[val[2] * RS_BLOCK_WORDS] & blk[val[3] * RS_BLOCK_WORDS] &
			blk[val[4] * RS_BLOCK_WORDS] & blk[val[5] * RS_BLOCK_WORDS];
	uint32_t pos = 0;
	int r;

	do {
		r = judge_bits(rs, c, 0, 0, bits & ~0ull << (pos & 63), k, v, &pos);
		if (r == JUDGE_DONE)
			return;
	} while (r == JUDGE_JUMP && pos < 64);
	verdict_set(v, RS_CONTINUE, REASON_NO_POLICY, RS_NO_META);
}

/*
 * The first deciding entry of chain @c (more than one word) for a packet
 * whose six fields gave the values @val, with the Log entries before it.
 */
static inline __attribute__((always_inline)) void
judge_body(const struct ruleset *rs, const struct rs_chain *c, const uint32_t val[6],
	   const struct pkt_key *k, struct rs_verdict *v, const struct vec_ops ops)
{
	uint32_t pos = 0, b;
	rs_vec m;
	int r;

restart:
	b = pos >> RS_BLOCK_SHIFT;
	if (b >= c->nblocks)
		goto none;
	if (c->mode == RS_ROWS_DESC && b == 0) {
		/* block 0 needs no row: fetch the rows meanwhile, for the blocks after it */
		const char *rows = rs_at(rs, c->rows);

		__builtin_prefetch(rows + (val[0] >> 16) * c->rowbytes);
		__builtin_prefetch(rows + (val[1] >> 16) * c->rowbytes);
		__builtin_prefetch(rows + (val[2] >> 16) * c->rowbytes);
		__builtin_prefetch(rows + (val[3] >> 16) * c->rowbytes);
		__builtin_prefetch(rows + (val[4] >> 16) * c->rowbytes);
		__builtin_prefetch(rows + (val[5] >> 16) * c->rowbytes);
	}
	m = block_and(rs, c, val, b);	/* the first block: from pos on */
	if (pos & ((1u << RS_BLOCK_SHIFT) - 1))
		m &= vec_from(pos);
	r = judge_block(rs, c, b, m, k, v, &pos, ops);
	if (r == JUDGE_NEXT && b + 1 < c->nblocks)
		r = c->mode == RS_ROWS_DESC ? scan_blocks(rs, c, val, b + 1, k, v, &pos, ops, 2) :
					      scan_blocks(rs, c, val, b + 1, k, v, &pos, ops, 4);
	if (r == JUDGE_DONE)
		return;
	if (r == JUDGE_JUMP)
		goto restart;
none:
	verdict_set(v, RS_CONTINUE, REASON_NO_POLICY, RS_NO_META);
}

/* The window index entry for a 64-bit key (see struct rs_itab). */
static inline __attribute__((always_inline)) uint32_t
itab_ix(const struct ruleset *rs, const struct rs_itab *t, uint64_t key)
{
	const uint32_t *ix = rs_at(rs, t->index);
	uint64_t d;

	if (unlikely(key < t->base))
		return ix[t->nbkt];
	d = (key - t->base) >> t->shift;
	return likely(d < t->nbkt) ? ix[d] : ix[t->nbkt + 1];
}

/*
 * The value of the interval holding @key (the first start is 0, so one
 * always does): straight from a direct index, by a branch-free search of a
 * window, or by binary search.
 */
static inline __attribute__((always_inline)) uint32_t
itab_row32(const struct ruleset *rs, const struct rs_itab *t, uint32_t key,
	   const struct vec_ops ops)
{
	const struct rs_pair *p = rs_at(rs, t->pairs);
	uint32_t lo = 0, n = t->n;

	if (t->kind == RS_IX_DIRECT)
		return ((const uint32_t *)rs_at(rs, t->index))[key];
	if (t->kind == RS_IX_WINDOW) {
		uint32_t e = itab_ix(rs, t, key);

		lo = e >> 1;
		if (likely(!(e & 1)))
			return p[lo + ops.win(p + lo, key)].row;
		n -= lo;
	}
	/* branch-light binary search for the last start <= key */
	while (n > 1) {
		uint32_t half = n / 2;

		lo = p[lo + half].start <= key ? lo + half : lo;
		n -= half;
	}
	return p[lo].row;
}

/* @a <= @b as 128-bit numbers, without branches (for the searches below). */
static inline __attribute__((always_inline)) bool
addr_le(const struct addr *a, const struct addr *b)
{
	return (a->hi < b->hi) | ((a->hi == b->hi) & (a->lo <= b->lo));
}

static inline __attribute__((always_inline)) uint32_t
itab_row128(const struct ruleset *rs, const struct rs_itab *t, const struct addr *key)
{
	const struct addr *st = rs_at(rs, t->starts);
	const uint32_t *rows = rs_at(rs, t->rows);
	uint32_t lo = 0, n = t->n;

	if (t->kind == RS_IX_WINDOW) {
		uint32_t e = itab_ix(rs, t, key->hi);

		lo = e >> 1;
		if (likely(!(e & 1))) {
			lo += addr_le(&st[lo + 4], key) ? 4 : 0;
			lo += addr_le(&st[lo + 2], key) ? 2 : 0;
			lo += addr_le(&st[lo + 1], key) ? 1 : 0;
			return rows[lo];
		}
		n -= lo;
	}
	while (n > 1) {
		uint32_t half = n / 2;

		lo = addr_le(&st[lo + half], key) ? lo + half : lo;
		n -= half;
	}
	return rows[lo];
}

/*
 * The six field values of @k in chain @c: rows (or block ids; see
 * RS_ROWS_*) of its protocol, addresses, ports and ICMP type/code.
 */
static inline __attribute__((always_inline)) void
classify(const struct ruleset *rs, const struct rs_chain *c, const struct pkt_key *k,
	 uint32_t val[6], const struct vec_ops ops)
{
	val[0] = ((const uint32_t *)rs_at(rs, c->proto))[k->proto];
	if (k->family == AF_INET) {
		val[1] = itab_row32(rs, &c->src, (uint32_t)k->src.lo, ops);
		val[2] = itab_row32(rs, &c->dst, (uint32_t)k->dst.lo, ops);
	} else {
		val[1] = itab_row128(rs, &c->src, &k->src);
		val[2] = itab_row128(rs, &c->dst, &k->dst);
	}
	if (k->flags & PKT_F_PORTS) {
		val[3] = itab_row32(rs, &c->sport, k->sport, ops);
		val[4] = itab_row32(rs, &c->dport, k->dport, ops);
	} else {
		val[3] = c->sport.none;
		val[4] = c->dport.none;
	}
	if (k->flags & PKT_F_ICMP)
		val[5] = itab_row32(rs, &c->icmp, (uint32_t)k->icmp_type << 8 | k->icmp_code,
				    ops);
	else
		val[5] = c->icmp.none;
}

static const struct vec_ops base_ops = { base_any, base_mask, base_word, base_win };

/*
 * Classify and judge in a chain of more than one word: compiled once per ISA
 * below, with that ISA's vector primitives. (Chains of one word take the
 * plain path in ruleset_lookup, without the larger function's prologue.)
 */
static inline __attribute__((always_inline)) void
lookup_body(const struct ruleset *rs, const struct rs_chain *c, const struct pkt_key *k,
	    struct rs_verdict *v, const struct vec_ops ops)
{
	uint32_t val[6];

	classify(rs, c, k, val, ops);
	judge_body(rs, c, val, k, v, ops);
}

static void
lookup_base(const struct ruleset *rs, const struct rs_chain *c, const struct pkt_key *k,
	    struct rs_verdict *v)
{
	lookup_body(rs, c, k, v, base_ops);
}

#ifdef LOOKUP_X86
__attribute__((target("avx2"))) static void
lookup_avx2(const struct ruleset *rs, const struct rs_chain *c, const struct pkt_key *k,
	    struct rs_verdict *v)
{
	lookup_body(rs, c, k, v, (struct vec_ops){ avx2_any, avx2_mask, base_word, base_win });
}

__attribute__((target("avx512f"))) static void
lookup_avx512(const struct ruleset *rs, const struct rs_chain *c, const struct pkt_key *k,
	      struct rs_verdict *v)
{
	lookup_body(rs, c, k, v,
		    (struct vec_ops){ avx512_any, avx512_mask, avx512_word, avx512_win });
}
#endif

enum { ISA_UNKNOWN, ISA_BASE, ISA_AVX2, ISA_AVX512 };

static int lookup_isa_cached;

/* The widest code this CPU runs; detected once (any thread; the answer is always the same). */
static int
lookup_isa(void)
{
	int isa = __atomic_load_n(&lookup_isa_cached, __ATOMIC_RELAXED);

	if (likely(isa != ISA_UNKNOWN))
		return isa;
	isa = ISA_BASE;
#ifdef LOOKUP_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		isa = ISA_AVX512;
	else if (__builtin_cpu_supports("avx2"))
		isa = ISA_AVX2;
#endif
	__atomic_store_n(&lookup_isa_cached, isa, __ATOMIC_RELAXED);
	return isa;
}

void
ruleset_lookup(const struct ruleset *rs, enum rs_hook hook, const struct pkt_key *k,
	       struct rs_verdict *v)
{
	const struct rs_hep *heps = rs_at(rs, rs->heps);
	const struct rs_chain *c;
	uint32_t off;
	int32_t hep;
	int isa;

	v->nlog = 0;
	hep = ifmap_hep(rs, hook_is_in(hook) ? k->iif : k->oif);
	v->hep = hep;
	if (hep < 0) {
		verdict_set(v, hook == RS_NORMAL_IN || hook == RS_NORMAL_OUT ? RS_ACCEPT :
			    RS_CONTINUE, REASON_NO_HEP, RS_NO_META);
		return;
	}
	off = heps[hep].chains[hook][k->family == AF_INET ? 0 : 1];
	if (off == 0) {
		verdict_set(v, RS_CONTINUE, REASON_NO_POLICY, RS_NO_META);
		return;
	}
	c = rs_at(rs, off);
	if (c->nwords == 1) {
		uint32_t val[6];

		classify(rs, c, k, val, base_ops);
		judge_word(rs, c, val, k, v);
		return;
	}
	isa = lookup_isa();
#ifdef LOOKUP_X86
	if (isa == ISA_AVX512) {
		lookup_avx512(rs, c, k, v);
		return;
	}
	if (isa == ISA_AVX2) {
		lookup_avx2(rs, c, k, v);
		return;
	}
#endif
	(void)isa;
	lookup_base(rs, c, k, v);
}
