{{/*
Names, labels and the few decisions several templates share.
*/}}

{{/* The base name of every object: <release>-<chart>, or the release name when it already holds the chart name. */}}
{{- define "plimsoll.fullname" -}}
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

{{- define "plimsoll.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of the operator's pods, stable across upgrades (Deployment selector). */}}
{{- define "plimsoll.selectorLabels" -}}
app.kubernetes.io/name: {{ include "plimsoll.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "plimsoll.labels" -}}
{{ include "plimsoll.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: plimsoll
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "plimsoll.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "plimsoll.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "plimsoll.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "plimsoll.analyzerImage" -}}
{{- printf "%s:%s" .Values.analyzer.image.repository (default .Chart.AppVersion .Values.analyzer.image.tag) -}}
{{- end -}}

{{/* "true" when the store is PostgreSQL (a URL from a Secret), else "" (SQLite). */}}
{{- define "plimsoll.postgres" -}}
{{- if .Values.database.existingSecret -}}true{{- end -}}
{{- end -}}

{{/*
"true" when leader election is on: always with more than one replica, else when asked.
SQLite cannot be shared by replicas: refuse rather than render two writers on one file.
*/}}
{{- define "plimsoll.leaderElection" -}}
{{- $many := gt (int .Values.replicaCount) 1 -}}
{{- if and (or $many .Values.leaderElection.enabled) (not (include "plimsoll.postgres" .)) -}}
{{- fail "replicaCount > 1 (and leaderElection.enabled) needs PostgreSQL: set database.existingSecret; SQLite is one writer on one volume" -}}
{{- end -}}
{{- if or $many .Values.leaderElection.enabled -}}true{{- end -}}
{{- end -}}

{{/* The PVC of the SQLite store, or "" when there is none (PostgreSQL, or an emptyDir). */}}
{{- define "plimsoll.claimName" -}}
{{- if and (not (include "plimsoll.postgres" .)) .Values.persistence.enabled -}}
{{- default (printf "%s-data" (include "plimsoll.fullname" .)) .Values.persistence.existingClaim -}}
{{- end -}}
{{- end -}}
