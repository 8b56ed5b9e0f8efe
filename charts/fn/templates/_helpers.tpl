{{/* Chart name, overridable. */}}
{{- define "fn.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: the release name, prefixed with the chart name unless the release name already holds it.
Truncated to 50 so that "-runner-headless" and friends stay within the 63-character name limit.
*/}}
{{- define "fn.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "fn.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "fn.labels" -}}
helm.sh/chart: {{ include "fn.chart" . }}
app.kubernetes.io/name: {{ include "fn.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fn
{{- end }}

{{/* Selector labels of one component: call with (dict "ctx" $ "component" "server"). */}}
{{- define "fn.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fn.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels of one component's objects and pods. */}}
{{- define "fn.componentLabels" -}}
{{ include "fn.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "fn.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "fn.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The component that owns the database: the whole server in full mode, the API in split mode. */}}
{{- define "fn.serverComponent" -}}
{{- if eq .Values.mode "split" }}api{{ else }}server{{ end }}
{{- end }}

{{/* The component behind the main Service (invocations). */}}
{{- define "fn.frontComponent" -}}
{{- if eq .Values.mode "split" }}lb{{ else }}server{{ end }}
{{- end }}

{{/* In-cluster URL of the main Service. */}}
{{- define "fn.serviceURL" -}}
{{- printf "http://%s.%s.svc:%d" (include "fn.fullname" .) .Release.Namespace (int .Values.service.port) }}
{{- end }}

{{/* In-cluster URL of the management API: the main Service in full mode, the API Service in split mode. */}}
{{- define "fn.apiURL" -}}
{{- if eq .Values.mode "split" }}
{{- printf "http://%s-api.%s.svc:%d" (include "fn.fullname" .) .Release.Namespace (int .Values.service.port) }}
{{- else }}
{{- include "fn.serviceURL" . }}
{{- end }}
{{- end }}

{{/*
FN_PUBLIC_LB_URL: explicit value, else the ingress host, else a fixed LoadBalancer address, else the
in-cluster Service URL. Deliberately no lookup of live objects: the same values must always render
the same manifest, or re-running the installer would not be a no-op.
*/}}
{{- define "fn.publicURL" -}}
{{- if .Values.publicURL }}
{{- .Values.publicURL | trimSuffix "/" }}
{{- else if and .Values.ingress.enabled .Values.ingress.host }}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) .Values.ingress.host }}
{{- else if and (eq .Values.service.type "LoadBalancer") .Values.service.loadBalancerIP }}
{{- printf "http://%s:%d" .Values.service.loadBalancerIP (int .Values.service.port) }}
{{- else }}
{{- include "fn.serviceURL" . }}
{{- end }}
{{- end }}

{{/* The pure runners' addresses, for the load balancer's static runner list. */}}
{{- define "fn.runnerAddresses" -}}
{{- $full := include "fn.fullname" . }}
{{- $addrs := list }}
{{- range $i := until (int .Values.runner.replicas) }}
{{- $addrs = append $addrs (printf "%s-runner-%d.%s-runner-headless.%s.svc:%d" $full $i $full $.Release.Namespace (int $.Values.runner.grpcPort)) }}
{{- end }}
{{- join "," $addrs }}
{{- end }}

{{- define "fn.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end }}

{{/* Environment every fnserver container gets. */}}
{{- define "fn.commonEnv" -}}
- name: FN_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: FN_PORT
  value: "8080"
{{- end }}

{{/* FN_DB_URL: sqlite on the data volume, or an external database from a Secret. */}}
{{- define "fn.dbEnv" -}}
{{- if eq .Values.database.type "sqlite" }}
- name: FN_DB_URL
  value: "sqlite3:///app/data/fn.db"
{{- else }}
- name: FN_DB_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret.name | quote }}
      key: {{ .Values.database.existingSecret.key | quote }}
{{- end }}
{{- end }}

{{/* Does the server need the sqlite volume? */}}
{{- define "fn.usesDataVolume" -}}
{{- if and (eq .Values.database.type "sqlite") .Values.persistence.enabled }}true{{ end }}
{{- end }}

{{- define "fn.claimName" -}}
{{- default (printf "%s-data" (include "fn.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/*
A container that runs functions: privileged with its own Docker daemon (dind), or talking to the
node's daemon (host). Emits the container's command, securityContext, env, volumeMounts; the matching
volumes come from fn.dockerVolumes.
*/}}
{{- define "fn.dockerContainerSpec" -}}
{{- if eq .Values.docker.mode "dind" }}
securityContext:
  privileged: true
{{- else }}
# The image's entrypoint starts its own Docker daemon; with a node daemon, run fnserver directly.
command: ["/app/fnserver"]
{{- end }}
{{- end }}

{{- define "fn.dockerEnv" -}}
{{- if eq .Values.docker.mode "host" }}
- name: DOCKER_HOST
  value: "unix:///var/run/docker.sock"
- name: FN_IOFS_PATH
  value: {{ .Values.docker.host.iofsPath | quote }}
- name: FN_IOFS_DOCKER_PATH
  value: {{ .Values.docker.host.iofsPath | quote }}
{{- end }}
{{- end }}

{{- define "fn.dockerVolumeMounts" -}}
{{- if eq .Values.docker.mode "dind" }}
- name: docker-storage
  mountPath: /var/lib/docker
{{- else }}
- name: docker-socket
  mountPath: /var/run/docker.sock
- name: iofs
  mountPath: {{ .Values.docker.host.iofsPath | quote }}
{{- end }}
{{- end }}

{{- define "fn.dockerVolumes" -}}
{{- if eq .Values.docker.mode "dind" }}
- name: docker-storage
  emptyDir:
    sizeLimit: {{ .Values.docker.dind.storageSizeLimit | quote }}
{{- else }}
- name: docker-socket
  hostPath:
    path: {{ .Values.docker.host.socketPath | quote }}
    type: Socket
- name: iofs
  hostPath:
    path: {{ .Values.docker.host.iofsPath | quote }}
    type: DirectoryOrCreate
{{- end }}
{{- end }}

{{/* HTTP probes of an fnserver container serving on port "http". */}}
{{- define "fn.httpProbes" -}}
readinessProbe:
  httpGet:
    path: /
    port: http
  initialDelaySeconds: {{ .Values.probes.readiness.initialDelaySeconds }}
  periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
  timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
  failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
livenessProbe:
  httpGet:
    path: /
    port: http
  initialDelaySeconds: {{ .Values.probes.liveness.initialDelaySeconds }}
  periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
  timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
  failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
{{- end }}

{{/*
Rules that span several values, which the JSON schema cannot state with a readable message.
Rendering fails before anything is applied.
*/}}
{{- define "fn.validate" -}}
{{- if and (eq .Values.database.type "sqlite") (gt (int .Values.server.replicas) 1) }}
{{- fail (printf "server.replicas is %d but database.type is sqlite: sqlite is a single file, so only one server may own it. Set server.replicas to 1 or use database.type mysql or postgres." (int .Values.server.replicas)) }}
{{- end }}
{{- if and (ne .Values.database.type "sqlite") (not .Values.database.existingSecret.name) }}
{{- fail (printf "database.type is %s but database.existingSecret.name is empty: create a Secret holding FN_DB_URL (for example %s://user:password@tcp(host:port)/db) and name it in database.existingSecret.name." .Values.database.type .Values.database.type) }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) }}
{{- fail "ingress.enabled is true but ingress.host is empty: set ingress.host to the DNS name that should reach Fn." }}
{{- end }}
{{- if and .Values.ingress.tls.enabled (not .Values.ingress.tls.secretName) }}
{{- fail "ingress.tls.enabled is true but ingress.tls.secretName is empty: name the Secret holding the TLS certificate." }}
{{- end }}
{{- end }}

{{/*
Never go below the desired replicas during a rollout. Besides availability, this is what makes
Helm's wait meaningful: it expects (replicas - maxUnavailable) ready pods, and the default 25%
rounds down to 0 for a single replica, which would count a release as ready with no pod at all.
*/}}
{{- define "fn.rollingUpdate" -}}
type: RollingUpdate
rollingUpdate:
  maxUnavailable: 0
  maxSurge: 1
{{- end }}
