/*
 * felixcfg.c - decoding FelixConfiguration objects. FelixConfiguration has
 * many fields; nfqwall reads only the failsafe port lists (failsafe.c).
 * "default" applies to every node, "node.<name>" overrides it for one.
 * Control thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "decode.h"

/*
 * Every spec field of FelixConfiguration in Calico v3.28 to v3.32 and its
 * main branch (the union of the CRD schemas, libcalico-go/config/crd/ and
 * api/config/crd/), sorted by strcmp. nfqwall reads two of them; a key
 * not here is unknown to every Calico version (an error, as kubectl's
 * strict validation has it). The objects nested in them are checked too
 * (felix_nested); their values are Felix's to check.
 */
static const char *const felix_fields[] = {
	"allowIPIPPacketsFromWorkloads", "allowVXLANPacketsFromWorkloads", "awsSrcDstCheck",
	"bpfAttachType", "bpfCTLBLogFilter", "bpfConnectTimeLoadBalancing",
	"bpfConnectTimeLoadBalancingEnabled", "bpfConntrackLogLevel", "bpfConntrackMode",
	"bpfConntrackTimeouts", "bpfDSROptoutCIDRs", "bpfDataIfacePattern",
	"bpfDisableGROForIfaces", "bpfDisableUnprivileged", "bpfEnabled", "bpfEnforceRPF",
	"bpfExcludeCIDRsFromNAT", "bpfExportBufferSizeMB", "bpfExtToServiceConnmark",
	"bpfExternalServiceMode", "bpfForceTrackPacketsFromIfaces", "bpfHostConntrackBypass",
	"bpfHostNetworkedNATWithoutCTLB", "bpfIPFragTimeout", "bpfIPFragmentReassemblyEnabled",
	"bpfJITHardening", "bpfKubeProxyEndpointSlicesEnabled", "bpfKubeProxyHealthzPort",
	"bpfKubeProxyIptablesCleanupEnabled", "bpfKubeProxyMinSyncPeriod", "bpfL3IfacePattern",
	"bpfLogFilters", "bpfLogLevel", "bpfMaglevMaxEndpointsPerService", "bpfMaglevMaxServices",
	"bpfMapSizeConntrack", "bpfMapSizeConntrackCleanupQueue", "bpfMapSizeConntrackScaling",
	"bpfMapSizeIPSets", "bpfMapSizeIfState", "bpfMapSizeNATAffinity", "bpfMapSizeNATBackend",
	"bpfMapSizeNATFrontend", "bpfMapSizePerCpuConntrack", "bpfMapSizeRoute",
	"bpfOverlayHostSourceIP", "bpfPSNATPorts", "bpfPolicyDebugEnabled", "bpfProfiling",
	"bpfRedirectToPeer", "cgroupV2Path", "chainInsertMode", "dataplaneDriver",
	"dataplaneWatchdogTimeout", "debugDisableLogDropping", "debugHost",
	"debugMemoryProfilePath", "debugPort", "debugSimulateCalcGraphHangAfter",
	"debugSimulateDataplaneApplyDelay", "debugSimulateDataplaneHangAfter",
	"defaultEndpointToHostAction", "deviceRouteProtocol", "deviceRouteSourceAddress",
	"deviceRouteSourceAddressIPv6", "disableConntrackInvalidCheck", "endpointReportingDelay",
	"endpointReportingEnabled", "endpointStatusPathPrefix", "externalNodesList",
	"failsafeInboundHostPorts", "failsafeOutboundHostPorts", "featureDetectOverride",
	"featureGates", "floatingIPs", "flowLogsCollectorDebugTrace", "flowLogsFlushInterval",
	"flowLogsGoldmaneServer", "flowLogsLocalReporter", "flowLogsPolicyEvaluationMode",
	"genericXDPEnabled", "goGCThreshold", "goMaxProcs", "goMemoryLimitMB", "healthEnabled",
	"healthHost", "healthPort", "healthTimeoutOverrides", "interfaceExclude",
	"interfacePrefix", "interfaceRefreshInterval", "ipForwarding", "ipipEnabled", "ipipMTU",
	"ipsetsRefreshInterval", "iptablesBackend", "iptablesFilterAllowAction",
	"iptablesFilterDenyAction", "iptablesLockFilePath", "iptablesLockProbeInterval",
	"iptablesLockTimeout", "iptablesMangleAllowAction", "iptablesMarkMask",
	"iptablesNATOutgoingInterfaceFilter", "iptablesPostWriteCheckInterval",
	"iptablesRefreshInterval", "ipv4ElevatedRoutePriority", "ipv4NormalRoutePriority",
	"ipv6ElevatedRoutePriority", "ipv6NormalRoutePriority", "ipv6Support", "istioAmbientMode",
	"istioDSCPMark", "kubeNodePortRanges", "liveMigrationRouteConvergenceTime",
	"localSubnetL2Reachability", "localSubnetL2ReachabilityRefreshInterval",
	"logActionRateLimit", "logActionRateLimitBurst", "logDebugFilenameRegex", "logFilePath",
	"logPrefix", "logSeverityFile", "logSeverityScreen", "logSeveritySys", "maxIpsetSize",
	"metadataAddr", "metadataPort", "mtuIfacePattern", "natOutgoingAddress",
	"natOutgoingExclusions", "natPortRange", "netlinkTimeout", "nftablesFilterAllowAction",
	"nftablesFilterDenyAction", "nftablesFlowTableDataIfacePattern",
	"nftablesFlowTableOffload", "nftablesMangleAllowAction", "nftablesMarkMask",
	"nftablesMode", "nftablesRefreshInterval", "nodeSelector", "openstackRegion",
	"policySyncPathPrefix", "programClusterRoutes", "prometheusGoMetricsEnabled",
	"prometheusMetricsCAFile", "prometheusMetricsCertFile", "prometheusMetricsClientAuth",
	"prometheusMetricsEnabled", "prometheusMetricsHost", "prometheusMetricsKeyFile",
	"prometheusMetricsPort", "prometheusProcessMetricsEnabled",
	"prometheusWireGuardMetricsEnabled", "removeExternalRoutes", "reportingInterval",
	"reportingTTL", "requireMTUFile", "routeRefreshInterval", "routeSource",
	"routeSyncDisabled", "routeTableRange", "routeTableRanges", "serviceLoopPrevention",
	"sidecarAccelerationEnabled", "usageReportingEnabled", "usageReportingInitialDelay",
	"usageReportingInterval", "useInternalDataplaneDriver", "vxlanEnabled", "vxlanMTU",
	"vxlanMTUV6", "vxlanPort", "vxlanVNI", "windowsManageFirewallRules", "wireguardEnabled",
	"wireguardEnabledV6", "wireguardHostEncryptionEnabled", "wireguardInterfaceName",
	"wireguardInterfaceNameV6", "wireguardKeepAlive", "wireguardListeningPort",
	"wireguardListeningPortV6", "wireguardMTU", "wireguardMTUV6",
	"wireguardRoutingRulePriority", "wireguardThreadingEnabled", "workloadSourceSpoofing",
	"xdpEnabled", "xdpRefreshInterval",
};

static int
cmp_field(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

/* The spec fields that hold objects of known fields (one, or a list of
 * them), from the same schemas; bpfLogFilters is an open map. The failsafe
 * lists are checked where they are decoded (failsafe.c). */
static const struct {
	const char *key;
	const char *known[9];
} felix_nested[] = {
	{ "bpfConntrackTimeouts", { "creationGracePeriod", "genericTimeout", "icmpTimeout",
				    "tcpEstablished", "tcpFinsSeen", "tcpResetSeen", "tcpSynSent",
				    "udpTimeout", NULL } },
	{ "healthTimeoutOverrides", { "name", "timeout", NULL } },
	{ "routeTableRange", { "min", "max", NULL } },
	{ "routeTableRanges", { "min", "max", NULL } },
};

/* The fields of @v, an object or a list of objects (anything else is Felix's to refuse). */
static void
felixcfg_check_nested(struct dctx *c, const yaml_node_t *v, const char *key,
		      const char *const *known)
{
	size_t old = dpath_push(c, ".%s", key);

	if (v->type == YAML_MAPPING_NODE)
		dfields(c, v, known);
	else if (v->type == YAML_SEQUENCE_NODE)
		for (size_t i = 0; i < ydoc_len(v); i++) {
			size_t o2 = dpath_push(c, "[%zu]", i);

			dfields(c, ydoc_item(c->y, v, i), known);
			dpath_pop(c, o2);
		}
	dpath_pop(c, old);
}

static void
felixcfg_check_fields(struct dctx *c, const yaml_node_t *spec)
{
	size_t old = dpath_push(c, "spec");

	for (size_t i = 0; i < ydoc_len(spec); i++) {
		yaml_node_t *k, *v;
		const char *key;

		ydoc_pair(c->y, spec, i, &k, &v);
		key = ydoc_str(k);
		if (key == NULL)
			continue;
		if (bsearch(key, felix_fields, ARRAY_SIZE(felix_fields), sizeof(felix_fields[0]),
			    cmp_field) == NULL) {
			dunknown(c, k, key);
			continue;
		}
		for (size_t j = 0; j < ARRAY_SIZE(felix_nested); j++)
			if (strcmp(key, felix_nested[j].key) == 0)
				felixcfg_check_nested(c, v, key, felix_nested[j].known);
	}
	dpath_pop(c, old);
}

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
		felixcfg_check_fields(c, spec);
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
