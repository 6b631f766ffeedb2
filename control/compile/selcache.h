/*
 * selcache.h - what each rule selector matches among the cluster's
 * endpoints (every other Node's auto host endpoint and every pod), kept
 * between compiles.
 *
 * Without it every compile matches every selector against every endpoint:
 * at 150,000 pods that is most of a reload. The cache keeps, per selector
 * and IP family, how many endpoints contribute each address, and updates
 * the counts from what the last sync of the cluster changed (the endpoints
 * it retired and those it made: endpoints.c), so a pod event costs a few
 * selector matches. A change of a namespace's or service account's labels,
 * a cluster rebuilt from nothing, or a sync the cache did not see, empties
 * it; a selector seen for the first time is matched against every endpoint
 * once. The compiler asks it in selector_collect; the polset's own
 * HostEndpoints and network sets are never cached. Control thread only.
 */
#ifndef NFQWALL_SELCACHE_H
#define NFQWALL_SELCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster.h"
#include "ivset.h"
#include "selector.h"

struct selcache;

/* selcache_new / selcache_free - an empty cache (NULL when out of memory). */
struct selcache *selcache_new(void);
void selcache_free(struct selcache *sc);

/*
 * selcache_sync - take in the changes of @cl's last sync (call once after
 * each endpoints_load that succeeded, before the retired endpoints are
 * freed). Never fails: what it cannot account for, it forgets.
 */
void selcache_sync(struct selcache *sc, const struct cluster *cl);

/*
 * selcache_addrs - add to @out (not normalised) the addresses of @family of
 * the endpoints of @cl that @sel (formatted as @text) selects. False when
 * out of memory (then @out is marked failed, as ivset operations do).
 */
bool selcache_addrs(struct selcache *sc, const struct cluster *cl, const struct selector *sel,
		    const char *text, uint8_t family, struct ivset *out);

/* selcache_sweep - forget the selectors no compile asked for since the last sweep. */
void selcache_sweep(struct selcache *sc);

/* What the cache did since it was made: lookups answered from it, and entries built
 * by matching every endpoint. */
void selcache_stats(const struct selcache *sc, uint64_t *hits, uint64_t *builds);

#endif /* NFQWALL_SELCACHE_H */
