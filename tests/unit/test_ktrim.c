/*
 * test_ktrim.c - the digests the Kubernetes store keeps of Nodes,
 * Namespaces, ServiceAccounts and Pods (control/k8s/ktrim.c): the exact
 * text made of realistic API objects (managedFields, images, conditions and
 * the rest left out), Calico's rules for which pods are endpoints and where
 * their addresses come from, named container ports, a Node's addresses
 * (annotations, the Interfaces annotation, InternalIP but not ExternalIP),
 * escapes copied verbatim, and the bounds on addresses and ports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsoncheck.h"
#include "kube_int.h"

/* The digest of @json as kind @k: kube_trim's result in *@rc, the text (malloc'd) or NULL. */
static char *
trim_rc(enum kube_kind k, const char *json, int *rc)
{
	char *out = (char *)0x1;

	*rc = kube_trim(k, (struct jspan){ json, strlen(json) }, &out);
	if (*rc != 0)
		assert_null(out);	/* nothing is handed out but a digest */
	return out;
}

/* The digest of @json, which must be kept; it must be valid JSON. */
static char *
trim(enum kube_kind k, const char *json)
{
	int rc;
	char *out = trim_rc(k, json, &rc);

	if (rc != 0)
		fail_msg("kube_trim: %d for %s", rc, json);
	assert_non_null(out);
	if (!jc_valid(out, strlen(out)))
		fail_msg("the digest is not JSON: %s", out);
	return out;
}

static void
expect_digest_at(int line, enum kube_kind k, const char *json, const char *want)
{
	char *got = trim(k, json);

	if (strcmp(got, want) != 0)
		fail_msg("line %d: digest\n  got  %s\n  want %s", line, got, want);
	free(got);
}

#define EXPECT_DIGEST(k, json, want) expect_digest_at(__LINE__, (k), (json), (want))

static void
expect_drop_at(int line, const char *json)
{
	int rc;
	char *out = trim_rc(KK_POD, json, &rc);

	if (rc != KUBE_TRIM_DROP)
		fail_msg("line %d: kube_trim gave %d (%s), wanted a drop", line, rc,
			 out ? out : "-");
}

#define EXPECT_DROP(json) expect_drop_at(__LINE__, (json))

/* ---- a realistic Pod --------------------------------------------------------------------- */

/* A pod as the API server lists it, with everything a digest leaves out. META_EXTRA goes at
 * the end of its metadata, SPEC_EXTRA at the end of its spec; STATUS is the whole status. */
#define POD_JSON(META_EXTRA, SPEC_EXTRA, STATUS) \
	"{\"metadata\":{\"name\":\"web-7d9f8b6c5-x2k4q\",\"generateName\":\"web-7d9f8b6c5-\"," \
	"\"namespace\":\"shop\",\"uid\":\"0f4c1f7e-3a5b-4c1d-9e2f-2b6a7c8d9e0f\"," \
	"\"resourceVersion\":\"184467\",\"creationTimestamp\":\"2026-01-02T03:04:05Z\"," \
	"\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7d9f8b6c5\"}," \
	"\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\"," \
	"\"name\":\"web-7d9f8b6c5\",\"uid\":\"aa\",\"controller\":true," \
	"\"blockOwnerDeletion\":true}]," \
	"\"managedFields\":[{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\"," \
	"\"apiVersion\":\"v1\",\"time\":\"2026-01-02T03:04:05Z\",\"fieldsType\":\"FieldsV1\"," \
	"\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:app\":{}}},\"f:spec\":" \
	"{\"f:containers\":{\"k:{\\\"name\\\":\\\"web\\\"}\":{\"f:ports\":{\"k:{\\\"containerPort\\\"" \
	":8080,\\\"protocol\\\":\\\"TCP\\\"}\":{\"f:name\":{}}}}}}}}]" META_EXTRA "}," \
	"\"spec\":{\"volumes\":[{\"name\":\"kube-api-access-abcde\",\"projected\":{\"sources\":" \
	"[{\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":\"token\"}}]," \
	"\"defaultMode\":420}}]," \
	"\"containers\":[{\"name\":\"web\",\"image\":\"registry.example/web:1.2.3\"," \
	"\"ports\":[{\"name\":\"http\",\"containerPort\":8080,\"protocol\":\"TCP\"}," \
	"{\"containerPort\":9000,\"protocol\":\"TCP\"}]," \
	"\"env\":[{\"name\":\"PORT\",\"value\":\"8080\"}]," \
	"\"resources\":{\"limits\":{\"cpu\":\"500m\"},\"requests\":{\"cpu\":\"100m\"}}," \
	"\"readinessProbe\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":\"http\"}}," \
	"\"terminationMessagePath\":\"/dev/termination-log\",\"imagePullPolicy\":\"IfNotPresent\"}," \
	"{\"name\":\"sidecar\",\"image\":\"registry.example/proxy:4\",\"ports\":" \
	"[{\"name\":\"metrics\",\"containerPort\":9102,\"protocol\":\"UDP\"}," \
	"{\"name\":\"admin\",\"containerPort\":9901}]}]," \
	"\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30," \
	"\"dnsPolicy\":\"ClusterFirst\",\"serviceAccountName\":\"web-sa\"," \
	"\"serviceAccount\":\"web-sa\",\"nodeName\":\"worker-2\",\"securityContext\":{}," \
	"\"schedulerName\":\"default-scheduler\",\"tolerations\":[{\"key\":" \
	"\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"," \
	"\"tolerationSeconds\":300}],\"priority\":0,\"enableServiceLinks\":true," \
	"\"preemptionPolicy\":\"PreemptLowerPriority\"" SPEC_EXTRA "}," \
	"\"status\":{" STATUS "}}"

#define POD_STATUS_RUNNING \
	"\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"," \
	"\"lastProbeTime\":null,\"lastTransitionTime\":\"2026-01-02T03:04:09Z\"}]," \
	"\"hostIP\":\"10.0.0.12\",\"hostIPs\":[{\"ip\":\"10.0.0.12\"}]," \
	"\"podIP\":\"10.244.2.17\",\"podIPs\":[{\"ip\":\"10.244.2.17\"},{\"ip\":\"fd00:244:2::11\"}]," \
	"\"startTime\":\"2026-01-02T03:04:05Z\",\"containerStatuses\":[{\"name\":\"web\"," \
	"\"state\":{\"running\":{\"startedAt\":\"2026-01-02T03:04:07Z\"}},\"ready\":true," \
	"\"restartCount\":0,\"image\":\"registry.example/web:1.2.3\",\"imageID\":" \
	"\"registry.example/web@sha256:0123\",\"containerID\":\"containerd://abc\"}]," \
	"\"qosClass\":\"Burstable\""

static void
test_pod_digest(void **state)
{
	(void)state;
	EXPECT_DIGEST(KK_POD, POD_JSON("", "", POD_STATUS_RUNNING),
		      "{\"ns\":\"shop\",\"name\":\"web-7d9f8b6c5-x2k4q\",\"sa\":\"web-sa\","
		      "\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7d9f8b6c5\"},"
		      "\"ips\":[\"10.244.2.17\",\"fd00:244:2::11\"],"
		      "\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080},"
		      "{\"name\":\"metrics\",\"protocol\":\"UDP\",\"port\":9102},"
		      "{\"name\":\"admin\",\"protocol\":\"TCP\",\"port\":9901}]}");
	/* kstore_obj_make keeps the same digest under "namespace/name" */
	{
		static const char pod[] = POD_JSON("", "", POD_STATUS_RUNNING);
		struct kube_obj o;
		char *want = trim(KK_POD, pod);

		assert_int_equal(kstore_obj_make((struct jspan){ pod, strlen(pod) }, KK_POD, "v1",
						 &o), 0);
		assert_string_equal(o.key, "shop/web-7d9f8b6c5-x2k4q");
		assert_string_equal(o.json, want);
		free(o.key);
		free(o.json);
		free(want);
	}
}

/* A minimal pod: what is absent gets its default; the digest's key order is fixed. */
static void
test_pod_minimal(void **state)
{
	(void)state;
	EXPECT_DIGEST(KK_POD,
		      "{\"metadata\":{\"namespace\":\"a\",\"name\":\"p\"},"
		      "\"spec\":{\"nodeName\":\"n\"},\"status\":{\"podIP\":\"10.1.1.1\"}}",
		      "{\"ns\":\"a\",\"name\":\"p\",\"sa\":\"\",\"labels\":{},"
		      "\"ips\":[\"10.1.1.1\"],\"ports\":[]}");
	/* labels null, keys in another order, blanks around: the same digest */
	EXPECT_DIGEST(KK_POD,
		      "{ \"status\" : { \"podIP\" : \"10.1.1.1\" } , \"spec\" : { \"nodeName\" : "
		      "\"n\", \"containers\": [] }, \"metadata\" : { \"labels\" : null, \"name\" : "
		      "\"p\", \"namespace\" : \"a\" } }",
		      "{\"ns\":\"a\",\"name\":\"p\",\"sa\":\"\",\"labels\":{},"
		      "\"ips\":[\"10.1.1.1\"],\"ports\":[]}");
}

/* ---- which pods are endpoints ------------------------------------------------------------- */

static void
test_pod_drop_rules(void **state)
{
	char *d;

	(void)state;
	/* on the host's network: the node's own addresses */
	EXPECT_DROP(POD_JSON("", ",\"hostNetwork\":true", POD_STATUS_RUNNING));
	/* hostNetwork false is an ordinary pod */
	d = trim(KK_POD, POD_JSON("", ",\"hostNetwork\":false", POD_STATUS_RUNNING));
	assert_non_null(strstr(d, "\"ips\":[\"10.244.2.17\",\"fd00:244:2::11\"]"));
	free(d);
	/* not scheduled: no nodeName, or an empty one */
	EXPECT_DROP("{\"metadata\":{\"namespace\":\"a\",\"name\":\"p\"},\"spec\":{},"
		    "\"status\":{\"phase\":\"Pending\",\"podIP\":\"10.1.1.1\"}}");
	EXPECT_DROP("{\"metadata\":{\"namespace\":\"a\",\"name\":\"p\"},\"spec\":{\"nodeName\":\"\"},"
		    "\"status\":{\"phase\":\"Pending\",\"podIP\":\"10.1.1.1\"}}");
	/* finished phases: the address may be another pod's already */
	EXPECT_DROP(POD_JSON("", "", "\"phase\":\"Succeeded\",\"podIP\":\"10.244.2.17\""));
	EXPECT_DROP(POD_JSON("", "", "\"phase\":\"Failed\",\"podIP\":\"10.244.2.17\""));
	EXPECT_DROP(POD_JSON("", "", "\"phase\":\"Completed\",\"podIP\":\"10.244.2.17\""));
	/* Pending and Unknown are not finished */
	d = trim(KK_POD, POD_JSON("", "", "\"phase\":\"Pending\",\"podIP\":\"10.244.2.17\""));
	free(d);
	d = trim(KK_POD, POD_JSON("", "", "\"phase\":\"Unknown\",\"podIP\":\"10.244.2.17\""));
	free(d);
	/* being deleted after Calico's CNI released the address: the podIP annotation is "" */
	EXPECT_DROP(POD_JSON(",\"deletionTimestamp\":\"2026-01-02T04:00:00Z\","
			     "\"deletionGracePeriodSeconds\":30,\"annotations\":"
			     "{\"cni.projectcalico.org/podIP\":\"\","
			     "\"cni.projectcalico.org/podIPs\":\"\"}",
			     "", POD_STATUS_RUNNING));
	/* being deleted, the address still held: kept */
	d = trim(KK_POD, POD_JSON(",\"deletionTimestamp\":\"2026-01-02T04:00:00Z\","
				  "\"annotations\":{\"cni.projectcalico.org/podIP\":"
				  "\"10.244.2.17/32\"}", "", POD_STATUS_RUNNING));
	assert_non_null(strstr(d, "\"ips\":[\"10.244.2.17\",\"fd00:244:2::11\"]"));
	free(d);
	/* being deleted, no annotation (another CNI): kept */
	d = trim(KK_POD, POD_JSON(",\"deletionTimestamp\":\"2026-01-02T04:00:00Z\"", "",
				  POD_STATUS_RUNNING));
	free(d);
	/* the annotation empty but no deletion: kept (status has the addresses) */
	d = trim(KK_POD, POD_JSON(",\"annotations\":{\"cni.projectcalico.org/podIP\":\"\"}", "",
				  POD_STATUS_RUNNING));
	free(d);
	/* a null deletionTimestamp is no deletion */
	d = trim(KK_POD, POD_JSON(",\"deletionTimestamp\":null,\"annotations\":"
				  "{\"cni.projectcalico.org/podIP\":\"\"}", "", POD_STATUS_RUNNING));
	free(d);
	/* no address anywhere yet */
	EXPECT_DROP(POD_JSON("", "", "\"phase\":\"Pending\""));
	EXPECT_DROP(POD_JSON("", "", "\"phase\":\"Pending\",\"podIP\":\"\",\"podIPs\":[]"));
	EXPECT_DROP(POD_JSON(",\"annotations\":{\"cni.projectcalico.org/podIPs\":\"\"}", "",
			     "\"phase\":\"Pending\""));
}

/* ---- where the addresses come from ---------------------------------------------------------- */

#define POD_WITH(ANN, STATUS) \
	"{\"metadata\":{\"namespace\":\"a\",\"name\":\"p\"" ANN "}," \
	"\"spec\":{\"nodeName\":\"n\"},\"status\":{\"phase\":\"Running\"" STATUS "}}"
#define ANN_BOTH \
	",\"annotations\":{\"cni.projectcalico.org/containerID\":\"abc\"," \
	"\"cni.projectcalico.org/podIP\":\"10.3.3.3/32\"," \
	"\"cni.projectcalico.org/podIPs\":\"10.2.2.2/32,fd00::2/128\"}"
#define IPS_DIGEST(ips) \
	"{\"ns\":\"a\",\"name\":\"p\",\"sa\":\"\",\"labels\":{},\"ips\":[" ips "],\"ports\":[]}"

static void
test_pod_ip_precedence(void **state)
{
	(void)state;
	/* status.podIPs first, even with status.podIP and both annotations there */
	EXPECT_DIGEST(KK_POD, POD_WITH(ANN_BOTH, ",\"podIP\":\"10.1.1.9\",\"podIPs\":"
				       "[{\"ip\":\"10.1.1.1\"},{\"ip\":\"fd00::1\"}]"),
		      IPS_DIGEST("\"10.1.1.1\",\"fd00::1\""));
	/* then status.podIP */
	EXPECT_DIGEST(KK_POD, POD_WITH(ANN_BOTH, ",\"podIP\":\"10.1.1.9\""),
		      IPS_DIGEST("\"10.1.1.9\""));
	/* an empty podIPs list and an empty podIP count as absent */
	EXPECT_DIGEST(KK_POD, POD_WITH(ANN_BOTH, ",\"podIP\":\"\",\"podIPs\":[]"),
		      IPS_DIGEST("\"10.2.2.2/32,fd00::2/128\""));
	/* then Calico's podIPs annotation, one comma-separated string as written */
	EXPECT_DIGEST(KK_POD, POD_WITH(ANN_BOTH, ""), IPS_DIGEST("\"10.2.2.2/32,fd00::2/128\""));
	/* then its podIP annotation */
	EXPECT_DIGEST(KK_POD,
		      POD_WITH(",\"annotations\":{\"cni.projectcalico.org/podIP\":\"10.3.3.3/32\","
			       "\"cni.projectcalico.org/podIPs\":\"\"}", ""),
		      IPS_DIGEST("\"10.3.3.3/32\""));
	/* podIPs entries without an ip are skipped */
	EXPECT_DIGEST(KK_POD, POD_WITH("", ",\"podIPs\":[{\"ip\":\"\"},{},{\"ip\":\"10.4.4.4\"}]"),
		      IPS_DIGEST("\"10.4.4.4\""));
	/* an address longer than any address is skipped, the next source is used */
	EXPECT_DIGEST(KK_POD,
		      POD_WITH("", ",\"podIPs\":[{\"ip\":\"1111111111222222222233333333334444444444"
			       "555555555566666666667777777777\"}],\"podIP\":\"10.5.5.5\""),
		      IPS_DIGEST("\"10.5.5.5\""));
	/* a non-string is no address */
	EXPECT_DIGEST(KK_POD, POD_WITH("", ",\"podIPs\":[{\"ip\":17}],\"podIP\":\"10.6.6.6\""),
		      IPS_DIGEST("\"10.6.6.6\""));
}

/* ---- named ports --------------------------------------------------------------------------- */

#define POD_PORTS(SPEC) \
	"{\"metadata\":{\"namespace\":\"a\",\"name\":\"p\"},\"spec\":{\"nodeName\":\"n\"" SPEC "}," \
	"\"status\":{\"podIP\":\"10.1.1.1\"}}"
#define PORTS_DIGEST(ports) \
	"{\"ns\":\"a\",\"name\":\"p\",\"sa\":\"\",\"labels\":{},\"ips\":[\"10.1.1.1\"]," \
	"\"ports\":[" ports "]}"

static void
test_pod_ports(void **state)
{
	(void)state;
	EXPECT_DIGEST(KK_POD,
		      POD_PORTS(",\"containers\":[{\"name\":\"c\",\"ports\":["
				/* unnamed: skipped */
				"{\"containerPort\":80,\"protocol\":\"TCP\"},"
				/* an empty name: skipped */
				"{\"name\":\"\",\"containerPort\":81},"
				/* containerPort 0 or absent: skipped */
				"{\"name\":\"zero\",\"containerPort\":0},"
				"{\"name\":\"none\",\"protocol\":\"TCP\"},"
				/* a port as a string is not a number: skipped */
				"{\"name\":\"str\",\"containerPort\":\"82\"},"
				/* a negative one too */
				"{\"name\":\"neg\",\"containerPort\":-5},"
				/* no protocol: TCP */
				"{\"name\":\"web\",\"containerPort\":8080},"
				"{\"name\":\"dns\",\"containerPort\":53,\"protocol\":\"UDP\","
				"\"hostPort\":53},"
				"{\"name\":\"sctp\",\"containerPort\":3868,\"protocol\":\"SCTP\"},"
				/* an unknown protocol is copied as written (the daemon skips it) */
				"{\"name\":\"odd\",\"containerPort\":7,\"protocol\":\"ICMP\"}]},"
				"{\"name\":\"no-ports\"}],"
				/* init containers (sidecars) are included, after the containers */
				"\"initContainers\":[{\"name\":\"init\",\"restartPolicy\":\"Always\","
				"\"ports\":[{\"name\":\"envoy\",\"containerPort\":15001,"
				"\"protocol\":\"TCP\"},{\"containerPort\":15000}]}]"),
		      PORTS_DIGEST("{\"name\":\"web\",\"protocol\":\"TCP\",\"port\":8080},"
				   "{\"name\":\"dns\",\"protocol\":\"UDP\",\"port\":53},"
				   "{\"name\":\"sctp\",\"protocol\":\"SCTP\",\"port\":3868},"
				   "{\"name\":\"odd\",\"protocol\":\"ICMP\",\"port\":7},"
				   "{\"name\":\"envoy\",\"protocol\":\"TCP\",\"port\":15001}"));
	/* only init containers */
	EXPECT_DIGEST(KK_POD,
		      POD_PORTS(",\"initContainers\":[{\"name\":\"i\",\"ports\":[{\"name\":\"m\","
				"\"containerPort\":9090}]}]"),
		      PORTS_DIGEST("{\"name\":\"m\",\"protocol\":\"TCP\",\"port\":9090}"));
	/* the largest port number; a six-digit one is no port */
	EXPECT_DIGEST(KK_POD,
		      POD_PORTS(",\"containers\":[{\"name\":\"c\",\"ports\":[{\"name\":\"hi\","
				"\"containerPort\":65535},{\"name\":\"big\","
				"\"containerPort\":100000}]}]"),
		      PORTS_DIGEST("{\"name\":\"hi\",\"protocol\":\"TCP\",\"port\":65535}"));
}

/* ---- Nodes ------------------------------------------------------------------------------- */

#define NODE_JSON(ANNOTATIONS, ADDRESSES) \
	"{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"worker-2\"," \
	"\"uid\":\"9a\",\"resourceVersion\":\"1001\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"," \
	"\"labels\":{\"beta.kubernetes.io/arch\":\"amd64\",\"kubernetes.io/hostname\":" \
	"\"worker-2\",\"kubernetes.io/os\":\"linux\",\"pool\":\"blue\"}," \
	"\"annotations\":{" ANNOTATIONS "}," \
	"\"managedFields\":[{\"manager\":\"kubelet\",\"operation\":\"Update\",\"apiVersion\":\"v1\"," \
	"\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:status\":{\"f:addresses\":{}}}}]}," \
	"\"spec\":{\"podCIDR\":\"10.244.2.0/24\",\"podCIDRs\":[\"10.244.2.0/24\"]," \
	"\"providerID\":\"kind://docker/kind/worker-2\",\"taints\":[{\"key\":\"dedicated\"," \
	"\"value\":\"db\",\"effect\":\"NoSchedule\"}]}," \
	"\"status\":{\"capacity\":{\"cpu\":\"8\",\"memory\":\"16318828Ki\",\"pods\":\"110\"}," \
	"\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastHeartbeatTime\":" \
	"\"2026-01-02T00:00:00Z\",\"reason\":\"KubeletReady\",\"message\":\"kubelet is posting " \
	"ready status\"}],\"addresses\":[" ADDRESSES "]," \
	"\"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":10250}}," \
	"\"nodeInfo\":{\"machineID\":\"m\",\"kernelVersion\":\"6.1.0\",\"osImage\":\"Debian\"," \
	"\"containerRuntimeVersion\":\"containerd://1.7.0\",\"kubeletVersion\":\"v1.30.0\"," \
	"\"architecture\":\"amd64\"},\"images\":[{\"names\":[\"registry.k8s.io/etcd@sha256:00\"," \
	"\"registry.k8s.io/etcd:3.5.12-0\"],\"sizeBytes\":57236178},{\"names\":" \
	"[\"docker.io/calico/node:v3.31.0\"],\"sizeBytes\":120000000}]}}"

#define NODE_LABELS \
	"{\"beta.kubernetes.io/arch\":\"amd64\",\"kubernetes.io/hostname\":\"worker-2\"," \
	"\"kubernetes.io/os\":\"linux\",\"pool\":\"blue\"}"

static void
test_node_digest(void **state)
{
	(void)state;
	EXPECT_DIGEST(KK_NODE,
		      NODE_JSON("\"node.alpha.kubernetes.io/ttl\":\"0\","
				"\"projectcalico.org/IPv4Address\":\"10.0.0.12/24\","
				"\"projectcalico.org/IPv4IPIPTunnelAddr\":\"10.244.2.1\","
				"\"projectcalico.org/IPv4VXLANTunnelAddr\":\"10.244.2.2\","
				"\"projectcalico.org/IPv6Address\":\"fd00::12/64\","
				"\"projectcalico.org/IPv6VXLANTunnelAddr\":\"fd00:244::2\","
				"\"projectcalico.org/IPv4WireguardInterfaceAddr\":\"10.244.2.3\","
				"\"projectcalico.org/IPv6WireguardInterfaceAddr\":\"fd00:244::3\","
				"\"projectcalico.org/ASNumber\":\"64512\","
				"\"volumes.kubernetes.io/controller-managed-attach-detach\":\"true\"",
				"{\"type\":\"InternalIP\",\"address\":\"10.0.0.12\"},"
				"{\"type\":\"ExternalIP\",\"address\":\"203.0.113.12\"},"
				"{\"type\":\"InternalIP\",\"address\":\"fd00::12\"},"
				"{\"type\":\"Hostname\",\"address\":\"worker-2\"},"
				"{\"type\":\"InternalDNS\",\"address\":\"worker-2.internal\"}"),
		      "{\"name\":\"worker-2\",\"labels\":" NODE_LABELS ",\"ips\":["
		      /* the annotations in the object's order, then the InternalIPs */
		      "\"10.0.0.12/24\",\"10.244.2.1\",\"10.244.2.2\",\"fd00::12/64\","
		      "\"fd00:244::2\",\"10.244.2.3\",\"fd00:244::3\","
		      "\"10.0.0.12\",\"fd00::12\"],\"ifaces\":[]}");
	/* a Node with neither: no addresses; the ExternalIP is never one */
	EXPECT_DIGEST(KK_NODE,
		      NODE_JSON("\"projectcalico.org/ASNumber\":\"64512\"",
				"{\"type\":\"ExternalIP\",\"address\":\"203.0.113.12\"}"),
		      "{\"name\":\"worker-2\",\"labels\":" NODE_LABELS ",\"ips\":[],\"ifaces\":[]}");
	/* no labels, no annotations, no status */
	EXPECT_DIGEST(KK_NODE, "{\"metadata\":{\"name\":\"bare\"}}",
		      "{\"name\":\"bare\",\"labels\":{},\"ips\":[],\"ifaces\":[]}");
}

/* Calico 3.31's projectcalico.org/Interfaces: a JSON text inside the annotation's string. */
static void
test_node_interfaces(void **state)
{
	(void)state;
	EXPECT_DIGEST(KK_NODE,
		      NODE_JSON("\"projectcalico.org/Interfaces\":\"[{\\\"name\\\":\\\"eth0\\\","
				"\\\"addresses\\\":[\\\"10.0.0.12/24\\\",\\\"fd00::12/64\\\"]},"
				"{\\\"name\\\":\\\"eth1\\\",\\\"addresses\\\":[\\\"192.168.7.12\\\"]},"
				"{\\\"name\\\":\\\"lo\\\"}]\"", ""),
		      "{\"name\":\"worker-2\",\"labels\":" NODE_LABELS ",\"ips\":["
		      "\"10.0.0.12/24\",\"fd00::12/64\",\"192.168.7.12\"],\"ifaces\":["
		      "{\"name\":\"eth0\",\"ips\":[\"10.0.0.12/24\",\"fd00::12/64\"]},"
		      "{\"name\":\"eth1\",\"ips\":[\"192.168.7.12\"]},"
		      "{\"name\":\"lo\",\"ips\":[]}]}");
	/* hostile content: whatever is not plainly an address is left out, and no text of the
	 * annotation can break out of its string in the digest */
	EXPECT_DIGEST(KK_NODE,
		      NODE_JSON("\"projectcalico.org/Interfaces\":\"[{\\\"name\\\":\\\"eth0\\\","
				"\\\"addresses\\\":[\\\"10.0.0.12\\\",\\\"evil.example\\\","
				"\\\"10.0.0.13\\\\\\\"],\\\\\\\"x\\\\\\\":[\\\\\\\"\\\","
				"\\\"\\\",17,null,{\\\"a\\\":\\\"10.9.9.9\\\"},[\\\"10.8.8.8\\\"],"
				"\\\"1.2.3.4 \\\",\\\"fd00::99\\\"]},"
				"{\\\"name\\\":\\\"x\\\",\\\"addresses\\\":\\\"10.7.7.7\\\"},"
				"\\\"10.6.6.6\\\",{\\\"addresses\\\":{\\\"0\\\":\\\"10.5.5.5\\\"}}]\"",
				"{\"type\":\"InternalIP\",\"address\":\"10.0.0.12\"}"),
		      "{\"name\":\"worker-2\",\"labels\":" NODE_LABELS ",\"ips\":["
		      "\"10.0.0.12\",\"fd00::99\",\"10.0.0.12\"],\"ifaces\":["
		      "{\"name\":\"eth0\",\"ips\":[\"10.0.0.12\",\"fd00::99\"]},"
		      "{\"name\":\"x\",\"ips\":[]}]}");
	/* not JSON inside, or not a string at all: nothing from it */
	EXPECT_DIGEST(KK_NODE,
		      NODE_JSON("\"projectcalico.org/Interfaces\":\"not json [{\"", ""),
		      "{\"name\":\"worker-2\",\"labels\":" NODE_LABELS ",\"ips\":[],\"ifaces\":[]}");
	EXPECT_DIGEST(KK_NODE,
		      NODE_JSON("\"projectcalico.org/Interfaces\":\"[{\\\"addresses\\\":"
				"[\\\"10.0.0.1\"", ""),
		      "{\"name\":\"worker-2\",\"labels\":" NODE_LABELS ",\"ips\":[],\"ifaces\":[]}");
	/* a JSON array instead of a string (not what the API allows, but a digest must hold) */
	EXPECT_DIGEST(KK_NODE,
		      "{\"metadata\":{\"name\":\"n\",\"annotations\":{\"projectcalico.org/Interfaces\":"
		      "[{\"addresses\":[\"10.0.0.1\"]}]}}}",
		      "{\"name\":\"n\",\"labels\":{},\"ips\":[],\"ifaces\":[]}");
}

/* Interface names: one Linux cannot have (escaped, empty, longer than 15) is left out,
 * and at most KUBE_TRIM_MAX_IFACES entries are kept. */
static void
test_node_interface_names(void **state)
{
	char node[8192], want[8192];
	size_t n, w;
	char *d;

	(void)state;
	EXPECT_DIGEST(KK_NODE,
		      NODE_JSON("\"projectcalico.org/Interfaces\":\"[{\\\"name\\\":\\\"e\\\\\\\"x\\\","
				"\\\"addresses\\\":[\\\"10.0.0.1\\\"]},"
				"{\\\"name\\\":\\\"\\\",\\\"addresses\\\":[\\\"10.0.0.2\\\"]},"
				"{\\\"name\\\":\\\"sixteen-chars-xx\\\",\\\"addresses\\\":[]},"
				"{\\\"name\\\":\\\"fifteen-chars-x\\\",\\\"addresses\\\":[]}]\"", ""),
		      "{\"name\":\"worker-2\",\"labels\":" NODE_LABELS ",\"ips\":["
		      "\"10.0.0.1\",\"10.0.0.2\"],\"ifaces\":["
		      "{\"name\":\"fifteen-chars-x\",\"ips\":[]}]}");
	n = (size_t)snprintf(node, sizeof(node), "{\"metadata\":{\"name\":\"n\",\"annotations\":"
			     "{\"projectcalico.org/Interfaces\":\"[");
	w = (size_t)snprintf(want, sizeof(want), "{\"name\":\"n\",\"labels\":{},\"ips\":[],"
			     "\"ifaces\":[");
	for (int i = 0; i < KUBE_TRIM_MAX_IFACES + 5; i++) {
		n += (size_t)snprintf(node + n, sizeof(node) - n, "%s{\\\"name\\\":\\\"if%d\\\"}",
				      i ? "," : "", i);
		if (i < KUBE_TRIM_MAX_IFACES)
			w += (size_t)snprintf(want + w, sizeof(want) - w,
					      "%s{\"name\":\"if%d\",\"ips\":[]}", i ? "," : "", i);
	}
	snprintf(node + n, sizeof(node) - n, "]\"}}}");
	snprintf(want + w, sizeof(want) - w, "]}");
	d = trim(KK_NODE, node);
	assert_string_equal(d, want);
	free(d);
}

/* Past KUBE_TRIM_MAX_IFACES_JSON bytes the Interfaces annotation is not read. */
static void
test_node_interfaces_bound(void **state)
{
	static const char head[] = "{\"metadata\":{\"name\":\"n\",\"annotations\":"
				   "{\"projectcalico.org/Interfaces\":\"[{\\\"name\\\":\\\"";
	static const char tail[] = "\\\",\\\"addresses\\\":[\\\"10.0.0.1\\\"]}]\"}}}";
	size_t pad = KUBE_TRIM_MAX_IFACES_JSON, n = strlen(head) + pad + strlen(tail) + 1;
	char *big = malloc(n), *d;

	(void)state;
	assert_non_null(big);
	/* just within: read */
	pad = KUBE_TRIM_MAX_IFACES_JSON - (strlen("\"[{\\\"name\\\":\\\"") +
					   strlen("\\\",\\\"addresses\\\":[\\\"10.0.0.1\\\"]}]\""));
	snprintf(big, n, "%s%*s%s", head, (int)pad, "", tail);
	d = trim(KK_NODE, big);
	assert_string_equal(d, "{\"name\":\"n\",\"labels\":{},\"ips\":[\"10.0.0.1\"],\"ifaces\":[]}");
	free(d);
	/* one byte more: ignored */
	snprintf(big, n, "%s%*s%s", head, (int)pad + 1, "", tail);
	d = trim(KK_NODE, big);
	assert_string_equal(d, "{\"name\":\"n\",\"labels\":{},\"ips\":[],\"ifaces\":[]}");
	free(d);
	free(big);
}

/* ---- Namespaces and ServiceAccounts ---------------------------------------------------------- */

static void
test_namespace_sa(void **state)
{
	(void)state;
	EXPECT_DIGEST(KK_NAMESPACE,
		      "{\"metadata\":{\"name\":\"shop\",\"uid\":\"u\",\"resourceVersion\":\"7\","
		      "\"labels\":{\"kubernetes.io/metadata.name\":\"shop\",\"team\":\"obs\"},"
		      "\"annotations\":{\"a\":\"b\"},\"managedFields\":[{\"manager\":\"kubectl\"}]},"
		      "\"spec\":{\"finalizers\":[\"kubernetes\"]},\"status\":{\"phase\":\"Active\"}}",
		      "{\"name\":\"shop\",\"labels\":{\"kubernetes.io/metadata.name\":\"shop\","
		      "\"team\":\"obs\"}}");
	EXPECT_DIGEST(KK_SA,
		      "{\"metadata\":{\"name\":\"web-sa\",\"namespace\":\"shop\",\"uid\":\"u\","
		      "\"labels\":{\"tier\":\"front\"}},\"secrets\":[{\"name\":\"web-sa-token\"}],"
		      "\"automountServiceAccountToken\":false}",
		      "{\"ns\":\"shop\",\"name\":\"web-sa\",\"labels\":{\"tier\":\"front\"}}");
	EXPECT_DIGEST(KK_SA, "{\"metadata\":{\"name\":\"default\",\"namespace\":\"x\"}}",
		      "{\"ns\":\"x\",\"name\":\"default\",\"labels\":{}}");
	/* labels that are no object are no labels */
	EXPECT_DIGEST(KK_NAMESPACE, "{\"metadata\":{\"name\":\"n\",\"labels\":\"x\"}}",
		      "{\"name\":\"n\",\"labels\":{}}");
	/* the kinds with digests, and the others */
	assert_true(kube_trimmed(KK_NODE));
	assert_true(kube_trimmed(KK_NAMESPACE));
	assert_true(kube_trimmed(KK_SA));
	assert_true(kube_trimmed(KK_POD));
	assert_false(kube_trimmed(KK_GNP));
	assert_false(kube_trimmed(KK_HEP));
	assert_false(kube_trimmed(KK_DAEMONSET));
}

/* ---- escapes -------------------------------------------------------------------------------- */

/* Strings stay as the API escaped them: copied, never decoded and re-encoded. */
static void
test_escapes_verbatim(void **state)
{
	char *d;

	(void)state;
	EXPECT_DIGEST(KK_POD,
		      "{\"metadata\":{\"namespace\":\"a\",\"name\":\"p\",\"labels\":{\"q\":"
		      "\"say \\\"hi\\\"\",\"caf\\u00e9\":\"caf\\u00e9\",\"raw\":\"caf\xc3\xa9\","
		      "\"s\\/l\":\"b\\\\s\",\"nl\":\"a\\nb\"}},"
		      "\"spec\":{\"nodeName\":\"n\",\"serviceAccountName\":\"s\\u0061\","
		      "\"containers\":[{\"ports\":[{\"name\":\"h\\u0074tp\",\"containerPort\":80}]}]},"
		      "\"status\":{\"podIP\":\"10.1.1.1\"}}",
		      "{\"ns\":\"a\",\"name\":\"p\",\"sa\":\"s\\u0061\",\"labels\":{\"q\":"
		      "\"say \\\"hi\\\"\",\"caf\\u00e9\":\"caf\\u00e9\",\"raw\":\"caf\xc3\xa9\","
		      "\"s\\/l\":\"b\\\\s\",\"nl\":\"a\\nb\"},\"ips\":[\"10.1.1.1\"],"
		      "\"ports\":[{\"name\":\"h\\u0074tp\",\"protocol\":\"TCP\",\"port\":80}]}");
	/* the escaped label reads back as its value */
	d = trim(KK_POD, "{\"metadata\":{\"namespace\":\"a\",\"name\":\"p\",\"labels\":{\"q\":"
			 "\"x\\\"y\",\"e\":\"\\u00e9\"}},\"spec\":{\"nodeName\":\"n\"},"
			 "\"status\":{\"podIP\":\"10.1.1.1\"}}");
	{
		struct jspan labels = jscan_get((struct jspan){ d, strlen(d) }, "labels");
		char v[16];

		assert_true(jscan_string(jscan_get(labels, "q"), v, sizeof(v)));
		assert_string_equal(v, "x\"y");
		assert_true(jscan_string(jscan_get(labels, "e"), v, sizeof(v)));
		assert_string_equal(v, "\xc3\xa9");
	}
	free(d);
	/* a name that is not a string gives "" (kstore_obj_make refuses such objects first) */
	EXPECT_DIGEST(KK_NAMESPACE, "{\"metadata\":{\"name\":5}}", "{\"name\":\"\",\"labels\":{}}");
}

/* ---- bounds --------------------------------------------------------------------------------- */

static void
test_bounds(void **state)
{
	char pod[16384], want[16384];
	size_t n, w;
	char *d;

	(void)state;
	/* 40 pod addresses: the first KUBE_TRIM_MAX_IPS are kept */
	n = (size_t)snprintf(pod, sizeof(pod), "{\"metadata\":{\"namespace\":\"a\",\"name\":\"p\"},"
			     "\"spec\":{\"nodeName\":\"n\"},\"status\":{\"podIPs\":[");
	w = (size_t)snprintf(want, sizeof(want), "{\"ns\":\"a\",\"name\":\"p\",\"sa\":\"\","
			     "\"labels\":{},\"ips\":[");
	for (int i = 0; i < 40; i++) {
		n += (size_t)snprintf(pod + n, sizeof(pod) - n, "%s{\"ip\":\"10.0.0.%d\"}",
				      i ? "," : "", i + 1);
		if (i < KUBE_TRIM_MAX_IPS)
			w += (size_t)snprintf(want + w, sizeof(want) - w, "%s\"10.0.0.%d\"",
					      i ? "," : "", i + 1);
	}
	snprintf(pod + n, sizeof(pod) - n, "]}}");
	snprintf(want + w, sizeof(want) - w, "],\"ports\":[]}");
	d = trim(KK_POD, pod);
	assert_string_equal(d, want);
	free(d);

	/* 100 named ports over two containers: the first KUBE_TRIM_MAX_PORTS */
	n = (size_t)snprintf(pod, sizeof(pod), "{\"metadata\":{\"namespace\":\"a\",\"name\":\"p\"},"
			     "\"spec\":{\"nodeName\":\"n\",\"containers\":[{\"ports\":[");
	w = (size_t)snprintf(want, sizeof(want), "{\"ns\":\"a\",\"name\":\"p\",\"sa\":\"\","
			     "\"labels\":{},\"ips\":[\"10.1.1.1\"],\"ports\":[");
	for (int i = 0; i < 100; i++) {
		n += (size_t)snprintf(pod + n, sizeof(pod) - n, "%s{\"name\":\"p%d\","
				      "\"containerPort\":%d}", i == 0 || i == 50 ? "" : ",", i,
				      1000 + i);
		if (i == 49)
			n += (size_t)snprintf(pod + n, sizeof(pod) - n, "]},{\"ports\":[");
		if (i < KUBE_TRIM_MAX_PORTS)
			w += (size_t)snprintf(want + w, sizeof(want) - w, "%s{\"name\":\"p%d\","
					      "\"protocol\":\"TCP\",\"port\":%d}", i ? "," : "",
					      i, 1000 + i);
	}
	snprintf(pod + n, sizeof(pod) - n, "]}]},\"status\":{\"podIP\":\"10.1.1.1\"}}");
	snprintf(want + w, sizeof(want) - w, "]}");
	d = trim(KK_POD, pod);
	assert_string_equal(d, want);
	free(d);

	/* a Node: 10 annotations' addresses and 10 InternalIPs, 16 kept, the annotations first */
	n = (size_t)snprintf(pod, sizeof(pod), "{\"metadata\":{\"name\":\"n\",\"annotations\":"
			     "{\"projectcalico.org/Interfaces\":\"[{\\\"addresses\\\":[");
	w = (size_t)snprintf(want, sizeof(want), "{\"name\":\"n\",\"labels\":{},\"ips\":[");
	for (int i = 0; i < 10; i++) {
		n += (size_t)snprintf(pod + n, sizeof(pod) - n, "%s\\\"10.1.0.%d\\\"", i ? "," : "",
				      i);
		w += (size_t)snprintf(want + w, sizeof(want) - w, "%s\"10.1.0.%d\"", i ? "," : "",
				      i);
	}
	n += (size_t)snprintf(pod + n, sizeof(pod) - n, "]}]\"}},\"status\":{\"addresses\":[");
	for (int i = 0; i < 10; i++) {
		n += (size_t)snprintf(pod + n, sizeof(pod) - n, "%s{\"type\":\"InternalIP\","
				      "\"address\":\"10.2.0.%d\"}", i ? "," : "", i);
		if (10 + i < KUBE_TRIM_MAX_IPS)
			w += (size_t)snprintf(want + w, sizeof(want) - w, ",\"10.2.0.%d\"", i);
	}
	snprintf(pod + n, sizeof(pod) - n, "]}}");
	snprintf(want + w, sizeof(want) - w, "],\"ifaces\":[]}");
	d = trim(KK_NODE, pod);
	assert_string_equal(d, want);
	free(d);
}

/* A pod object the size of a large watch event is trimmed to a few hundred bytes. */
static void
test_digest_small(void **state)
{
	size_t big = 1u << 20, n;
	char *pod = malloc(big + 1024), *d;

	(void)state;
	assert_non_null(pod);
	n = (size_t)snprintf(pod, 512, "{\"metadata\":{\"namespace\":\"a\",\"name\":\"p\","
			     "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"");
	memset(pod + n, 'x', big);
	n += big;
	snprintf(pod + n, 512, "\"}},\"spec\":{\"nodeName\":\"n\"},\"status\":{\"podIP\":"
		 "\"10.1.1.1\"}}");
	d = trim(KK_POD, pod);
	assert_string_equal(d, IPS_DIGEST("\"10.1.1.1\""));
	free(d);
	free(pod);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pod_digest),
		cmocka_unit_test(test_pod_minimal),
		cmocka_unit_test(test_pod_drop_rules),
		cmocka_unit_test(test_pod_ip_precedence),
		cmocka_unit_test(test_pod_ports),
		cmocka_unit_test(test_node_digest),
		cmocka_unit_test(test_node_interfaces),
		cmocka_unit_test(test_node_interfaces_bound),
		cmocka_unit_test(test_node_interface_names),
		cmocka_unit_test(test_namespace_sa),
		cmocka_unit_test(test_escapes_verbatim),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_digest_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
