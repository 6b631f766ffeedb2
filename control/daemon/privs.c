/*
 * privs.c - give up every privilege the daemon does not use.
 *
 * Runs on the main thread before any other thread starts (capabilities are
 * per thread and are inherited by the threads created later). nfqwall needs
 * CAP_NET_ADMIN: binding NFQUEUE queues, SO_RCVBUFFORCE on them, and the
 * iptables-restore it runs. Everything else goes: the bounding set (so no
 * program it runs can get more back), the ambient set, and every other
 * effective, permitted and inheritable capability; then no_new_privs, so no
 * set-uid or file-capability program can raise them again. Where the process
 * lacks CAP_SETPCAP (a container that already dropped it) the bounding set
 * stays as given and the rest still applies.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privs.h"

#define CAP_WORDS _LINUX_CAPABILITY_U32S_3

static int
cap_get(struct __user_cap_data_struct d[CAP_WORDS])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return syscall(SYS_capget, &h, d) == 0 ? 0 : -errno;
}

static int
cap_set(struct __user_cap_data_struct d[CAP_WORDS])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return syscall(SYS_capset, &h, d) == 0 ? 0 : -errno;
}

static int
cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int last = CAP_LAST_CAP;

	if (f != NULL) {
		if (fscanf(f, "%d", &last) != 1 || last < 0 || last > 63)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

static int
has(const struct __user_cap_data_struct d[CAP_WORDS], unsigned cap)
{
	return (d[cap / 32].effective >> (cap % 32)) & 1;
}

int
privs_drop(const unsigned *keep, size_t nkeep, struct privs_report *r)
{
	struct __user_cap_data_struct d[CAP_WORDS];
	uint32_t want[CAP_WORDS] = { 0 };
	int last = cap_last(), err;

	memset(r, 0, sizeof(*r));
	err = cap_get(d);
	if (err < 0)
		return err;
	for (size_t i = 0; i < nkeep; i++)
		if (keep[i] / 32 < CAP_WORDS)
			want[keep[i] / 32] |= 1u << (keep[i] % 32);
	for (size_t i = 0; i < nkeep; i++)
		if (has(d, keep[i]))
			r->kept |= 1ull << keep[i];
	r->bounding_dropped = has(d, CAP_SETPCAP);
	for (int cap = 0; r->bounding_dropped && cap <= last; cap++) {
		if ((want[cap / 32] >> (cap % 32)) & 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
			r->bounding_dropped = 0;
			break;
		}
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (unsigned w = 0; w < CAP_WORDS; w++) {
		d[w].effective &= want[w];
		d[w].permitted &= want[w];
		d[w].inheritable = 0;
	}
	err = cap_set(d);
	if (err < 0)
		return err;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	r->no_new_privs = 1;
	return 0;
}

int
privs_effective(unsigned cap)
{
	struct __user_cap_data_struct d[CAP_WORDS];

	if (cap / 32 >= CAP_WORDS || cap_get(d) < 0)
		return -1;
	return has(d, cap);
}
