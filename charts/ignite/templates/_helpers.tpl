{{/* Names ---------------------------------------------------------------------------------- */}}

{{- define "ignite.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ignite.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<component>", e.g. ignite-api */}}
{{- define "ignite.componentName" -}}
{{- printf "%s-%s" (include "ignite.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels -------------------------------------------------------------------------------- */}}

{{- define "ignite.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/part-of: ignite
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "ignite.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ignite.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ignite.componentLabels" -}}
{{ include "ignite.labels" .root }}
{{ include "ignite.selectorLabels" . }}
{{- end -}}

{{/* Where things are ---------------------------------------------------------------------- */}}

{{/* The namespace build Jobs run in: builds.namespace, or the release's. */}}
{{- define "ignite.buildNamespace" -}}
{{- default .Release.Namespace .Values.builds.namespace -}}
{{- end -}}

{{- define "ignite.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- include "ignite.fullname" . -}}
{{- end -}}
{{- end -}}

{{- define "ignite.dataClaimName" -}}
{{- if .Values.persistence.existingClaim -}}
{{- .Values.persistence.existingClaim -}}
{{- else -}}
{{- printf "%s-data" (include "ignite.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "ignite.apiUrl" -}}
{{- printf "http://%s.%s.svc.%s:%v" (include "ignite.componentName" (dict "root" . "component" "api")) .Release.Namespace .Values.clusterDomain .Values.api.port -}}
{{- end -}}

{{/* The data plane's entry: the runner's direct port, where the API forwards its invoke route. */}}
{{- define "ignite.runnerDirectUrl" -}}
{{- printf "http://%s.%s.svc.%s:%v" (include "ignite.componentName" (dict "root" . "component" "runner")) .Release.Namespace .Values.clusterDomain .Values.runner.directPort -}}
{{- end -}}

{{- define "ignite.runnerUrl" -}}
{{- printf "http://%s.%s.svc.%s:%v" (include "ignite.componentName" (dict "root" . "component" "runner")) .Release.Namespace .Values.clusterDomain .Values.runner.port -}}
{{- end -}}

{{- define "ignite.compileWorkerServiceAccount" -}}
{{- default (include "ignite.componentName" (dict "root" . "component" "compile-worker")) .Values.compileWorker.serviceAccount.name -}}
{{- end -}}

{{- define "ignite.buildServiceAccount" -}}
{{- default (include "ignite.componentName" (dict "root" . "component" "build")) .Values.builds.serviceAccount.name -}}
{{- end -}}

{{/* The image of a component: its own repository/tag, else the platform image's; the tag defaults to the chart's appVersion. */}}
{{- define "ignite.image" -}}
{{- $image := .image | default dict -}}
{{- $repository := $image.repository | default .root.Values.image.repository -}}
{{- $tag := $image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%v" $repository $tag -}}
{{- end -}}

{{- define "ignite.imagePullPolicy" -}}
{{- $image := .image | default dict -}}
{{- $image.pullPolicy | default .root.Values.image.pullPolicy -}}
{{- end -}}

{{/* A secret-backed environment variable (key of the platform Secret). */}}
{{- define "ignite.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "ignite.secretName" .root }}
      key: {{ .key | default .name }}
{{- end -}}

{{/* The apps' own variables from a values `env` map, in a stable order. */}}
{{- define "ignite.envMap" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Everything a pod of the platform shares: security (`podSecurityContext`, unless the caller passes its own), the data volume, /tmp, placement. */}}
{{- define "ignite.podCommon" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml (.podSecurityContext | default .root.Values.podSecurityContext) | nindent 2 }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: data
    {{- if .root.Values.persistence.enabled }}
    persistentVolumeClaim:
      claimName: {{ include "ignite.dataClaimName" .root }}
    {{- else }}
    emptyDir: {}
    {{- end }}
  - name: tmp
    emptyDir:
      sizeLimit: {{ .root.Values.tmpSizeLimit }}
{{- end -}}

{{- define "ignite.volumeMounts" -}}
volumeMounts:
  - name: data
    mountPath: {{ .Values.persistence.mountPath }}
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/* A checksum of what the platform Secret holds, so pods roll when it changes. */}}
{{- define "ignite.secretChecksum" -}}
{{- if not .Values.secrets.existingSecret -}}
checksum/secret: {{ toJson .Values.secrets | sha256sum }}
{{- end -}}
{{- end -}}

{{/* The runner's sandbox ------------------------------------------------------------------ */}}

{{/*
The runner's sandbox as the pod needs it (README, "Isolation"), as a dict:
  root       the launcher runs as root of the pod's user namespace: it maps each sandbox to a uid of
             its own from the range (CAP_SETUID/CAP_SETGID). Only with hostUsers false, where that
             root is an unprivileged uid of the node.
  namespaces the launcher creates namespaces: seccomp and AppArmor profiles that allow it.
Checks the uid range against the pod's user namespace (65536 ids) and the pod's own ids.
*/}}
{{- define "ignite.runnerSandbox" -}}
{{- $runner := .Values.runner -}}
{{- $sandbox := $runner.sandbox -}}
{{- $namespaces := eq $sandbox.mode "namespaces" -}}
{{- $root := and $namespaces (not $runner.hostUsers) -}}
{{- if $root -}}
{{- $end := add $sandbox.uidBase $sandbox.uidCount -}}
{{- if gt (int $end) 65536 -}}
{{- fail (printf "runner.sandbox.uidBase + uidCount (%v + %v) must not exceed 65536: the pod's user namespace (hostUsers false) has uids 0-65535" $sandbox.uidBase $sandbox.uidCount) -}}
{{- end -}}
{{- range $name := list "runAsGroup" "fsGroup" -}}
{{- $id := index $.Values.podSecurityContext $name -}}
{{- if and $id (ge (int $id) (int $sandbox.uidBase)) (lt (int $id) (int $end)) -}}
{{- fail (printf "runner.sandbox.uidBase/uidCount (%v-%v) must not contain podSecurityContext.%s (%v): a sandbox would share the runner's group" $sandbox.uidBase (sub $end 1) $name $id) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson (dict "namespaces" $namespaces "root" $root) -}}
{{- end -}}

{{/* The runner pod's security context: podSecurityContext, as root of the pod's user namespace when the sandbox needs it. */}}
{{- define "ignite.runnerPodSecurityContext" -}}
{{- $sandbox := include "ignite.runnerSandbox" . | fromJson -}}
{{- $context := deepCopy .Values.podSecurityContext -}}
{{- if $sandbox.root -}}
{{- $_ := set $context "runAsUser" 0 -}}
{{- $_ := set $context "runAsNonRoot" false -}}
{{- end -}}
{{- toYaml $context -}}
{{- end -}}

{{/* The runner container's security context: containerSecurityContext, with what the sandbox needs and nothing more. */}}
{{- define "ignite.runnerContainerSecurityContext" -}}
{{- $sandbox := include "ignite.runnerSandbox" . | fromJson -}}
{{- $context := deepCopy .Values.containerSecurityContext -}}
{{- if $sandbox.namespaces -}}
{{- $_ := set $context "seccompProfile" .Values.runner.sandbox.seccompProfile -}}
{{- $_ := set $context "appArmorProfile" .Values.runner.sandbox.appArmorProfile -}}
{{- end -}}
{{- if $sandbox.root -}}
{{- $_ := set $context "capabilities" (dict "drop" (list "ALL") "add" (list "SETUID" "SETGID")) -}}
{{- $_ := set $context "procMount" "Unmasked" -}}
{{- end -}}
{{- toYaml $context -}}
{{- end -}}

{{/* NetworkPolicies ---------------------------------------------------------------------- */}}

{{/* The port of a URL (`url`), else `default`. */}}
{{- define "ignite.urlPort" -}}
{{- $port := .default -}}
{{- if .url -}}
{{- $found := regexFind ":[0-9]+$" (urlParse .url).host -}}
{{- if $found -}}
{{- $port = trimPrefix ":" $found -}}
{{- end -}}
{{- end -}}
{{- $port -}}
{{- end -}}

{{/* The TCP ports of a service of networkPolicies (`service`): its own, else the port of its URL (`url`, when the chart holds it), else `default`. */}}
{{- define "ignite.servicePorts" -}}
{{- $ports := .service.ports -}}
{{- if not $ports -}}
{{- $url := "" -}}
{{- if not .root.Values.secrets.existingSecret -}}
{{- $url = .url -}}
{{- end -}}
{{- $ports = list (include "ignite.urlPort" (dict "url" $url "default" .default)) -}}
{{- end -}}
{{- toJson $ports -}}
{{- end -}}

{{/* An egress rule to a service of networkPolicies: its peers (`to`; none: any address) on its TCP ports. */}}
{{- define "ignite.serviceEgress" -}}
- ports:
    {{- range (include "ignite.servicePorts" . | fromJsonArray) }}
    - protocol: TCP
      port: {{ int . }}
    {{- end }}
  {{- with .service.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* The egress rule to the cluster DNS (UDP and TCP). */}}
{{- define "ignite.dnsEgress" -}}
{{- $dns := .Values.networkPolicies.dns -}}
- to:
    - namespaceSelector:
        {{- toYaml $dns.namespaceSelector | nindent 8 }}
      podSelector:
        matchLabels:
          {{- toYaml $dns.podSelector | nindent 10 }}
  ports:
    - protocol: UDP
      port: {{ $dns.port }}
    - protocol: TCP
      port: {{ $dns.port }}
{{- end -}}

{{/*
The egress rule to the package registry (crates.io): builds.networkPolicy.registry's addresses and
ports, less its `except` and the cluster's own CIDRs (networkPolicies.clusterCidrs), each `except`
entry under the `cidr` of its own family (IPv4 or IPv6) only.
*/}}
{{- define "ignite.registryEgress" -}}
{{- $registry := .Values.builds.networkPolicy.registry -}}
{{- $excluded := concat $registry.except .Values.networkPolicies.clusterCidrs | uniq -}}
- to:
    {{- range $cidr := $registry.cidrs }}
    {{- $v6 := contains ":" $cidr }}
    {{- $except := list }}
    {{- range $excluded }}
    {{- if eq (contains ":" .) $v6 }}
    {{- $except = append $except . }}
    {{- end }}
    {{- end }}
    - ipBlock:
        cidr: {{ $cidr }}
        {{- with $except }}
        except:
          {{- toYaml . | nindent 10 }}
        {{- end }}
    {{- end }}
  ports:
    {{- range $registry.ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
{{- end -}}

{{/* The egress rules of a pod that uses Postgres and Redis (the runner, the compile worker). */}}
{{- define "ignite.dataEgress" -}}
{{ include "ignite.serviceEgress" (dict "root" . "service" .Values.networkPolicies.postgres "url" .Values.secrets.databaseUrl "default" 5432) }}
{{ include "ignite.serviceEgress" (dict "root" . "service" .Values.networkPolicies.redis "url" .Values.secrets.redisUrl "default" 6379) }}
{{- end -}}
