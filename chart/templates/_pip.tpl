{{- /*
pip's arguments that follow from the values (the fixed ones are the installer script's own). Read by
helmfile/deliveryhero.values.yaml.gotmpl too (see _layout.tpl for what that allows).
*/ -}}

{{/*
locust-scenarios.wheelhouseDir: where pip finds the wheels (--find-links) when installing without an
index; empty when no wheelhouse is configured. Call with .Values.
*/}}
{{- define "locust-scenarios.wheelhouseDir" -}}
{{- $wheelhouse := .dependencies.wheelhouse }}
{{- $dir := (include "locust-scenarios.paths" . | fromYaml).wheelhouse }}
{{- if $wheelhouse.image }}
{{- $dir }}
{{- else if $wheelhouse.volume }}
{{- printf "%s/%s" $dir (trimPrefix "/" $wheelhouse.path) | trimSuffix "/" }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.pipArgs: into the shared volume (--target), from the wheelhouse with no index, else
from dependencies.indexUrl and extraIndexUrls, then dependencies.pipArgs. Call with .Values. Renders a
YAML list; the caller adds what to install.
*/}}
{{- define "locust-scenarios.pipArgs" -}}
{{- $deps := .dependencies }}
{{- $args := list "--target" (include "locust-scenarios.paths" . | fromYaml).sitePackages }}
{{- with include "locust-scenarios.wheelhouseDir" . }}
{{- $args = concat $args (list "--no-index" "--find-links" .) }}
{{- else }}
{{- with $deps.indexUrl }}
{{- $args = concat $args (list "--index-url" .) }}
{{- end }}
{{- range $deps.extraIndexUrls }}
{{- $args = concat $args (list "--extra-index-url" .) }}
{{- end }}
{{- end }}
{{- toYaml (concat $args $deps.pipArgs) }}
{{- end }}
