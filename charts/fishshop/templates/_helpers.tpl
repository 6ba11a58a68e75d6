{{/* The chart's name, shortened for label values. */}}
{{- define "fishshop.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: "<release>-fishshop", or the release name if it holds the chart name. */}}
{{- define "fishshop.fullname" -}}
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

{{- define "fishshop.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "fishshop.labels" -}}
helm.sh/chart: {{ include "fishshop.chart" . }}
{{ include "fishshop.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fishshop
{{- end -}}

{{/* The operator's selector. */}}
{{- define "fishshop.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fishshop.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "fishshop.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "fishshop.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "fishshop.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The optional Redis for the hot cabinet: its name and selector. */}}
{{- define "fishshop.redisName" -}}
{{- printf "%s-redis" (include "fishshop.fullname" . | trunc 57 | trimSuffix "-") -}}
{{- end -}}

{{- define "fishshop.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "fishshop.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end -}}

{{/* What a shop puts in spec.hotCabinet.redisUrl to use that Redis. */}}
{{- define "fishshop.redisUrl" -}}
{{- printf "redis://%s.%s.svc:%v/0" (include "fishshop.redisName" .) .Release.Namespace .Values.redis.service.port -}}
{{- end -}}

{{- define "fishshop.redisLabels" -}}
helm.sh/chart: {{ include "fishshop.chart" . }}
{{ include "fishshop.redisSelectorLabels" . }}
app.kubernetes.io/version: {{ .Values.redis.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fishshop
{{- end -}}

{{/* The oldest Kubernetes the chart supports (templates/kube-version.yaml checks it). */}}
{{- define "fishshop.minKubeVersion" -}}
1.30
{{- end -}}

{{/*
"true" when the operator's rights are Roles in the watched namespaces only: the
operator watches some namespaces, each named exactly. A pattern (shops-*) matches
namespaces not yet made, which a Role cannot name, and kopf finds them by listing
every namespace: that needs the ClusterRole.
*/}}
{{- define "fishshop.namespacedRbac" -}}
{{- $exact := true -}}
{{- range .Values.operator.watchNamespaces -}}
{{- if regexMatch "[*?\\[\\]]" . }}{{ $exact = false }}{{ end -}}
{{- end -}}
{{- if and .Values.operator.watchNamespaces $exact }}true{{ end -}}
{{- end -}}

{{/*
The rules the operator needs in each namespace whose shops it runs; the ClusterRole
adds the cluster-scoped ones. manifests/operator/rbac.yaml explains each rule, and a
test keeps the two the same.
*/}}
{{- define "fishshop.namespacedRules" -}}
- apiGroups: [fishshop.dev]
  resources: [fishshops]
  verbs: [get, list, watch, patch]
- apiGroups: [fishshop.dev]
  resources: [fishshops/status]
  verbs: [patch]
- apiGroups: [fishshop.dev]
  resources: [fishshops/finalizers]
  verbs: [update]
- apiGroups: [apps]
  resources: [deployments, statefulsets]
  verbs: [get, list, watch, create, patch]
- apiGroups: [""]
  resources: [services]
  verbs: [create, patch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, create, patch, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end -}}
