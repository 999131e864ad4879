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

{{/* Everything a pod of the platform shares: security, the data volume, /tmp, placement. */}}
{{- define "ignite.podCommon" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
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
