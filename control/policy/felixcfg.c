/*
 * felixcfg.c - decoding FelixConfiguration objects. FelixConfiguration has
 * many fields; nfqwall reads only the failsafe port lists (failsafe.c).
 * "default" applies to every node, "node.<name>" overrides it for one.
 * Control thread only.
 */
#include <stdlib.h>

#include "decode.h"

void
felixcfg_free(struct felixcfg *f)
{
	if (f == NULL)
		return;
	free(f->name);
	failsafe_list_free(&f->in);
	failsafe_list_free(&f->out);
	free(f);
}

void
decode_felixcfg(struct dctx *c, const yaml_node_t *obj, struct meta *m)
{
	yaml_node_t *spec = dget(c, obj, "spec"), *n;
	struct felixcfg *f = dcalloc(c, 1, sizeof(*f));

	if (f == NULL)
		return;
	f->name = m->name;
	m->name = NULL;
	f->loc = (struct srcloc){ c->file, ydoc_line(obj), ydoc_col(obj) };
	if (spec != NULL && dmap(c, spec, "spec")) {
		n = ydoc_get(c->y, spec, "failsafeInboundHostPorts");
		if (n != NULL) {
			dpath_push(c, "spec.failsafeInboundHostPorts");
			if (ydoc_is_null(n))
				f->in.set = false;
			else
				decode_failsafe_list(c, n, &f->in);
			dpath_pop(c, 0);
		}
		n = ydoc_get(c->y, spec, "failsafeOutboundHostPorts");
		if (n != NULL) {
			dpath_push(c, "spec.failsafeOutboundHostPorts");
			if (!ydoc_is_null(n))
				decode_failsafe_list(c, n, &f->out);
			dpath_pop(c, 0);
		}
	}
	if (dfailed(c)) {
		felixcfg_free(f);
		return;
	}
	polset_add(c, OBJ_FELIXCFG, f);
}
