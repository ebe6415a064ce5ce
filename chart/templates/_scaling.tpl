{{- /*
How many workers, and what scales them. Read by helmfile/deliveryhero.values.yaml.gotmpl too (see
_layout.tpl for what that allows).
*/ -}}

{{/*
locust-scenarios.workerReplicas: workers.replicas when set, else ceil(scenario.users / usersPerWorker),
at least 1 and at most workers.maxReplicas; 1 without users. Call with .Values.
*/}}
{{- define "locust-scenarios.workerReplicas" -}}
{{- if not (kindIs "invalid" .workers.replicas) }}
{{- .workers.replicas | int }}
{{- else if not (kindIs "invalid" .scenario.users) }}
{{- $users := .scenario.users | int }}
{{- $per := .workers.usersPerWorker | int }}
{{- $needed := div (add $users $per -1) $per | int }}
{{- max 1 (min $needed (.workers.maxReplicas | int)) }}
{{- else }}
{{- 1 }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.kedaTriggers: KEDA's triggers for one worker per workers.usersPerWorker users the
master runs: metrics-api polls the master's /stats/requests (user_count); prometheus queries the users
it exports (autoscaling.keda.prometheus.query replaces the default query). Call with (dict "values"
.Values "url" <the master's /stats/requests> "namespace" <its namespace> "service" <the Service its
metrics are scraped through>); url goes between the quotes as it is, since a URL has none of its own
and deliveryhero's carries template actions its tpl resolves. Renders a YAML list.
*/}}
{{- define "locust-scenarios.kedaTriggers" -}}
{{- $keda := .values.autoscaling.keda }}
{{- $target := .values.workers.usersPerWorker | toString | quote }}
{{- if eq $keda.trigger "prometheus" -}}
- type: prometheus
  metadata:
    serverAddress: {{ $keda.prometheus.serverAddress | quote }}
    query: {{ $keda.prometheus.query | default (printf "sum(locust_users{namespace=%q,service=%q})" .namespace .service) | quote }}
    threshold: {{ $target }}
    activationThreshold: "0"
{{- else -}}
- type: metrics-api
  metadata:
    url: "{{ .url }}"
    format: json
    valueLocation: user_count
    targetValue: {{ $target }}
    activationTargetValue: "0"
{{- end }}
{{- end }}
