{{/*
Helpers shared by the templates. Per-component helpers take
(dict "root" $ "name" <component>).
*/}}

{{/* The chart name, for the app.kubernetes.io/name label. */}}
{{- define "dealernet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The prefix of every object name; 40 characters leave room for "-callcenter". */}}
{{- define "dealernet.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* The components, in start-up order: the four backends, then the gateway. */}}
{{- define "dealernet.components" -}}
customers vehicles callcenter dealers gateway
{{- end -}}

{{/*
The services a component calls (its DEALERNET_<SVC>_URL settings, from
services/kit/src/config.rs and src/wiring.rs): vehicles asks the registry and the
dealer network and reads the registry's events; callcenter asks those and reads the
vehicle service's and the registry's events; the registry reads the vehicle service's
and the call center's events (customer value); the gateway routes to all four. NetworkPolicies are derived
from it too.
*/}}
{{- define "dealernet.peers" -}}
{{- $peers := dict
    "customers" "vehicles callcenter"
    "dealers" ""
    "callcenter" "customers dealers vehicles"
    "vehicles" "customers dealers"
    "gateway" "customers vehicles callcenter dealers" -}}
{{- index $peers . -}}
{{- end -}}

{{/* The components that call this one (the inverse of dealernet.peers), space-separated. */}}
{{- define "dealernet.callers" -}}
{{- $callers := list -}}
{{- range $c := include "dealernet.components" . | splitList " " -}}
{{- if has $ (include "dealernet.peers" $c | splitList " ") -}}
{{- $callers = append $callers $c -}}
{{- end -}}
{{- end -}}
{{- join " " $callers -}}
{{- end -}}

{{/* A component's object name: <prefix>-<component>. */}}
{{- define "dealernet.objectName" -}}
{{- printf "%s-%s" (include "dealernet.fullname" .root) .name -}}
{{- end -}}

{{- define "dealernet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "dealernet.labels" -}}
helm.sh/chart: {{ include "dealernet.chart" . }}
app.kubernetes.io/name: {{ include "dealernet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dealernet
{{- end -}}

{{/* The labels that select a component's pods. */}}
{{- define "dealernet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dealernet.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Labels of a component's objects. */}}
{{- define "dealernet.componentLabels" -}}
{{ include "dealernet.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "dealernet.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "dealernet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (printf "%s-dealernet" (include "dealernet.fullname" .)) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret the pods read: existingSecret, or the chart's. */}}
{{- define "dealernet.secretName" -}}
{{- default (printf "%s-secrets" (include "dealernet.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{/* The Secret the migrations Job reads: existingSecret, or the hook copy. */}}
{{- define "dealernet.migrationsSecretName" -}}
{{- default (printf "%s-migrations" (include "dealernet.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{/* Where the gateway finds the key verifying external tokens, by gateway.jwt.verifyWith. */}}
{{- define "dealernet.jwtKeyFile" -}}
{{- $files := dict "publicKey" "jwt-public-key.pem" "jwks" "jwt-jwks.json" -}}
{{- with index $files .Values.gateway.jwt.verifyWith -}}
{{- . -}}
{{- end -}}
{{- end -}}

{{/* DEALERNET_<SVC>_URL of each service a component calls, as YAML. */}}
{{- define "dealernet.peerUrls" -}}
{{- $urls := dict -}}
{{- range $peer := include "dealernet.peers" .name | splitList " " | compact -}}
{{- $_ := set $urls (printf "DEALERNET_%s_URL" (upper $peer)) (printf "http://%s:50051" (include "dealernet.objectName" (dict "root" $.root "name" $peer))) -}}
{{- end -}}
{{- toYaml $urls -}}
{{- end -}}

{{/*
A component's non-secret settings: the data of its ConfigMap, as YAML (sorted keys,
so the checksum is stable). Numbers go through int: Helm reads them as floats, which
print as 3.6e+06.
*/}}
{{- define "dealernet.config" -}}
{{- $v := .root.Values -}}
{{- $env := dict
    "DEALERNET_LISTEN_ADDR" "0.0.0.0:50051"
    "DEALERNET_METRICS_ADDR" "0.0.0.0:9464"
    "DEALERNET_LOG" $v.config.log
    "DEALERNET_LOG_FORMAT" $v.config.logFormat
    "DEALERNET_CONCURRENCY_LIMIT" ($v.config.concurrencyLimit | int | toString)
    "DEALERNET_IDEMPOTENCY_RETENTION_HOURS" ($v.config.idempotencyRetentionHours | int | toString)
    "DEALERNET_EVENTS_POLL_INTERVAL_MS" ($v.config.eventsPollIntervalMs | int | toString)
    "DEALERNET_EVENTS_RETENTION_HOURS" ($v.config.eventsRetentionHours | int | toString)
    "DEALERNET_DATABASE_MAX_CONNECTIONS" ($v.config.databaseMaxConnections | int | toString)
    "OTEL_SERVICE_NAME" (printf "dealernet-%s" .name) -}}
{{- $env = merge $env (include "dealernet.peerUrls" . | fromYaml) -}}
{{- with $v.otel.endpoint -}}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" . -}}
{{- end -}}
{{- if eq .name "dealers" -}}
{{- $_ := set $env "DEALERNET_LEAD_SWEEP_INTERVAL_SECS" ($v.dealers.leadSweepIntervalSecs | int | toString) -}}
{{- end -}}
{{- if eq .name "gateway" -}}
{{- $g := $v.gateway -}}
{{- $_ := set $env "DEALERNET_RATE_LIMIT_PER_ORG_RPS" ($g.rateLimit.perOrgRps | int | toString) -}}
{{- $_ := set $env "DEALERNET_RATE_LIMIT_BURST" ($g.rateLimit.burst | int | toString) -}}
{{- $_ := set $env "DEALERNET_MAX_DEADLINE_MS" ($g.maxDeadlineMs | int | toString) -}}
{{- $_ := set $env "DEALERNET_API_KEY_CACHE_TTL_SECS" ($g.apiKeyCacheTtlSecs | int | toString) -}}
{{- with $g.rateLimit.roleRps -}}
{{- $items := list -}}
{{- range $role, $rps := . -}}
{{- $items = append $items (printf "%s=%d" $role ($rps | int)) -}}
{{- end -}}
{{- $_ := set $env "DEALERNET_RATE_LIMIT_ROLE_RPS" (join "," $items) -}}
{{- end -}}
{{- with $g.corsAllowedOrigins -}}
{{- $_ := set $env "DEALERNET_CORS_ALLOWED_ORIGINS" (join "," .) -}}
{{- end -}}
{{- with $g.jwt.issuer -}}
{{- $_ := set $env "DEALERNET_JWT_ISSUER" . -}}
{{- end -}}
{{- with $g.jwt.audience -}}
{{- $_ := set $env "DEALERNET_JWT_AUDIENCE" . -}}
{{- end -}}
{{- if eq $g.jwt.verifyWith "publicKey" -}}
{{- $_ := set $env "DEALERNET_JWT_PUBLIC_KEY_FILE" "/etc/dealernet/jwt/jwt-public-key.pem" -}}
{{- else if eq $g.jwt.verifyWith "jwks" -}}
{{- $_ := set $env "DEALERNET_JWT_JWKS_FILE" "/etc/dealernet/jwt/jwt-jwks.json" -}}
{{- end -}}
{{- if $g.tls.secretName -}}
{{- $_ := set $env "DEALERNET_TLS_CERT_FILE" "/etc/dealernet/tls/tls.crt" -}}
{{- $_ := set $env "DEALERNET_TLS_KEY_FILE" "/etc/dealernet/tls/tls.key" -}}
{{- end -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/*
The chart's Secret data, base64: the shared database URL and each component's own, and
the three keys; with gatewayKeys, the key verifying external tokens too.
*/}}
{{- define "dealernet.secretData" -}}
{{- $v := .root.Values -}}
{{- $data := dict
    "jwt-secret" ($v.secrets.jwtSecret | b64enc)
    "id-hash-key" ($v.secrets.idHashKey | b64enc)
    "page-token-key" ($v.secrets.pageTokenKey | b64enc) -}}
{{- with $v.database.url -}}
{{- $_ := set $data "database-url" (b64enc .) -}}
{{- end -}}
{{- range $name := include "dealernet.components" .root | splitList " " -}}
{{- with index $v.database.urls $name -}}
{{- $_ := set $data (printf "%s-database-url" $name) (b64enc .) -}}
{{- end -}}
{{- end -}}
{{- if .gatewayKeys -}}
{{- with $v.secrets.jwtPublicKey -}}
{{- $_ := set $data "jwt-public-key.pem" (b64enc .) -}}
{{- end -}}
{{- with $v.secrets.jwtJwks -}}
{{- $_ := set $data "jwt-jwks.json" (b64enc .) -}}
{{- end -}}
{{- end -}}
{{- toYaml $data -}}
{{- end -}}

{{/*
The secret environment of a component's container, from the Secret named .secret.
DEALERNET_DATABASE_URL (the component's own database) wins over DATABASE_URL (the
shared one); either may be absent from the Secret, not both.
*/}}
{{- define "dealernet.secretEnv" -}}
- name: DEALERNET_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .name }}-database-url
      optional: true
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: database-url
      optional: true
{{- range $env, $key := dict "DEALERNET_JWT_SECRET" "jwt-secret" "DEALERNET_ID_HASH_KEY" "id-hash-key" "DEALERNET_PAGE_TOKEN_KEY" "page-token-key" }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ $.secret }}
      key: {{ $key }}
{{- end }}
{{- end -}}

{{/*
A probe: gRPC health (service "", the whole process) on 50051, or a TCP check when
the gateway speaks TLS (the kubelet's gRPC probe has no TLS).
*/}}
{{- define "dealernet.probe" -}}
{{- if .tls -}}
tcpSocket:
  port: grpc
{{- else -}}
grpc:
  port: 50051
  service: ""
{{- end }}
{{ toYaml .probe }}
{{- end -}}

{{/*
Settings the chart cannot express in values.schema.json; rendering fails with the
message.
*/}}
{{- define "dealernet.validate" -}}
{{- $v := .Values -}}
{{- if $v.existingSecret -}}
{{- $inline := list $v.database.url $v.secrets.jwtSecret $v.secrets.idHashKey $v.secrets.pageTokenKey $v.secrets.jwtPublicKey $v.secrets.jwtJwks -}}
{{- range $name := include "dealernet.components" . | splitList " " -}}
{{- $inline = append $inline (index $v.database.urls $name) -}}
{{- end -}}
{{- if compact $inline -}}
{{- fail "existingSecret is set: leave database and secrets empty (the Secret holds them)" -}}
{{- end -}}
{{- else -}}
{{- range $name := include "dealernet.components" . | splitList " " -}}
{{- if not (or $v.database.url (index $v.database.urls $name)) -}}
{{- fail (printf "database.url or database.urls.%s is required (or existingSecret)" $name) -}}
{{- end -}}
{{- end -}}
{{- range $key := list "jwtSecret" "idHashKey" "pageTokenKey" -}}
{{- if not (index $v.secrets $key) -}}
{{- fail (printf "secrets.%s is required, at least 32 bytes (or existingSecret)" $key) -}}
{{- end -}}
{{- end -}}
{{- if and (eq $v.gateway.jwt.verifyWith "publicKey") (not $v.secrets.jwtPublicKey) -}}
{{- fail "gateway.jwt.verifyWith is publicKey: set secrets.jwtPublicKey" -}}
{{- end -}}
{{- if and (eq $v.gateway.jwt.verifyWith "jwks") (not $v.secrets.jwtJwks) -}}
{{- fail "gateway.jwt.verifyWith is jwks: set secrets.jwtJwks" -}}
{{- end -}}
{{- end -}}
{{- range $name := include "dealernet.components" . | splitList " " -}}
{{- $c := index $v $name -}}
{{- if and $c.autoscaling.enabled (not (dig "requests" "cpu" "" $c.resources)) -}}
{{- fail (printf "%s.autoscaling needs %s.resources.requests.cpu (utilisation is a percentage of it)" $name $name) -}}
{{- end -}}
{{- if and $c.autoscaling.enabled (gt (int $c.autoscaling.minReplicas) (int $c.autoscaling.maxReplicas)) -}}
{{- fail (printf "%s.autoscaling: minReplicas is above maxReplicas" $name) -}}
{{- end -}}
{{- end -}}
{{- if and $v.gateway.service.nodePort (eq $v.gateway.service.type "ClusterIP") -}}
{{- fail "gateway.service.nodePort needs gateway.service.type NodePort or LoadBalancer" -}}
{{- end -}}
{{- end -}}
