{{- /*
What watches the run: the ServiceMonitor's endpoint. Call with the root context.
*/ -}}

{{/*
locust-scenarios.serviceMonitorEndpointExtras: scheme, TLS, auth and relabelling of the scrape endpoint.
*/}}
{{- define "locust-scenarios.serviceMonitorEndpointExtras" -}}
{{- $sm := .Values.metrics.serviceMonitor }}
{{- with $sm.scheme }}
scheme: {{ . }}
{{- end }}
{{- range $key := list "tlsConfig" "basicAuth" "bearerTokenSecret" "relabelings" "metricRelabelings" }}
{{- with get $sm $key }}
{{ $key }}:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- end }}
