/*
 * kevent.c - Warning Events about policy objects (kube.h, kube_event): what
 * the lockout guard refused or rolled back shows in `kubectl describe` and
 * `kubectl get events`, beside the log and the metric. One Event at a time,
 * posted by a thread of its own so the control thread never waits on the
 * API server; kube_stop waits for it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jscan.h"
#include "json.h"
#include "kube_int.h"
#include "log.h"

#define EVENT_TIMEOUT_S		10
#define EVENT_MESSAGE_MAX	1024	/* the API server keeps at most 1 KiB of a message */

static void *
post_thread(void *arg)
{
	struct kube_client *kc = arg;
	struct reflector r = { .kc = kc, .kind = KK_GNP };
	struct kube_buf body = { .max = 64 << 10 };
	struct kapi_call call = { .r = &r, .body = &body, .timeout_s = EVENT_TIMEOUT_S };
	CURLcode cerr;
	long status = kapi_request(&r, kc->ev_url, kc->ev_body, &call, &cerr);

	if (status == 201 || status == 200)
		log_info("kubernetes event posted", "http=%ld", status);
	else
		log_warn("kubernetes event not posted", "http=%ld error=\"%s\" answer=\"%.200s\"",
			 status, status < 0 ? curl_easy_strerror(cerr) : "",
			 body.p != NULL ? body.p : "");
	free(body.p);
	__atomic_store_n(&kc->ev_busy, 0, __ATOMIC_RELEASE);
	return NULL;
}

void
kevent_stop(struct kube_client *kc)
{
	if (kc->ev_started)
		pthread_join(kc->ev_thread, NULL);
	kc->ev_started = false;
	free(kc->ev_body);
	kc->ev_body = NULL;
}

/* @s as a JSON string into the stream @f. */
static void
put(FILE *f, const char *s)
{
	char buf[2 * EVENT_MESSAGE_MAX + 16];

	json_escape(buf, sizeof(buf), s);
	fputs(buf, f);
}

bool
kube_event(struct kube_client *kc, const char *api_version, const char *kind, const char *name,
	   const char *uid, const char *reason, const char *message)
{
	char ts[32], msg[EVENT_MESSAGE_MAX];
	time_t now = time(NULL);
	struct tm tm;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (kc == NULL)
		return false;
	if (__atomic_exchange_n(&kc->ev_busy, 1, __ATOMIC_ACQUIRE) != 0) {
		log_warn("kubernetes event dropped: another is still being posted",
			 "kind=%s name=%s reason=%s", kind, name, reason);
		return false;
	}
	kevent_stop(kc);	/* the last one's thread is done: reap it */
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(msg, sizeof(msg), "%s", message);
	f = open_memstream(&text, &len);
	if (f != NULL) {
		fputs("{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"generateName\":"
		      "\"nfqwall-\",\"namespace\":\"default\"},\"involvedObject\":{\"apiVersion\":", f);
		put(f, api_version);
		fputs(",\"kind\":", f);
		put(f, kind);
		fputs(",\"name\":", f);
		put(f, name);
		if (uid[0] != '\0') {
			fputs(",\"uid\":", f);
			put(f, uid);
		}
		fputs("},\"reason\":", f);
		put(f, reason);
		fputs(",\"message\":", f);
		put(f, msg);
		fprintf(f, ",\"type\":\"Warning\",\"count\":1,\"firstTimestamp\":\"%s\","
			"\"lastTimestamp\":\"%s\",\"source\":{\"component\":\"nfqwall\",\"host\":", ts,
			ts);
		put(f, kc->node ? kc->node : "");
		fputs("},\"reportingComponent\":\"nfqwall\",\"reportingInstance\":", f);
		put(f, kc->node ? kc->node : "");
		fputs("}", f);
		if (fclose(f) != 0) {
			free(text);
			text = NULL;
		}
	}
	if (text == NULL ||
	    snprintf(kc->ev_url, sizeof(kc->ev_url), "%s/api/v1/namespaces/default/events",
		     kc->server) >= (int)sizeof(kc->ev_url)) {
		free(text);
		__atomic_store_n(&kc->ev_busy, 0, __ATOMIC_RELEASE);
		log_warn("kubernetes event dropped: out of memory", "kind=%s name=%s", kind, name);
		return false;
	}
	kc->ev_body = text;
	if (pthread_create(&kc->ev_thread, NULL, post_thread, kc) != 0) {
		free(kc->ev_body);
		kc->ev_body = NULL;
		__atomic_store_n(&kc->ev_busy, 0, __ATOMIC_RELEASE);
		log_warn("kubernetes event dropped: no thread", "kind=%s name=%s", kind, name);
		return false;
	}
	kc->ev_started = true;
	return true;
}

void
kube_store_uid(struct kube_store *st, enum kube_kind k, const char *key, char *buf, size_t size)
{
	const struct kube_obj *o;

	buf[0] = '\0';
	pthread_mutex_lock(&st->lock);
	o = kube_store_get(&st->kinds[k], key);
	if (o != NULL && !jscan_string(jscan_path((struct jspan){ o->json, strlen(o->json) },
						  "metadata.uid"), buf, size))
		buf[0] = '\0';
	pthread_mutex_unlock(&st->lock);
}
