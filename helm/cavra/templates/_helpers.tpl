{{/* Names and labels. */}}
{{- define "cavra.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cavra.fullname" -}}
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

{{/* The Job's name: at most 63 characters, so that it fits the job-name label of its pod. */}}
{{- define "cavra.migrateJobName" -}}
{{- printf "%s-migrate" (include "cavra.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{/* Pods of the Deployment: replicaCount (the name other charts use) when set, else replicas. */}}
{{- define "cavra.replicas" -}}
{{- if kindIs "invalid" .Values.replicaCount }}{{ .Values.replicas | int64 }}{{ else }}{{ .Values.replicaCount | int64 }}{{ end }}
{{- end }}

{{- define "cavra.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cavra.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cavra.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cavra.labels" -}}
helm.sh/chart: {{ include "cavra.chart" . }}
{{ include "cavra.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "cavra.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cavra.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "cavra.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret and key holding the server's database URL. */}}
{{- define "cavra.databaseSecretName" -}}
{{- if .Values.database.url }}{{ include "cavra.fullname" . }}-database{{ else }}{{ .Values.database.existingSecret }}{{ end }}
{{- end }}
{{- define "cavra.databaseSecretKey" -}}
{{- if .Values.database.url }}database-url{{ else }}{{ .Values.database.existingSecretKey }}{{ end }}
{{- end }}

{{/* The URL the chart must put into the <fullname>-migrations Secret, if any: migrations.url;
or, in job mode, database.url, because the hook Job runs before the release's ordinary
resources (the <fullname>-database Secret among them) exist. */}}
{{- define "cavra.migrationUrlToGenerate" -}}
{{- if .Values.migrations.url }}{{ .Values.migrations.url }}
{{- else if and (eq .Values.migrations.mode "job") .Values.database.url (not .Values.migrations.existingSecret) }}{{ .Values.database.url }}
{{- end }}
{{- end }}

{{/* The Secret and key the migration step reads its URL from (CAVRA_MIGRATION_DATABASE_URL):
its own credentials when given, else the server's. */}}
{{- define "cavra.migrationSecretName" -}}
{{- if include "cavra.migrationUrlToGenerate" . }}{{ include "cavra.fullname" . }}-migrations
{{- else if .Values.migrations.existingSecret }}{{ .Values.migrations.existingSecret }}
{{- else }}{{ include "cavra.databaseSecretName" . }}{{ end }}
{{- end }}
{{- define "cavra.migrationSecretKey" -}}
{{- if include "cavra.migrationUrlToGenerate" . }}database-url
{{- else if .Values.migrations.existingSecret }}{{ .Values.migrations.existingSecretKey }}
{{- else }}{{ include "cavra.databaseSecretKey" . }}{{ end }}
{{- end }}

{{- define "cavra.terminationGracePeriodSeconds" -}}
{{- $min := add .Values.preStopSleepSeconds .Values.shutdownGraceSeconds }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $min 5 }}
{{- else }}
{{- int .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* libpq TLS settings, for the server and the migration step alike. */}}
{{- define "cavra.pgTlsEnv" -}}
{{- if .Values.database.sslmode }}
- name: PGSSLMODE
  value: {{ .Values.database.sslmode | quote }}
{{- end }}
{{- if .Values.database.caSecret.name }}
- name: PGSSLROOTCERT
  value: /etc/cavra/postgres-ca/{{ .Values.database.caSecret.key }}
{{- else if has .Values.database.sslmode (list "verify-ca" "verify-full") }}
- name: PGSSLROOTCERT
  value: /etc/ssl/certs/ca-certificates.crt
{{- end }}
{{- end }}

{{- define "cavra.pgTlsVolumeMount" -}}
{{- if .Values.database.caSecret.name }}
- name: postgres-ca
  mountPath: /etc/cavra/postgres-ca
  readOnly: true
{{- end }}
{{- end }}

{{- define "cavra.pgTlsVolume" -}}
{{- if .Values.database.caSecret.name }}
- name: postgres-ca
  secret:
    secretName: {{ .Values.database.caSecret.name }}
    items:
      - key: {{ .Values.database.caSecret.key }}
        path: {{ .Values.database.caSecret.key }}
{{- end }}
{{- end }}

{{/*
The audit seal key (audit.sealKeySecret): every container that appends to the audit chain (the
server, and the migration step, whose adoptions chain older records) seals with it.
*/}}
{{- define "cavra.sealKeyEnv" -}}
{{- if .Values.audit.sealKeySecret.existingSecret }}
- name: CAVRA_AUDIT_SEAL_KEY_FILE
  value: /etc/cavra/audit-seal-key/{{ .Values.audit.sealKeySecret.key }}
{{- end }}
{{- end }}

{{- define "cavra.sealKeyVolumeMount" -}}
{{- if .Values.audit.sealKeySecret.existingSecret }}
- name: audit-seal-key
  mountPath: /etc/cavra/audit-seal-key
  readOnly: true
{{- end }}
{{- end }}

{{- define "cavra.sealKeyVolume" -}}
{{- if .Values.audit.sealKeySecret.existingSecret }}
- name: audit-seal-key
  secret:
    secretName: {{ .Values.audit.sealKeySecret.existingSecret }}
    items:
      - key: {{ .Values.audit.sealKeySecret.key }}
        path: {{ .Values.audit.sealKeySecret.key }}
{{- end }}
{{- end }}

{{/* The migration step's container: the initContainer and the hook Job share it. */}}
{{- define "cavra.migrateContainer" -}}
name: migrate
image: {{ include "cavra.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
args: ["migrate", "up"]
env:
  # Only the migration credentials: `cavra migrate` prefers CAVRA_MIGRATION_DATABASE_URL.
  - name: CAVRA_MIGRATION_DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ include "cavra.migrationSecretName" . }}
        key: {{ include "cavra.migrationSecretKey" . }}
  - name: CAVRA_LOG_FORMAT
    value: {{ .Values.logFormat | quote }}
  {{- include "cavra.pgTlsEnv" . | trim | nindent 2 }}
  {{- include "cavra.sealKeyEnv" . | trim | nindent 2 }}
  {{- with .Values.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
resources:
  {{- toYaml .Values.migrations.resources | nindent 2 }}
{{- $mounts := print (include "cavra.pgTlsVolumeMount" .) (include "cavra.sealKeyVolumeMount" .) | trim }}
{{- if or $mounts .Values.extraVolumeMounts }}
volumeMounts:
  {{- with $mounts }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- with .Values.extraVolumeMounts }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* The annotations that roll pods when a Secret they read changes (rollOnSecretChange). */}}
{{- define "cavra.secretChecksums" -}}
{{- if .Values.rollOnSecretChange.chartSecrets }}
{{- with include (print .Template.BasePath "/secret.yaml") . | trim }}
checksum/secrets: {{ . | sha256sum }}
{{- end }}
{{- end }}
{{- if .Values.rollOnSecretChange.externalSecrets }}
{{- $data := list }}
{{- range $name := list .Values.database.existingSecret .Values.migrations.existingSecret .Values.console.clientSecret.existingSecret .Values.apiTokens.keySecret.existingSecret .Values.audit.sealKeySecret.existingSecret .Values.database.caSecret.name .Values.oidc.caBundle.secretName }}
{{- if $name }}
{{- $s := lookup "v1" "Secret" $.Release.Namespace $name }}
{{- $data = append $data (printf "%s=%s" $name (toJson (($s).data | default dict))) }}
{{- end }}
{{- end }}
checksum/external-secrets: {{ join "," $data | sha256sum }}
{{- end }}
{{- end }}

{{/* Effective minimum number of server pods: the HPA's floor, or the replica count. */}}
{{- define "cavra.minPods" -}}
{{- if .Values.autoscaling.enabled }}{{ .Values.autoscaling.minReplicas | int64 }}{{ else }}{{ include "cavra.replicas" . }}{{ end }}
{{- end }}

{{/* Checks that need more than one value; the schema checks each value alone. */}}
{{- define "cavra.validate" -}}
{{- if and .Values.database.url .Values.database.existingSecret }}
{{- fail "database: set either database.existingSecret (a Secret you made) or database.url (the chart makes the Secret), not both" }}
{{- end }}
{{- if and .Values.migrations.url .Values.migrations.existingSecret }}
{{- fail "migrations: set either migrations.existingSecret or migrations.url, not both" }}
{{- end }}
{{- if and (eq .Values.auth.mode "none") (not .Values.auth.allowUnauthenticated) }}
{{- fail "auth.mode none: cavra refuses it on a pod's listener; use auth.mode oidc, or set auth.allowUnauthenticated: true to accept anyone who reaches the Service" }}
{{- end }}
{{- if and (eq .Values.auth.mode "oidc") (not .Values.oidc.issuer) (not .Values.oidc.extraIssuers) }}
{{- fail "auth.mode oidc needs oidc.issuer and oidc.audience (or oidc.extraIssuers)" }}
{{- end }}
{{- if and .Values.oidc.issuer (not .Values.oidc.audience) }}
{{- fail "oidc.issuer and oidc.audience go together: set oidc.audience" }}
{{- end }}
{{- if and .Values.oidc.caBundle.secretName .Values.oidc.caBundle.configMapName }}
{{- fail "oidc.caBundle: set secretName or configMapName, not both" }}
{{- end }}
{{- if and .Values.console.enabled (not .Values.console.clientSecret.existingSecret) (eq .Values.auth.mode "oidc") }}
{{- fail "console.enabled in oidc mode needs console.clientSecret.existingSecret (a Secret with the OIDC client secret)" }}
{{- end }}
{{- $min := add .Values.preStopSleepSeconds .Values.shutdownGraceSeconds }}
{{- if le (int (include "cavra.terminationGracePeriodSeconds" .)) (int $min) }}
{{- fail (printf "terminationGracePeriodSeconds (%s) must be larger than preStopSleepSeconds + shutdownGraceSeconds (%d), or in-flight requests are cut off" (include "cavra.terminationGracePeriodSeconds" .) $min) }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.hosts) }}
{{- fail "ingress.enabled needs at least one entry in ingress.hosts" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas (%d) is larger than autoscaling.maxReplicas (%d): the API refuses the HorizontalPodAutoscaler" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- end }}
{{- include "cavra.validatePdb" . }}
{{- if and .Values.serviceMonitor.enabled (not .Values.metricsPublic) (not .Values.serviceMonitor.bearerTokenSecret.name) }}
{{- fail "serviceMonitor.enabled: /metrics needs a token unless metricsPublic is true; set serviceMonitor.bearerTokenSecret.name (a Secret with a cavra API token whose role has metrics.read) or metricsPublic: true" }}
{{- end }}
{{- if and .Values.audit.checkpoints.enabled (not .Values.audit.checkpoints.signingKeySecret.existingSecret) }}
{{- fail "audit.checkpoints.enabled needs audit.checkpoints.signingKeySecret.existingSecret (a Secret with the Ed25519 private key that signs them)" }}
{{- end }}
{{- if and .Values.audit.checkpoints.enabled (not .Values.audit.checkpoints.persistentVolumeClaim) }}
{{- fail "audit.checkpoints.enabled needs audit.checkpoints.persistentVolumeClaim (an existing claim the checkpoint files are written to)" }}
{{- end }}
{{- if and .Values.console.enabled (not .Values.console.publicUrl) (not .Values.ingress.enabled) }}
{{- fail "console.enabled needs the URL users reach it at: set console.publicUrl, or enable the ingress (its first host is used)" }}
{{- end }}
{{- end }}

{{/* A PodDisruptionBudget that no number of pods can satisfy blocks every node drain. */}}
{{- define "cavra.validatePdb" -}}
{{- if .Values.podDisruptionBudget.enabled }}
{{- $pods := int (include "cavra.minPods" .) }}
{{- $min := toString .Values.podDisruptionBudget.minAvailable }}
{{- $max := toString .Values.podDisruptionBudget.maxUnavailable }}
{{- if $min }}
{{- if or (eq $min "100%") (and (regexMatch "^[0-9]+$" $min) (ge (int $min) $pods)) }}
{{- fail (printf "podDisruptionBudget.minAvailable %s with %d pod(s) never allows an eviction, so node drains hang; use a smaller minAvailable, maxUnavailable, or more replicas" $min $pods) }}
{{- end }}
{{- else if or (eq $max "0") (eq $max "0%") }}
{{- fail "podDisruptionBudget.maxUnavailable 0 never allows an eviction, so node drains hang; use 1 or more, or disable the budget" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The server container's volumes and mounts: settings files, CA bundles, the console's
client secret. Everything read-only; the root filesystem is read-only too. */}}
{{- define "cavra.hasFiles" -}}
{{- include (print .Template.BasePath "/configmap.yaml") . | trim }}
{{- end }}

{{- define "cavra.oidcCa" -}}
{{- if and (eq .Values.auth.mode "oidc") (or .Values.oidc.caBundle.secretName .Values.oidc.caBundle.configMapName) }}true{{ end }}
{{- end }}

{{- define "cavra.consoleSecret" -}}
{{- if and .Values.console.enabled .Values.console.clientSecret.existingSecret }}true{{ end }}
{{- end }}

{{- define "cavra.tokenKeySecret" -}}
{{- if .Values.apiTokens.keySecret.existingSecret }}true{{ end }}
{{- end }}

{{- define "cavra.serverVolumeMounts" -}}
{{- include "cavra.pgTlsVolumeMount" . }}
{{- include "cavra.sealKeyVolumeMount" . }}
{{- if include "cavra.hasFiles" . }}
- name: config
  mountPath: /etc/cavra/config
  readOnly: true
{{- end }}
{{- if .Values.rbac.existingConfigMap }}
- name: rbac
  mountPath: /etc/cavra/rbac
  readOnly: true
{{- end }}
{{- if include "cavra.oidcCa" . }}
- name: oidc-ca
  mountPath: /etc/cavra/oidc-ca
  readOnly: true
{{- end }}
{{- if include "cavra.consoleSecret" . }}
- name: console-client-secret
  mountPath: /etc/cavra/console
  readOnly: true
{{- end }}
{{- if include "cavra.tokenKeySecret" . }}
- name: api-token-key
  mountPath: /etc/cavra/api-token-key
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "cavra.serverVolumes" -}}
{{- include "cavra.pgTlsVolume" . }}
{{- include "cavra.sealKeyVolume" . }}
{{- if include "cavra.hasFiles" . }}
- name: config
  configMap:
    name: {{ include "cavra.fullname" . }}-files
{{- end }}
{{- if .Values.rbac.existingConfigMap }}
- name: rbac
  configMap:
    name: {{ .Values.rbac.existingConfigMap }}
    items:
      - key: rbac.yaml
        path: rbac.yaml
{{- end }}
{{- if include "cavra.oidcCa" . }}
- name: oidc-ca
  {{- if .Values.oidc.caBundle.secretName }}
  secret:
    secretName: {{ .Values.oidc.caBundle.secretName }}
  {{- else }}
  configMap:
    name: {{ .Values.oidc.caBundle.configMapName }}
  {{- end }}
    items:
      - key: {{ .Values.oidc.caBundle.key }}
        path: {{ .Values.oidc.caBundle.key }}
{{- end }}
{{- if include "cavra.consoleSecret" . }}
- name: console-client-secret
  secret:
    secretName: {{ .Values.console.clientSecret.existingSecret }}
    items:
      - key: {{ .Values.console.clientSecret.key }}
        path: {{ .Values.console.clientSecret.key }}
{{- end }}
{{- if include "cavra.tokenKeySecret" . }}
- name: api-token-key
  secret:
    secretName: {{ .Values.apiTokens.keySecret.existingSecret }}
    items:
      - key: {{ .Values.apiTokens.keySecret.key }}
        path: {{ .Values.apiTokens.keySecret.key }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}
