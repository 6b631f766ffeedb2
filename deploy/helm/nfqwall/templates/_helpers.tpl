{{/*
Names, labels, the daemon's environment and the checks that need more than the schema.
Everything here is a pure function of the values: no lookup, no random, no time.
*/}}

{{/* The chart's name, at most 63 characters. */}}
{{- define "nfqwall.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The objects' name: the release name, with the chart's name unless it holds it already. */}}
{{- define "nfqwall.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* helm.sh/chart: name-version. */}}
{{- define "nfqwall.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The selector labels: name and instance only, so they never change on upgrade. */}}
{{- define "nfqwall.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nfqwall.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The labels of every object: the standard ones, then commonLabels. */}}
{{- define "nfqwall.labels" -}}
helm.sh/chart: {{ include "nfqwall.chart" . }}
{{ include "nfqwall.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The annotations block of the objects the DaemonSet's pods need until they are gone: the
ServiceAccount and the RBAC objects. With argocd.syncWaves, Argo CD's sync wave -1 (the
DaemonSet is in wave 0): created before it, deleted after it. A wave set by hand in
.extra wins. Called with (dict "root" $ "extra" MAP) right after the labels; it renders
"annotations:" indented for metadata, or nothing.
*/}}
{{- define "nfqwall.earlyAnnotations" -}}
{{- $a := deepCopy (default (dict) .extra) }}
{{- if and .root.Values.argocd.syncWaves (not (hasKey $a "argocd.argoproj.io/sync-wave")) }}
{{- $_ := set $a "argocd.argoproj.io/sync-wave" "-1" }}
{{- end }}
{{- with $a }}
  annotations:
    {{- toYaml . | nindent 4 }}
{{- end }}
{{- end }}

{{/* The service account's name. */}}
{{- define "nfqwall.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "nfqwall.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image: repository@digest when a digest is given, else repository:tag. */}}
{{- define "nfqwall.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* daemon.httpAddr's host, without the brackets of an IPv6 address. */}}
{{- define "nfqwall.httpHost" -}}
{{- $addr := .Values.daemon.httpAddr }}
{{- if hasPrefix "[" $addr }}
{{- regexReplaceAll "^\\[(.*)\\]:[0-9]+$" $addr "${1}" }}
{{- else }}
{{- regexReplaceAll ":[0-9]+$" $addr "" }}
{{- end }}
{{- end }}

{{/* daemon.httpAddr's port. */}}
{{- define "nfqwall.httpPort" -}}
{{- regexReplaceAll "^.*:([0-9]+)$" .Values.daemon.httpAddr "${1}" }}
{{- end }}

{{/* Where the probes connect: the listen address, or loopback when it is a wildcard. */}}
{{- define "nfqwall.probeHost" -}}
{{- $host := include "nfqwall.httpHost" . }}
{{- if eq $host "0.0.0.0" }}127.0.0.1
{{- else if or (eq $host "::") (eq $host "0:0:0:0:0:0:0:0") }}::1
{{- else }}{{ $host }}
{{- end }}
{{- end }}

{{/* "true" when daemon.httpAddr listens on loopback only. */}}
{{- define "nfqwall.httpLoopback" -}}
{{- $host := include "nfqwall.httpHost" . }}
{{- if or (hasPrefix "127." $host) (eq $host "::1") (eq $host "0:0:0:0:0:0:0:1") }}true{{ end }}
{{- end }}

{{/*
The checks the schema cannot express; each fails the render with a message that says what
to change.
*/}}
{{- define "nfqwall.validate" -}}
{{- $d := .Values.daemon }}
{{- if eq $d.httpAddr "off" }}
{{- fail "daemon.httpAddr: \"off\" is not supported by the chart: the startup, liveness and readiness probes need /readyz and /livez. Give an address, e.g. 127.0.0.1:9417" }}
{{- end }}
{{- $port := include "nfqwall.httpPort" . | int }}
{{- if or (lt $port 1) (gt $port 65535) }}
{{- fail (printf "daemon.httpAddr %q: the port must be 1 to 65535" $d.httpAddr) }}
{{- end }}
{{- $host := include "nfqwall.httpHost" . }}
{{- if not (or (include "nfqwall.httpLoopback" .) (has $host (list "0.0.0.0" "::" "0:0:0:0:0:0:0:0"))) }}
{{- fail (printf "daemon.httpAddr %q: every node runs the same pod spec, and the address %s belongs to one node at most; use a loopback address (127.0.0.1:%d) or a wildcard (0.0.0.0:%d, [::]:%d)" $d.httpAddr $host $port $port $port) }}
{{- end }}
{{- if and (or .Values.metrics.service.enabled .Values.serviceMonitor.enabled) (include "nfqwall.httpLoopback" .) }}
{{- fail (printf "metrics.service.enabled and serviceMonitor.enabled need the metrics endpoint reachable from other hosts, but daemon.httpAddr %q is loopback only: set daemon.httpAddr to e.g. 0.0.0.0:%d (and allow the scrapers in your host policy)" $d.httpAddr $port) }}
{{- end }}
{{- if and (not .Values.serviceAccount.create) (not .Values.serviceAccount.name) }}
{{- fail "serviceAccount.name is required when serviceAccount.create is false" }}
{{- end }}
{{- with $d.calicoApiGroup }}
{{- $group := regexReplaceAll "/[^/]*$" . "" }}
{{- if and $.Values.rbac.create (not (has $group $.Values.rbac.calicoApiGroups)) }}
{{- fail (printf "daemon.calicoApiGroup %q: its group %s is not in rbac.calicoApiGroups %v, so the daemon could not read it" . $group $.Values.rbac.calicoApiGroups) }}
{{- end }}
{{- end }}
{{- end }}

{{/* A scalar value as the daemon reads it: whole numbers without an exponent. */}}
{{- define "nfqwall.scalar" -}}
{{- if or (kindIs "float64" .) (kindIs "int" .) (kindIs "int64" .) }}
{{- int64 . | toString }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/*
The daemon's environment: NODE_NAME, POD_NAMESPACE, the DaemonSet it belongs to, the HTTP
address, then one variable per option set in .Values.daemon (in `nfqwall run --help` order).
Options left null, empty or false render nothing, so the daemon's defaults apply.
*/}}
{{- define "nfqwall.env" -}}
{{- $d := .Values.daemon -}}
- name: NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: NFQWALL_DAEMONSET
  value: {{ printf "%s/%s" .Release.Namespace (include "nfqwall.fullname" .) | quote }}
- name: NFQWALL_HTTP_ADDR
  value: {{ $d.httpAddr | quote }}
{{- if not $d.allowSelf }}
- name: NFQWALL_NO_ALLOW_SELF
  value: "1"
{{- end }}
{{- if not $d.lockoutGuard }}
- name: NFQWALL_NO_LOCKOUT_GUARD
  value: "1"
{{- end }}
{{- if $d.flowJournal.enabled }}
- name: NFQWALL_FLOW_JOURNAL
  value: /var/lib/nfqwall/flows.jsonl
{{- range $k := list (list "maxMib" "NFQWALL_FLOW_JOURNAL_MAX_MIB") (list "maxFlows" "NFQWALL_FLOW_JOURNAL_MAX_FLOWS") (list "flushMs" "NFQWALL_FLOW_JOURNAL_FLUSH_MS") }}
{{- $v := index $d.flowJournal (index $k 0) }}
{{- if not (kindIs "invalid" $v) }}
- name: {{ index $k 1 }}
  value: {{ include "nfqwall.scalar" $v | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- with $d.lifelines }}
- name: NFQWALL_LIFELINES
  value: {{ join "," . | quote }}
{{- end }}
{{- if not $d.clusterEndpoints }}
- name: NFQWALL_NO_CLUSTER_ENDPOINTS
  value: "1"
{{- end }}
{{- with $d.hostLabels }}
{{- $pairs := list }}
{{- range $k := keys . | sortAlpha }}
{{- $pairs = append $pairs (printf "%s=%s" $k (index $d.hostLabels $k)) }}
{{- end }}
- name: NFQWALL_HOST_LABELS
  value: {{ join "," $pairs | quote }}
{{- end }}
{{- $options := list
  (list "apiServer" "NFQWALL_API_SERVER")
  (list "calicoApiGroup" "NFQWALL_CALICO_API_GROUP")
  (list "maxListMib" "NFQWALL_MAX_LIST_MIB")
  (list "autoHostEndpoint" "NFQWALL_AUTO_HOST_ENDPOINT")
  (list "failsafeIn" "NFQWALL_FAILSAFE_IN")
  (list "failsafeOut" "NFQWALL_FAILSAFE_OUT")
  (list "queues" "NFQWALL_QUEUES")
  (list "queueFirst" "NFQWALL_QUEUE_FIRST")
  (list "queueLen" "NFQWALL_QUEUE_LEN")
  (list "failOpen" "NFQWALL_FAIL_OPEN")
  (list "markMask" "NFQWALL_MARK_MASK")
  (list "markCheck" "NFQWALL_MARK_CHECK")
  (list "noInvalidDrop" "NFQWALL_NO_INVALID_DROP")
  (list "noRejudge" "NFQWALL_NO_REJUDGE")
  (list "logAllowed" "NFQWALL_LOG_ALLOWED")
  (list "audit" "NFQWALL_AUDIT")
  (list "logFile" "NFQWALL_LOG_FILE")
  (list "logRate" "NFQWALL_LOG_RATE")
  (list "logBurst" "NFQWALL_LOG_BURST")
  (list "debounceMs" "NFQWALL_DEBOUNCE_MS")
  (list "debounceMaxMs" "NFQWALL_DEBOUNCE_MAX_MS")
  (list "policyDebounceMs" "NFQWALL_POLICY_DEBOUNCE_MS")
  (list "confirmTimeout" "NFQWALL_CONFIRM_TIMEOUT")
  (list "maxFileBytes" "NFQWALL_MAX_FILE_BYTES")
  (list "maxObjectBytes" "NFQWALL_MAX_OBJECT_BYTES")
  (list "maxNodes" "NFQWALL_MAX_NODES")
  (list "maxObjects" "NFQWALL_MAX_OBJECTS")
  (list "maxDepth" "NFQWALL_MAX_DEPTH")
  (list "allowUnknownFields" "NFQWALL_ALLOW_UNKNOWN_FIELDS") }}
{{- range $options }}
{{- $v := index $d (index . 0) }}
{{- if kindIs "bool" $v }}
{{- if $v }}
- name: {{ index . 1 }}
  value: "1"
{{- end }}
{{- else if and (not (kindIs "invalid" $v)) (ne (toString $v) "") }}
- name: {{ index . 1 }}
  value: {{ include "nfqwall.scalar" $v | quote }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
